package restore

import (
	"context"
	"testing"
)

// BenchmarkLDM256 times whole 4x restorations to 256x256 (one image, 100
// steps) with the tests' closed-form parts: the Gaussian latent UNet and the
// pooling autoencoder, so it measures the samplers' own cost, outside the
// networks. The DDRM figure for comparison is BenchmarkDDRMRestore256.
func BenchmarkLDM256(b *testing.B) {
	x := NewTensor(1, Shape{C: 3, H: 256, W: 256})
	for i := range x.Data {
		x.Data[i] = float32(i%251) / 250
	}
	task, _ := LookupTask("sr4")
	op, err := task.Operator(x.Shape, nil)
	if err != nil {
		b.Fatal(err)
	}
	y, _ := Degrade(op, x, 0, 1)
	low, err := LowResInput(task, op, y, 4)
	if err != nil {
		b.Fatal(err)
	}
	unet := &gaussSRUNet{sched: ldmSchedule(b), tau: 0.1}
	ae := &poolAE{f: 4, levels: 32}
	for _, m := range []struct {
		name string
		make func() (Sampler, error)
	}{
		{"ldm", func() (Sampler, error) { return NewLDMSR(unet, ae, low, DefaultDDIMConfig()) }},
		{"ddrm-ldm", func() (Sampler, error) { return NewDDRMLDM(unet, ae, low, op, y, DefaultDDRMLDMConfig()) }},
	} {
		b.Run(m.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s, err := m.make()
				if err != nil {
					b.Fatal(err)
				}
				if _, err := Run(context.Background(), s); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "img/s")
		})
	}
}
