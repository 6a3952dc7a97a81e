package restore

import (
	"context"
	"testing"
	"time"
)

// timedDenoiser measures the time spent inside the wrapped prior.
type timedDenoiser struct {
	Denoiser
	spent time.Duration
}

func (d *timedDenoiser) PredictEps(ctx context.Context, x *Tensor, t []int) (*Tensor, error) {
	start := time.Now()
	eps, err := d.Denoiser.PredictEps(ctx, x, t)
	d.spent += time.Since(start)
	return eps, err
}

// benchProblem256 is the study task name on a 256x256 test pattern: the
// task, its operator and the measurement.
func benchProblem256(b *testing.B, name string) (Task, Operator, *Tensor) {
	task, _ := LookupTask(name)
	shape := Shape{C: 3, H: 256, W: 256}
	op, err := task.Operator(shape, nil)
	if err != nil {
		b.Fatal(err)
	}
	x := NewTensor(1, shape)
	for i := range x.Data {
		x.Data[i] = float32(i%251) / 250
	}
	y, _ := Degrade(op, x, task.SigmaY, 1)
	return task, op, y
}

// BenchmarkDDRMRestore256 is a 20-step sr4 restore of one 256x256 image
// with the analytic prior; "outside-prior" is the share of the time spent
// in the sampler and the operator rather than in the prior.
func BenchmarkDDRMRestore256(b *testing.B) {
	for _, name := range StudyTasks {
		b.Run(name, func(b *testing.B) {
			task, op, y := benchProblem256(b, name)
			den := &timedDenoiser{Denoiser: NewGaussianDenoiser(nil)}
			cfg := DefaultDDRMConfig()
			cfg.SigmaY = task.SigmaY
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				d, err := NewDDRM(den, op, y, cfg)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := Run(context.Background(), d); err != nil {
					b.Fatal(err)
				}
			}
			total := b.Elapsed()
			b.ReportMetric(1-den.spent.Seconds()/total.Seconds(), "outside-prior")
		})
	}
}

// BenchmarkDDRMStep256 is one steady DDRM step at 256x256 per study task
// with a prior that costs nothing (it returns one fixed eps), so it times
// what a step spends outside the network: the operator's two transforms,
// the update with its noise, and x0_hat.
func BenchmarkDDRMStep256(b *testing.B) {
	for _, name := range StudyTasks {
		b.Run(name, func(b *testing.B) {
			task, op, y := benchProblem256(b, name)
			cfg := DefaultDDRMConfig()
			cfg.SigmaY, cfg.Steps = task.SigmaY, 1000
			d, err := NewDDRM(&reusedEps{sched: DefaultDDPMSchedule()}, op, y, cfg)
			if err != nil {
				b.Fatal(err)
			}
			step := steadyStep(b, d)
			b.ReportAllocs()
			for b.Loop() {
				if d.Done() {
					b.Fatal("the run ended; give it more steps")
				}
				step()
			}
		})
	}
}
