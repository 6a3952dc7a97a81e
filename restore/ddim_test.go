package restore

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// diagGauss is the exact posterior-mean denoiser of the prior x0 ~ N(0,
// diag(lambda)), one variance per component of a 1-channel image.
type diagGauss struct {
	sched  *Schedule
	lambda []float64
}

func (d diagGauss) Info() DenoiserInfo {
	return DenoiserInfo{Name: "diag", Schedule: d.sched, Channels: 1, SizeMultiple: 1}
}

func (d diagGauss) PredictEps(_ context.Context, x *Tensor, t []int) (*Tensor, error) {
	eps := NewTensor(x.N, x.Shape)
	for b := range x.N {
		ab := d.sched.AlphaBar(t[b])
		for k, v := range x.Item(b) {
			eps.Item(b)[k] = float32(math.Sqrt(1-ab) / (ab*d.lambda[k] + 1 - ab) * float64(v))
		}
	}
	return eps, nil
}

func TestDDIMTimestepsFollowLDM(t *testing.T) {
	sched := ldmSchedule(t)
	d, err := NewDDIM(diagGauss{sched, []float64{1}}, 1, Shape{C: 1, H: 1, W: 1}, DefaultDDIMConfig())
	if err != nil {
		t.Fatal(err)
	}
	seq := d.Timesteps()
	if len(seq) != 100 || seq[0] != 991 || seq[1] != 981 || seq[99] != 1 || d.next(99) != 0 || d.next(0) != 981 {
		t.Errorf("time steps %v..., last goes to %d", seq[:3], d.next(99))
	}
	if _, err := sched.TimeSteps(LDMSteps, 1000); err == nil {
		t.Error("1000 DDIM steps accepted; the first would be t = 1000")
	}
}

// TestDDIMPosteriorMeanStep checks one step with the analytic Gaussian prior
// in a latent-sized space: x0_hat is the exact posterior mean E[x0 | x_t]
// (which is what a step to t = -1 outputs with eta = 0), and the
// deterministic update is sqrt(ab') x0_hat + sqrt(1 - ab') eps.
func TestDDIMPosteriorMeanStep(t *testing.T) {
	sched := ldmSchedule(t)
	g := NewGaussianDenoiser(sched)
	shape := Shape{C: 3, H: 16, W: 16}
	d, err := NewDDIM(g, 2, shape, DDIMConfig{Steps: 10, Eta: 0})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	x := NewTensor(2, shape)
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	if err := d.SetState(4, x); err != nil {
		t.Fatal(err)
	}
	info, err := d.Step(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.T != 501 || info.TNext != 401 {
		t.Fatalf("step 4 goes %d -> %d, want 501 -> 401", info.T, info.TNext)
	}
	mean, err := g.PosteriorMean(x, []int{501, 501})
	if err != nil {
		t.Fatal(err)
	}
	ab, abn := sched.AlphaBar(501), sched.AlphaBar(401)
	for k, m := range mean.Data {
		if math.Abs(float64(info.X0Hat.Data[k]-m)) > 2e-5 {
			t.Fatalf("x0_hat[%d] = %v, want the posterior mean %v", k, info.X0Hat.Data[k], m)
		}
		eps := (float64(x.Data[k]) - math.Sqrt(ab)*float64(m)) / math.Sqrt(1-ab)
		want := math.Sqrt(abn)*float64(m) + math.Sqrt(1-abn)*eps
		if math.Abs(float64(info.XNext.Data[k])-want) > 2e-5 {
			t.Fatalf("x_next[%d] = %v, want %v", k, info.XNext.Data[k], want)
		}
	}
}

// TestDDIMStepMoments checks the mean and deviation of one stochastic step
// over many independent components: with a constant state and a constant
// x0_hat, every component is a draw of N(sqrt(ab') x0 + sqrt(1 - ab' -
// sigma^2) eps, sigma^2).
func TestDDIMStepMoments(t *testing.T) {
	const n = 16384
	sched := ldmSchedule(t)
	const c, xState, eta = 0.3, 0.5, 0.6
	d, err := NewDDIM(constDenoiser{c: c, sched: sched}, 1, Shape{C: 1, H: 1, W: n}, DDIMConfig{Steps: 20, Eta: eta, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	state := NewTensor(1, Shape{C: 1, H: 1, W: n})
	for k := range state.Data {
		state.Data[k] = xState
	}
	for _, index := range []int{0, 10, 19} {
		if err := d.SetState(index, state); err != nil {
			t.Fatal(err)
		}
		info, err := d.Step(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		ab, abn := sched.AlphaBar(info.T), sched.AlphaBar(info.TNext)
		sigma := eta * math.Sqrt((1-abn)/(1-ab)) * math.Sqrt(1-ab/abn)
		eps := (xState - math.Sqrt(ab)*c) / math.Sqrt(1-ab)
		wantMean := math.Sqrt(abn)*c + math.Sqrt(1-abn-sigma*sigma)*eps
		var sum, sum2 float64
		for _, v := range info.XNext.Data {
			sum += float64(v)
			sum2 += float64(v) * float64(v)
		}
		mean := sum / n
		std := math.Sqrt(sum2/n - mean*mean)
		if tol := 5 * sigma / math.Sqrt(n); math.Abs(mean-wantMean) > tol+1e-6 {
			t.Errorf("step %d (t=%d): mean %.6f, want %.6f ± %.6f", index, info.T, mean, wantMean, tol)
		}
		if tol := 5 * sigma / math.Sqrt(2*n); math.Abs(std-sigma) > tol+1e-6 {
			t.Errorf("step %d (t=%d): std %.6f, want %.6f ± %.6f", index, info.T, std, sigma, tol)
		}
	}
}

// ddimGaussianVariance is the exact variance of a DDIM run's output for one
// coefficient of the prior N(0, lambda): every step is linear in x_t plus
// independent noise, so the variance follows a scalar recursion from the
// standard normal start.
func ddimGaussianVariance(sched *Schedule, steps int, eta, lambda float64) float64 {
	seq, _ := sched.TimeSteps(LDMSteps, steps)
	v := 1.0
	for i, t := range seq {
		tn := 0
		if i+1 < len(seq) {
			tn = seq[i+1]
		}
		ab, abn := sched.AlphaBar(t), sched.AlphaBar(tn)
		gain := lambda * math.Sqrt(ab) / (ab*lambda + 1 - ab) // x0_hat = gain x_t
		sigma := eta * math.Sqrt((1-abn)/(1-ab)) * math.Sqrt(1-ab/abn)
		a := math.Sqrt(abn)*gain + math.Sqrt(max(1-abn-sigma*sigma, 0))*(1-math.Sqrt(ab)*gain)/math.Sqrt(1-ab)
		v = a*a*v + sigma*sigma
	}
	return v
}

// TestDDIMGaussianVariance runs whole chains with a diagonal Gaussian prior
// and compares each coefficient group's sample variance with the closed
// form; then it checks the figures DefaultDDIMConfig quotes from it.
func TestDDIMGaussianVariance(t *testing.T) {
	sched := ldmSchedule(t)
	const group = 8192
	lambdas := []float64{0.001, 0.05, 1, 20}
	lam := make([]float64, group*len(lambdas))
	for k := range lam {
		lam[k] = lambdas[k/group]
	}
	for _, eta := range []float64{0, 1} {
		d, err := NewDDIM(diagGauss{sched, lam}, 1, Shape{C: 1, H: len(lambdas), W: group}, DDIMConfig{Steps: 10, Eta: eta, Seed: 5})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Run(context.Background(), d); err != nil {
			t.Fatal(err)
		}
		out := d.State()
		for g, l := range lambdas {
			var sum2 float64
			for _, v := range out.Data[g*group : (g+1)*group] {
				sum2 += float64(v) * float64(v)
			}
			got, want := sum2/group, ddimGaussianVariance(sched, 10, eta, l)
			if tol := 5 * want * math.Sqrt(2.0/group); math.Abs(got-want) > tol {
				t.Errorf("eta %g, lambda %g: output variance %.5g, want %.5g ± %.2g", eta, l, got, want, tol)
			}
		}
	}
	meanLogErr := func(steps int, eta float64) float64 {
		var sum float64
		const n = 26
		for i := range n {
			l := math.Pow(10, -3+5*float64(i)/(n-1))
			sum += math.Abs(math.Log(ddimGaussianVariance(sched, steps, eta, l) / l))
		}
		return sum / n
	}
	e100, e50, e50det := meanLogErr(100, 1), meanLogErr(50, 1), meanLogErr(50, 0)
	t.Logf("mean |log variance ratio|: 100 steps eta 1: %.3f, 50 steps eta 1: %.3f, 50 steps eta 0: %.3f", e100, e50, e50det)
	if math.Abs(e100-0.18) > 0.01 || math.Abs(e50-0.27) > 0.01 || math.Abs(e50det-0.17) > 0.01 {
		t.Errorf("figures quoted by DefaultDDIMConfig changed: %.3f %.3f %.3f", e100, e50, e50det)
	}
}

func newDDIMTestRun(t *testing.T, seed uint64) *DDIM {
	t.Helper()
	d, err := NewDDIM(constDenoiser{c: 0.1, gain: 0.5, sched: ldmSchedule(t)}, 2, Shape{C: 1, H: 4, W: 5}, DDIMConfig{Steps: 12, Eta: 0.8, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDDIMDeterministicAndReplayable(t *testing.T) {
	checkDeterministicAndReplayable(t, func(seed uint64) Sampler { return newDDIMTestRun(t, seed) }, 6)
}

func TestDDIMRejectsBadInput(t *testing.T) {
	sched := ldmSchedule(t)
	den := constDenoiser{sched: sched}
	s := Shape{C: 1, H: 2, W: 2}
	for _, tc := range []struct {
		den  Denoiser
		n    int
		s    Shape
		cfg  DDIMConfig
		want string
	}{
		{den, 1, s, DDIMConfig{Steps: 0, Eta: 1}, "steps = 0"},
		{den, 1, s, DDIMConfig{Steps: 1000, Eta: 1}, "1..999"},
		{den, 1, s, DDIMConfig{Steps: 10, Eta: -0.1}, "eta = -0.1"},
		{den, 0, s, DefaultDDIMConfig(), "at least one"},
		{den, 1, Shape{C: 3, H: 2, W: 2}, DefaultDDIMConfig(), "takes 1 channels"},
		{&gaussSRUNet{sched: sched}, 1, Shape{C: 3, H: 2, W: 2}, DefaultDDIMConfig(), "restore.Conditioned"},
		{constDenoiser{}, 1, s, DefaultDDIMConfig(), "no noise schedule"},
	} {
		if _, err := NewDDIM(tc.den, tc.n, tc.s, tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error naming %q", tc.cfg, err, tc.want)
		}
	}
	d, err := NewDDIM(constDenoiser{sched: sched, nan: true}, 1, s, DefaultDDIMConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Step(context.Background()); err == nil || !strings.Contains(err.Error(), "NaN") {
		t.Errorf("NaN model output gave %v", err)
	}
	if err := d.SetState(0, NewTensor(1, Shape{C: 1, H: 3, W: 2})); err == nil {
		t.Error("state of the wrong shape accepted")
	}
}

// TestDDIMFinalAlpha checks the last step against its float64 closed form
// under both conventions, with the analytic Gaussian prior and eta = 0.5:
// to alpha_bar_0 (LDM's DDIMSampler) the output is sqrt(ab0) x0_hat +
// sqrt(1 - ab0 - sigma^2) eps + sigma z; to alpha_bar = 1 (diffusers with
// set_alpha_to_one) sigma and the direction vanish and the output is x0_hat.
func TestDDIMFinalAlpha(t *testing.T) {
	sched := ldmSchedule(t)
	g := NewGaussianDenoiser(sched)
	shape := Shape{C: 3, H: 8, W: 8}
	for _, one := range []bool{false, true} {
		d, err := NewDDIM(g, 1, shape, DDIMConfig{Steps: 10, Eta: 0.5, Seed: 3, FinalAlphaOne: one})
		if err != nil {
			t.Fatal(err)
		}
		var last *StepInfo
		if _, err := Run(context.Background(), d, func(info *StepInfo) error { last = info; return nil }); err != nil {
			t.Fatal(err)
		}
		abn := sched.AlphaBar(0)
		if one {
			abn = 1
		}
		if last.TNext != map[bool]int{false: 0, true: -1}[one] || last.AlphaBarNext != abn {
			t.Fatalf("final alpha one=%v: the last step goes to t=%d, alpha_bar %v", one, last.TNext, last.AlphaBarNext)
		}
		ab := last.AlphaBar
		sigma := 0.5 * math.Sqrt((1-abn)/(1-ab)) * math.Sqrt(1-ab/abn)
		for k, x0 := range last.X0Hat.Data {
			eps := (float64(last.Xt.Data[k]) - math.Sqrt(ab)*float64(x0)) / math.Sqrt(1-ab)
			mean := math.Sqrt(abn)*float64(x0) + math.Sqrt(max(1-abn-sigma*sigma, 0))*eps
			got := float64(last.XNext.Data[k])
			if one && got != float64(x0) {
				t.Fatalf("to alpha_bar 1: output %v, want x0_hat %v exactly", got, x0)
			}
			// The noise term: within 6 sigma of the deterministic part.
			if math.Abs(got-mean) > 6*sigma+2e-6 {
				t.Fatalf("to alpha_bar_0: output %v, mean %v, sigma %v", got, mean, sigma)
			}
		}
	}
}
