package restore

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// momentGroups builds a 1-channel diagonal operator whose components come
// in groups of group components sharing one singular value, a measurement
// with y_bar = yBar on observed components, and a constant state.
func momentGroups(sVals []float32, group int, yBar, state float64) (Operator, *Tensor, *Tensor) {
	shape := Shape{C: 1, H: len(sVals), W: group}
	s := make([]float32, shape.Len())
	for g, v := range sVals {
		for k := range group {
			s[g*group+k] = v
		}
	}
	// y' = 2y - H1 = s * yBar, so y = s (yBar + 1) / 2.
	y := NewTensor(1, shape)
	x := NewTensor(1, shape)
	for k := range y.Data {
		y.Data[k] = s[k] * float32(yBar+1) / 2
		x.Data[k] = float32(state)
	}
	return diagOperator{shape, s}, y, x
}

// groupMoments checks the mean and standard deviation of each group of v
// against want, to five standard errors.
func groupMoments(t *testing.T, name string, v []float32, group int, want [][2]float64) {
	t.Helper()
	for g, w := range want {
		var sum, sum2 float64
		for k := range group {
			x := float64(v[g*group+k])
			sum += x
			sum2 += x * x
		}
		mean := sum / float64(group)
		std := math.Sqrt(max(sum2/float64(group)-mean*mean, 0))
		tolMean := 5*w[1]/math.Sqrt(float64(group)) + 1e-6
		tolStd := 5*w[1]/math.Sqrt(2*float64(group)) + 1e-6
		if math.Abs(mean-w[0]) > tolMean || math.Abs(std-w[1]) > tolStd {
			t.Errorf("%s, group %d: mean %.5f std %.5f, want %.5f ± %.5f and %.5f ± %.5f", name, g, mean, std, w[0], tolMean, w[1], tolStd)
		}
	}
}

// TestDDNMStepMoments checks one DDNM step (eq. 13 and the DDIM move) per
// component: observed ones take y_bar, missing ones keep x0_hat and move
// along the model's eps.
func TestDDNMStepMoments(t *testing.T) {
	const group = 8192
	const c, yBarVal, xState = 0.3, -0.2, 0.5
	op, y, state := momentGroups([]float32{1, 0.4, 0}, group, yBarVal, xState)
	sched := DefaultDDPMSchedule()
	cfg := DefaultDDNMConfig()
	cfg.Eta, cfg.Seed = 0.6, 3
	d, err := NewDDNM(constDenoiser{c: c, sched: sched}, op, y, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetState(10, state); err != nil {
		t.Fatal(err)
	}
	info, err := d.Step(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ab, abn := sched.AlphaBar(info.T), sched.AlphaBar(info.TNext)
	sigT := math.Sqrt(1 - abn)
	eps := (xState - math.Sqrt(ab)*c) / math.Sqrt(1-ab)
	move := func(x0 float64) [2]float64 {
		return [2]float64{math.Sqrt(abn)*x0 + sigT*math.Sqrt(1-cfg.Eta*cfg.Eta)*eps, sigT * cfg.Eta}
	}
	groupMoments(t, "ddnm", info.XNext.Data, group, [][2]float64{move(yBarVal), move(yBarVal), move(c)})
	for g, w := range []float32{1, 1, 0} {
		if got := info.Spectral.Weights[g*group]; got != w {
			t.Errorf("group %d: weight %v, want %v", g, got, w)
		}
	}
}

// TestDDNMPlusStepMoments checks one DDNM+ step against the reference's
// Lambda and Lambda_noise (wyhuai/DDNM functions/svd_operators.py) in each
// of their cases: sigma_t above a sigma_y / s, below it, and s = 0.
func TestDDNMPlusStepMoments(t *testing.T) {
	const group = 8192
	const c, yBarVal, xState = 0.3, -0.2, 0.5
	sVals := []float32{1, 0.01, 0}
	op, y, state := momentGroups(sVals, group, yBarVal, xState)
	sched := DefaultDDPMSchedule()
	cfg := DDNMConfig{Steps: 20, Eta: 0.6, TravelLength: 1, TravelRepeat: 1, SigmaY: 0.05, Seed: 9}
	d, err := NewDDNMPlus(constDenoiser{c: c, sched: sched}, op, y, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetState(15, state); err != nil {
		t.Fatal(err)
	}
	info, err := d.Step(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ab, abn := sched.AlphaBar(info.T), sched.AlphaBar(info.TNext)
	a, sigT, sy, eta := math.Sqrt(abn), math.Sqrt(1-abn), 2*cfg.SigmaY, cfg.Eta
	if !(sigT > a*sy/float64(sVals[0]) && sigT < a*sy/float64(sVals[1])) {
		t.Fatalf("step %d does not separate the cases: sigma_t %.3f, a sigma_y %.3f", info.Index, sigT, a*sy)
	}
	eps := (xState - math.Sqrt(ab)*c) / math.Sqrt(1-ab)
	lambdaLess := float64(sVals[1]) * sigT * math.Sqrt(1-eta*eta) / (a * sy)
	less := c + lambdaLess*(yBarVal-c)
	want := [][2]float64{
		{a * yBarVal, math.Sqrt(sigT*sigT - a*a*sy*sy/float64(sVals[0]*sVals[0]))},
		{a * less, sigT * eta},
		{a*c + sigT*math.Sqrt(1-eta*eta)*eps, sigT * eta},
	}
	groupMoments(t, "ddnm+", info.XNext.Data, group, want)
	for g, w := range []float64{1, lambdaLess, 0} {
		if got := float64(info.Spectral.Weights[g*group]); math.Abs(got-w) > 1e-6 {
			t.Errorf("group %d: lambda %v, want %v", g, got, w)
		}
	}
}

// ddnmProblem is a 3-channel diagonal operator with some unobserved
// components and a noiseless measurement of a random image.
func ddnmProblem(t *testing.T) (Operator, *Tensor) {
	t.Helper()
	shape := Shape{C: 3, H: 16, W: 16}
	rng := rand.New(rand.NewPCG(4, 4))
	s := make([]float32, shape.Len())
	x := NewTensor(1, shape)
	for k := range s {
		if rng.Float64() < 0.7 {
			s[k] = float32(0.2 + 0.8*rng.Float64())
		}
		x.Data[k] = float32(rng.Float64())
	}
	op := diagOperator{shape, s}
	y, err := Degrade(op, x, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	return op, y
}

// TestDDNMClosedFormWithGaussianPrior runs DDNM with the analytic prior and
// eta = 0, where every step is deterministic: each step's next state is
// sqrt(ab') x0_hat + sqrt(1 - ab') eps with x0_hat the null-space
// decomposition of the prior's estimate, and the output agrees with the
// noiseless measurement to float rounding.
func TestDDNMClosedFormWithGaussianPrior(t *testing.T) {
	op, y := ddnmProblem(t)
	s := op.Singulars()
	cfg := DefaultDDNMConfig()
	cfg.Eta = 0
	d, err := NewDDNM(NewGaussianDenoiser(nil), op, y, cfg)
	if err != nil {
		t.Fatal(err)
	}
	yb := make([]float64, len(s))
	for k := range yb {
		if s[k] > 0 {
			yb[k] = (2*float64(y.Data[k]) - float64(s[k])) / float64(s[k])
		}
	}
	worst := 0.0
	if _, err := Run(context.Background(), d, func(info *StepInfo) error {
		ab, abn := info.AlphaBar, info.AlphaBarNext
		for k, x0 := range info.X0Hat.Data {
			want := float64(x0)
			if s[k] > 0 {
				want = yb[k]
			}
			eps := (float64(info.Xt.Data[k]) - math.Sqrt(ab)*float64(x0)) / math.Sqrt(1-ab)
			next := math.Sqrt(abn)*want + math.Sqrt(1-abn)*eps
			worst = max(worst, math.Abs(next-float64(info.XNext.Data[k]))/(1+math.Abs(next)))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if worst > 1e-5 {
		t.Errorf("a step differs from its closed form by %.2g (relative)", worst)
	}
	x := d.State()
	for k, v := range x.Data {
		if s[k] > 0 {
			if diff := math.Abs(float64(s[k])*float64(v) - float64(s[k])*yb[k]); diff > 2e-6 {
				t.Fatalf("component %d: ||Hx - y|| part %.3g; DDNM's output must explain a noiseless y", k, diff)
			}
		}
	}
}

func TestTravelStepsFollowTheReference(t *testing.T) {
	// Evaluations of get_schedule_jump(T_sampling, length, repeat) in
	// wyhuai/DDNM: the indices each followed by a smaller one.
	for _, tc := range []struct {
		steps, length, repeat int
		want                  []int
	}{
		{20, 1, 1, []int{19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0}},
		{20, 3, 2, []int{19, 18, 17, 16, 18, 17, 16, 15, 14, 13, 15, 14, 13, 12, 11, 10, 12, 11, 10, 9, 8, 7, 9, 8, 7, 6, 5, 4, 6, 5, 4, 3, 2, 1, 3, 2, 1, 0}},
		{10, 2, 3, []int{9, 8, 7, 8, 7, 8, 7, 6, 5, 6, 5, 6, 5, 4, 3, 4, 3, 4, 3, 2, 1, 2, 1, 2, 1, 0}},
	} {
		skip := 1000 / tc.steps
		want := make([]int, len(tc.want))
		for i, v := range tc.want {
			want[i] = v * skip
		}
		if got := travelSteps(1000, tc.steps, tc.length, tc.repeat); !slices.Equal(got, want) {
			t.Errorf("travel %d/%d/%d: %v, want %v", tc.steps, tc.length, tc.repeat, got, want)
		}
	}
}

// TestDDNMTimeTravelRenoises checks that a step followed by a higher time
// step re-noises x0_t: with a constant estimate its next state is a x0_t +
// sigma_t z.
func TestDDNMTimeTravelRenoises(t *testing.T) {
	const group = 8192
	const c = 0.3
	op, y, _ := momentGroups([]float32{1, 0}, group, -0.2, 0.5)
	sched := DefaultDDPMSchedule()
	for _, plus := range []bool{false, true} {
		cfg := DDNMConfig{Steps: 10, Eta: 0.85, TravelLength: 2, TravelRepeat: 2, Seed: 1}
		newRun := NewDDNM
		if plus {
			newRun = NewDDNMPlus
		}
		d, err := newRun(constDenoiser{c: c, sched: sched}, op, y, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if d.Len() != 18 {
			t.Fatalf("10 steps travelling 2 back once at indices 0, 2, 4 and 6: %d evaluations, want 18", d.Len())
		}
		jumps := 0
		if _, err := Run(context.Background(), d, func(info *StepInfo) error {
			if info.TNext <= info.T {
				return nil
			}
			jumps++
			a, sigT := math.Sqrt(info.AlphaBarNext), math.Sqrt(1-info.AlphaBarNext)
			groupMoments(t, "travel", info.XNext.Data, group, [][2]float64{{a * c, sigT}, {a * c, sigT}})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if jumps != 4 {
			t.Errorf("plus=%v: %d steps travelled back, want 4", plus, jumps)
		}
	}
}

func TestDDNMDeterministicAndReplayable(t *testing.T) {
	op, y := ddnmProblem(t)
	for _, plus := range []bool{false, true} {
		newRun := func(seed uint64) Sampler {
			cfg := DDNMConfig{Steps: 12, Eta: 0.85, TravelLength: 2, TravelRepeat: 2, SigmaY: 0.02, Seed: seed}
			mk := NewDDNM
			if plus {
				mk = NewDDNMPlus
			}
			d, err := mk(NewGaussianDenoiser(nil), op, y, cfg)
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		checkDeterministicAndReplayable(t, newRun, 5)
	}
}

func TestDDNMRejectsBadSettings(t *testing.T) {
	op, y := ddnmProblem(t)
	for _, tc := range []struct {
		cfg  DDNMConfig
		want string
	}{
		{DDNMConfig{Steps: 0, Eta: 0.85, TravelLength: 1, TravelRepeat: 1}, "steps"},
		{DDNMConfig{Steps: 20, Eta: 1.5, TravelLength: 1, TravelRepeat: 1}, "eta"},
		{DDNMConfig{Steps: 20, Eta: 0.85, TravelLength: 0, TravelRepeat: 1}, "travel_length"},
		{DDNMConfig{Steps: 20, Eta: 0.85, TravelLength: 1, TravelRepeat: 0}, "travel_repeat"},
		{DDNMConfig{Steps: 20, Eta: 0.85, TravelLength: 20, TravelRepeat: 2}, "not below steps"},
		{DDNMConfig{Steps: 20, Eta: 0.85, TravelLength: 1, TravelRepeat: 1, SigmaY: -1}, "sigma_y"},
	} {
		if _, err := NewDDNMPlus(NewGaussianDenoiser(nil), op, y, tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one naming %q", tc.cfg, err, tc.want)
		}
	}
}
