package bench

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/restorelab/restorelab/restore"
)

// srParts is a closed-form SRLDM: 4x4 average pooling to encode, nearest
// upsampling to decode, and a UNet giving the posterior-mean eps for the
// latent prior z0 ~ N(low, 0.1^2).
type srParts struct{ sched *restore.Schedule }

func (p srParts) Info() restore.DenoiserInfo {
	return restore.DenoiserInfo{Name: "sr-parts", Schedule: p.sched, Channels: 3, CondChannels: 3, SizeMultiple: 1}
}

func (p srParts) PredictEps(_ context.Context, x *restore.Tensor, t []int) (*restore.Tensor, error) {
	s := restore.Shape{C: 3, H: x.Shape.H, W: x.Shape.W}
	eps := restore.NewTensor(x.N, s)
	for b := range x.N {
		ab := p.sched.AlphaBar(t[b])
		g := math.Sqrt(1-ab) / (ab*0.01 + 1 - ab)
		xb := x.Item(b)
		for k := range eps.Item(b) {
			eps.Item(b)[k] = float32(g * (float64(xb[k]) - math.Sqrt(ab)*float64(xb[s.Len()+k])))
		}
	}
	return eps, nil
}

func (srParts) Factor() int         { return 4 }
func (srParts) LatentChannels() int { return 3 }

func (srParts) Encode(_ context.Context, x *restore.Tensor) (*restore.Tensor, error) {
	s := x.Shape
	z := restore.NewTensor(x.N, restore.Shape{C: 3, H: s.H / 4, W: s.W / 4})
	for i := range x.Data {
		j, r := i%(s.H*s.W), i/(s.H*s.W) // r counts planes over the batch
		z.Data[(r*z.Shape.H+j/s.W/4)*z.Shape.W+j%s.W/4] += x.Data[i] / 16
	}
	return z, nil
}

func (srParts) Decode(_ context.Context, z *restore.Tensor) (*restore.Tensor, error) {
	s := z.Shape
	x := restore.NewTensor(z.N, restore.Shape{C: 3, H: s.H * 4, W: s.W * 4})
	w := s.W * 4
	for i := range x.Data {
		j, r := i%(x.Shape.H*w), i/(x.Shape.H*w)
		x.Data[i] = z.Data[(r*s.H+j/w/4)*s.W+j%w/4]
	}
	return x, nil
}

func TestLDMMethods(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "img.png")
	x := restore.NewTensor(1, restore.Shape{C: 3, H: 32, W: 32})
	for i := range x.Data {
		x.Data[i] = float32((i*7)%64) / 63
	}
	if err := restore.SaveImage(img, x, nil); err != nil {
		t.Fatal(err)
	}
	sched, err := restore.NewSchedule(restore.ScaledLinear, 0.0015, 0.0155, 1000)
	if err != nil {
		t.Fatal(err)
	}
	p := srParts{sched}
	steps := 0
	ldmCfg := restore.DefaultDDIMConfig()
	ldmCfg.Steps = 4
	hybrid := restore.DefaultDDRMLDMConfig()
	hybrid.Steps = 4
	results, _, err := Run(context.Background(), Config{
		Images: []string{img}, Tasks: restore.StudyTasks, Out: filepath.Join(dir, "out"),
		Methods: []Method{
			LDM{UNet: p, Autoencoder: p, Config: ldmCfg, Hooks: []restore.Hook{func(*restore.StepInfo) error { steps++; return nil }}},
			DDRMLDM{Label: "hybrid", UNet: p, Autoencoder: p, Config: hybrid},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 8 || steps != 16 {
		t.Fatalf("%d results and %d hooked steps; want 8 and 16", len(results), steps)
	}
	for i, r := range results {
		if want := []string{"ldm", "hybrid"}[i%2]; r.Method != want || r.NFE != 4 || math.IsNaN(r.PSNR) || r.PSNR < 10 {
			t.Errorf("result %+v; want method %s, 4 NFE and a plausible PSNR", r, want)
		}
	}
	// On noiseless sr4 the hybrid agrees with y, LDM only roughly.
	if results[0].Task != "sr4" || results[1].Consistency*10 > results[0].Consistency {
		t.Errorf("sr4 consistency: ldm %g, ddrm-ldm %g", results[0].Consistency, results[1].Consistency)
	}

	// Step grids are recorded for the latent methods too.
	out := filepath.Join(dir, "grids")
	if _, _, err := Run(context.Background(), Config{
		Images: []string{img}, Tasks: []string{"sr4"}, Out: out, StepGrids: 1,
		Methods: []Method{LDM{UNet: p, Autoencoder: p, Config: ldmCfg}, DDRMLDM{UNet: p, Autoencoder: p, Config: hybrid}},
	}); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"ldm", "ddrm-ldm"} {
		if _, err := os.Stat(StepGridPath(out, "sr4", "img", m)); err != nil {
			t.Errorf("no step grid for %s: %v", m, err)
		}
	}
}
