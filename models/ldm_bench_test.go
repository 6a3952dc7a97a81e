package models

import (
	"context"
	"testing"

	"github.com/restorelab/restorelab/restore"
)

// BenchmarkLDMFixture256 times whole 4x restorations to 256x256 (one image,
// default settings: 100 steps) through ONNX Runtime with the closed-form
// ldm fixture, whose parts do next to no arithmetic: it measures the
// pipelines' overhead, sampler and runtime calls. Real figures need the
// trained SRLDM.
func BenchmarkLDMFixture256(b *testing.B) {
	l := openFixtureLDM(b)
	x := restore.NewTensor(1, restore.Shape{C: 3, H: 256, W: 256})
	for i := range x.Data {
		x.Data[i] = float32(i%251) / 250
	}
	task, _ := restore.LookupTask("sr4")
	op, err := task.Operator(x.Shape, nil)
	if err != nil {
		b.Fatal(err)
	}
	y, _ := restore.Degrade(op, x, 0, 1)
	low, err := restore.LowResInput(task, op, y, 4)
	if err != nil {
		b.Fatal(err)
	}
	for _, m := range []struct {
		name string
		make func() (restore.Sampler, error)
	}{
		{"ldm", func() (restore.Sampler, error) {
			return restore.NewLDMSR(l.UNet, l.Autoencoder, low, restore.DefaultDDIMConfig())
		}},
		{"ddrm-ldm", func() (restore.Sampler, error) {
			return restore.NewDDRMLDM(l.UNet, l.Autoencoder, low, op, y, restore.DefaultDDRMLDMConfig())
		}},
	} {
		b.Run(m.name, func(b *testing.B) {
			for b.Loop() {
				s, err := m.make()
				if err != nil {
					b.Fatal(err)
				}
				if _, err := restore.Run(context.Background(), s); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "img/s")
		})
	}
}
