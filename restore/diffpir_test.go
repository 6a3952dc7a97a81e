package restore

import (
	"context"
	"math"
	"strings"
	"testing"
)

// diffPIRRho is rho_t computed from the linear schedule's betas directly.
func diffPIRRho(t int, lambda, sigmaY float64) float64 {
	ab := 1.0
	for i := 0; i <= t; i++ {
		ab *= 1 - (1e-4 + float64(i)/999*(0.02-1e-4))
	}
	sn := math.Max(0.001, sigmaY)
	sb2 := (1 - ab) / ab
	return lambda * sn * sn / sb2
}

// TestDiffPIRStepMoments checks one DiffPIR step per component: the data
// step's weight s^2 / (s^2 + rho_t) and the zeta-mixed move.
func TestDiffPIRStepMoments(t *testing.T) {
	const group = 8192
	const c, yBarVal, xState = 0.3, -0.2, 0.5
	sVals := []float32{1, 0.3, 0}
	op, y, state := momentGroups(sVals, group, yBarVal, xState)
	sched := DefaultDDPMSchedule()
	cfg := DiffPIRConfig{Steps: 20, Lambda: 7, Zeta: 0.3, SigmaY: 0.05, Seed: 2}
	d, err := NewDiffPIR(constDenoiser{c: c, sched: sched}, op, y, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetState(12, state); err != nil {
		t.Fatal(err)
	}
	info, err := d.Step(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rho := diffPIRRho(info.T, cfg.Lambda, cfg.SigmaY)
	ab, abn := sched.AlphaBar(info.T), sched.AlphaBar(info.TNext)
	sig := math.Sqrt(1 - abn)
	var want [][2]float64
	for g, s := range sVals {
		w := float64(s*s) / (float64(s*s) + rho)
		if got := float64(info.Spectral.Weights[g*group]); math.Abs(got-w) > 1e-6 {
			t.Errorf("group %d: weight %v, want s^2/(s^2+rho) = %v", g, got, w)
		}
		x0 := c + w*(yBarVal-c)
		epsHat := (xState - math.Sqrt(ab)*x0) / math.Sqrt(1-ab)
		want = append(want, [2]float64{math.Sqrt(abn)*x0 + sig*math.Sqrt(1-cfg.Zeta)*epsHat, sig * math.Sqrt(cfg.Zeta)})
	}
	groupMoments(t, "diffpir", info.XNext.Data, group, want)
}

// TestDiffPIRClosedFormWithGaussianPrior runs DiffPIR with the analytic
// prior and zeta = 0, where every step is deterministic: the next state is
// sqrt(ab') x0_hat + sqrt(1 - ab') eps_hat with x0_hat the closed-form
// proximal step (s^2 y_bar + rho x0) / (s^2 + rho), at the last step too,
// whose estimate is the output.
func TestDiffPIRClosedFormWithGaussianPrior(t *testing.T) {
	op, y := ddnmProblem(t)
	s := op.Singulars()
	cfg := DefaultDiffPIRConfig()
	cfg.Zeta, cfg.SigmaY = 0, 0.02
	d, err := NewDiffPIR(NewGaussianDenoiser(nil), op, y, cfg)
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	var last *StepInfo
	if _, err := Run(context.Background(), d, func(info *StepInfo) error {
		rho := diffPIRRho(info.T, cfg.Lambda, cfg.SigmaY)
		ab, abn := info.AlphaBar, info.AlphaBarNext
		for k, x0 := range info.X0Hat.Data {
			want := float64(x0)
			if sk := float64(s[k]); sk > 0 {
				yb := (2*float64(y.Data[k]) - sk) / sk
				want = (sk*sk*yb + rho*float64(x0)) / (sk*sk + rho)
			}
			epsHat := (float64(info.Xt.Data[k]) - math.Sqrt(ab)*want) / math.Sqrt(1-ab)
			next := math.Sqrt(abn)*want + math.Sqrt(1-abn)*epsHat
			worst = max(worst, math.Abs(next-float64(info.XNext.Data[k]))/(1+math.Abs(next)))
		}
		last = info
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if worst > 1e-5 {
		t.Errorf("a step differs from its closed form by %.2g (relative)", worst)
	}
	if last.T != 0 || last.TNext != -1 {
		t.Errorf("last step %d -> %d, want 0 -> -1", last.T, last.TNext)
	}
	if last.AlphaBarNext != 1 {
		t.Errorf("the last step goes to alpha_bar %v, want 1: its estimate is the output", last.AlphaBarNext)
	}
}

func TestDiffPIRDeterministicAndReplayable(t *testing.T) {
	op, y := ddnmProblem(t)
	checkDeterministicAndReplayable(t, func(seed uint64) Sampler {
		cfg := DefaultDiffPIRConfig()
		cfg.Steps, cfg.SigmaY, cfg.Seed = 12, 0.05, seed
		d, err := NewDiffPIR(NewGaussianDenoiser(nil), op, y, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}, 5)
}

func TestDiffPIRRejectsBadSettings(t *testing.T) {
	op, y := ddnmProblem(t)
	for _, tc := range []struct {
		cfg  DiffPIRConfig
		want string
	}{
		{DiffPIRConfig{Steps: 0, Lambda: 7, Zeta: 0.3}, "steps"},
		{DiffPIRConfig{Steps: 900, Lambda: 7, Zeta: 0.3}, "fewer"},
		{DiffPIRConfig{Steps: 20, Lambda: 0, Zeta: 0.3}, "lambda"},
		{DiffPIRConfig{Steps: 20, Lambda: 7, Zeta: 1.2}, "zeta"},
		{DiffPIRConfig{Steps: 20, Lambda: 7, Zeta: 0.3, SigmaY: math.NaN()}, "sigma_y"},
	} {
		if _, err := NewDiffPIR(NewGaussianDenoiser(nil), op, y, tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one naming %q", tc.cfg, err, tc.want)
		}
	}
}
