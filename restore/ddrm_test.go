package restore

import (
	"context"
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"
)

// diagOperator is H = diag(s) with U = V = I: the spectral layout is the pixel
// layout, which lets tests read DDRM's spectral state straight off the image.
type diagOperator struct {
	shape Shape
	s     []float32
}

func (o diagOperator) InShape() Shape       { return o.shape }
func (o diagOperator) OutShape() Shape      { return o.shape }
func (o diagOperator) Singulars() []float32 { return o.s }
func (o diagOperator) Vt(dst, x []float32)  { copy(dst, x) }
func (o diagOperator) V(dst, x []float32)   { copy(dst, x) }
func (o diagOperator) Ut(dst, y []float32)  { copy(dst, y) }
func (o diagOperator) U(dst, y []float32)   { copy(dst, y) }

// constDenoiser predicts the eps that makes x0_hat = c + gain * x_t / sqrt(alpha_bar_t).
type constDenoiser struct {
	c, gain float64
	sched   *Schedule
	nan     bool
}

func (d constDenoiser) Info() DenoiserInfo {
	return DenoiserInfo{Name: "const", Schedule: d.sched, Channels: 1, SizeMultiple: 1}
}

func (d constDenoiser) PredictEps(_ context.Context, x *Tensor, t []int) (*Tensor, error) {
	out := NewTensor(x.N, x.Shape)
	for b := range x.N {
		ab := d.sched.AlphaBar(t[b])
		for k, v := range x.Item(b) {
			x0 := d.c + d.gain*float64(v)/math.Sqrt(ab)
			out.Item(b)[k] = float32((float64(v) - math.Sqrt(ab)*x0) / math.Sqrt(1-ab))
		}
	}
	if d.nan {
		out.Data[0] = float32(math.NaN())
	}
	return out, nil
}

// TestDDRMStepMoments checks one DDRM step against the mean and variance
// the DDRM paper gives for each case. With a constant state, a constant x0_hat
// and a constant y_bar, the components of one group are independent draws of
// the same distribution.
func TestDDRMStepMoments(t *testing.T) {
	const group = 8192
	shape := Shape{C: 1, H: 3, W: group}
	sVals := []float32{1, 0.01, 0} // noisier than y, less noisy, missing
	s := make([]float32, shape.Len())
	for g, v := range sVals {
		for k := range group {
			s[g*group+k] = v
		}
	}
	op := diagOperator{shape, s}
	sched := DefaultDDPMSchedule()
	const c, yBarVal, xState = 0.3, -0.2, 0.5
	// y' = 2y - H1 = s * yBarVal, so y = s (yBarVal + 1) / 2.
	y := NewTensor(1, shape)
	for k := range y.Data {
		y.Data[k] = s[k] * (yBarVal + 1) / 2
	}
	cfg := DDRMConfig{Steps: 20, Eta: 0.6, EtaB: 0.7, SigmaY: 0.05, Seed: 7}
	d, err := NewDDRM(constDenoiser{c: c, sched: sched}, op, y, cfg)
	if err != nil {
		t.Fatal(err)
	}
	const index = 10
	state := NewTensor(1, shape)
	for k := range state.Data {
		state.Data[k] = xState
	}
	if err := d.SetState(index, state); err != nil {
		t.Fatal(err)
	}
	info, err := d.Step(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ab, abn := sched.AlphaBar(info.T), sched.AlphaBar(info.TNext)
	sig, sigN := math.Sqrt(1-ab)/math.Sqrt(ab), math.Sqrt(1-abn)/math.Sqrt(abn)
	sy := 2 * cfg.SigmaY
	eta, etaB := cfg.Eta, cfg.EtaB
	xBarT := xState / math.Sqrt(ab)
	want := []struct {
		name      string
		kase      ComponentCase
		mean, std float64
	}{
		{"noisier than y", NoisierThanY, etaB*yBarVal + (1-etaB)*c, math.Sqrt(sigN*sigN - etaB*etaB*sy*sy/float64(sVals[0]*sVals[0]))},
		{"less noisy", LessNoisy, c + math.Sqrt(1-eta*eta)*sigN*(yBarVal-c)/(sy/float64(sVals[1])), eta * sigN},
		{"missing", Missing, c + math.Sqrt(1-eta*eta)*sigN*(xBarT-c)/sig, eta * sigN},
	}
	for g, w := range want {
		if got := info.Spectral.Cases[g*group]; got != w.kase {
			t.Fatalf("%s: case %v, want %v", w.name, got, w.kase)
		}
		var sum, sum2 float64
		for k := range group {
			v := float64(info.XNext.Data[g*group+k]) / math.Sqrt(abn)
			sum += v
			sum2 += v * v
		}
		mean := sum / group
		std := math.Sqrt(sum2/group - mean*mean)
		// Five standard errors of the sample mean and of the sample deviation.
		if tol := 5 * w.std / math.Sqrt(group); math.Abs(mean-w.mean) > tol {
			t.Errorf("%s: mean %.5f, want %.5f ± %.5f", w.name, mean, w.mean, tol)
		}
		if tol := 5 * w.std / math.Sqrt(2*group); math.Abs(std-w.std) > tol {
			t.Errorf("%s: std %.5f, want %.5f ± %.5f", w.name, std, w.std, tol)
		}
		if got := info.Spectral.X0HatBar.Data[g*group]; math.Abs(float64(got)-c) > 1e-5 {
			t.Errorf("%s: x0_bar %v, want %v", w.name, got, c)
		}
	}
}

func TestDDRMInitialisation(t *testing.T) {
	const group = 8192
	shape := Shape{C: 1, H: 2, W: group}
	s := make([]float32, shape.Len())
	for k := range group {
		s[k] = 0.5
	}
	y := NewTensor(1, shape)
	const yBarVal = 0.4
	for k := range y.Data {
		y.Data[k] = s[k] * (yBarVal + 1) / 2
	}
	sched := DefaultDDPMSchedule()
	cfg := DDRMConfig{Steps: 20, Eta: 0.85, EtaB: 1, SigmaY: 0.1, Seed: 3}
	d, err := NewDDRM(constDenoiser{sched: sched}, diagOperator{shape, s}, y, cfg)
	if err != nil {
		t.Fatal(err)
	}
	sigT := sched.Sigma(950)
	x := d.State()
	sqrtAB := math.Sqrt(sched.AlphaBar(950))
	for g, w := range []struct{ mean, std float64 }{
		{yBarVal, math.Sqrt(sigT*sigT - 0.2*0.2/0.25)},
		{0, sigT},
	} {
		var sum, sum2 float64
		for k := range group {
			v := float64(x.Data[g*group+k]) / sqrtAB
			sum += v
			sum2 += v * v
		}
		mean := sum / group
		std := math.Sqrt(sum2/group - mean*mean)
		if math.Abs(mean-w.mean) > 5*w.std/math.Sqrt(group) || math.Abs(std-w.std) > 5*w.std/math.Sqrt(2*group) {
			t.Errorf("group %d: mean %.3f std %.3f, want %.3f and %.3f", g, mean, std, w.mean, w.std)
		}
	}
}

func newTestRun(t *testing.T, seed uint64) *DDRM {
	t.Helper()
	shape := Shape{C: 1, H: 4, W: 5}
	s := make([]float32, shape.Len())
	y := NewTensor(2, shape)
	for k := range s {
		s[k] = float32(k%4) / 3
	}
	for k := range y.Data {
		y.Data[k] = float32(k%7) / 7
	}
	cfg := DefaultDDRMConfig()
	cfg.Seed, cfg.SigmaY = seed, 0.02
	d, err := NewDDRM(constDenoiser{c: 0.1, gain: 0.5, sched: DefaultDDPMSchedule()}, diagOperator{shape, s}, y, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// checkDeterministicAndReplayable runs a sampler made by newRun: the same
// seed must give bit-identical results, another seed others, and going back
// to the state after step saveAt and running on must give the same result.
func checkDeterministicAndReplayable(t *testing.T, newRun func(seed uint64) Sampler, saveAt int) {
	t.Helper()
	ctx := context.Background()
	a, err := Run(ctx, newRun(1))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Run(ctx, newRun(1))
	c, _ := Run(ctx, newRun(2))
	if !equalBits(a.Data, b.Data) {
		t.Error("same seed gave different results")
	}
	if equalBits(a.Data, c.Data) {
		t.Error("different seeds gave the same result")
	}
	d := newRun(1)
	if _, err := d.Result(); err == nil {
		t.Error("result before the first step")
	}
	var saved *Tensor
	if _, err := Run(ctx, d, func(info *StepInfo) error {
		if info.Index == saveAt {
			saved = info.XNext.Clone()
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := d.SetState(saveAt+1, saved); err != nil {
		t.Fatal(err)
	}
	replay, _ := Run(ctx, d)
	if !equalBits(a.Data, replay.Data) {
		t.Error("replaying from a saved state changed the result")
	}
	if _, err := d.Step(ctx); err == nil || !strings.Contains(err.Error(), "done") {
		t.Errorf("step after the end: %v", err)
	}
}

func TestDDRMDeterministicAndReplayable(t *testing.T) {
	checkDeterministicAndReplayable(t, func(seed uint64) Sampler { return newTestRun(t, seed) }, 4)
}

func equalBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

func TestRunHooksStopAndCancel(t *testing.T) {
	d := newTestRun(t, 1)
	var seen []int
	res, err := Run(context.Background(), d, func(info *StepInfo) error {
		seen = append(seen, info.T)
		if info.Index == 2 {
			return ErrStop
		}
		return nil
	})
	if err != nil || res == nil {
		t.Fatalf("stopped run: %v", err)
	}
	if len(seen) != 3 || seen[0] != 950 || d.Index() != 3 {
		t.Errorf("steps seen %v, index %d", seen, d.Index())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, newTestRun(t, 1)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run returned %v", err)
	}
	boom := errors.New("boom")
	if _, err := Run(context.Background(), newTestRun(t, 1), func(*StepInfo) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("hook error returned %v", err)
	}
}

func TestDDRMFinalOutputIsLastEstimate(t *testing.T) {
	d := newTestRun(t, 5)
	var last *StepInfo
	res, err := Run(context.Background(), d, func(info *StepInfo) error { last = info; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if last.TNext != -1 || last.SigmaNext != 0 {
		t.Fatalf("last step ends at t=%d sigma=%v", last.TNext, last.SigmaNext)
	}
	for k, v := range res.Data {
		want := min(max((last.X0Hat.Data[k]+1)/2, 0), 1)
		if math.Abs(float64(v-want)) > 1e-6 {
			t.Fatalf("result[%d] = %v, want clamped x0_hat %v", k, v, want)
		}
	}
	if _, err := d.Step(context.Background()); err == nil {
		t.Error("step after the end accepted")
	}
}

func TestDDRMRejectsBadInput(t *testing.T) {
	sched := DefaultDDPMSchedule()
	shape := Shape{C: 1, H: 2, W: 2}
	op := diagOperator{shape, []float32{1, 1, 1, 1}}
	y := NewTensor(1, shape)
	den := constDenoiser{sched: sched}
	for _, tc := range []struct {
		cfg  DDRMConfig
		want string
	}{
		{DDRMConfig{Steps: 0, Eta: 0.5, EtaB: 1}, "steps = 0"},
		{DDRMConfig{Steps: 1001, Eta: 0.5, EtaB: 1}, "steps = 1001"},
		{DDRMConfig{Steps: 20, Eta: 1.5, EtaB: 1}, "eta = 1.5"},
		{DDRMConfig{Steps: 20, Eta: 0.5, EtaB: -1}, "eta_b = -1"},
		{DDRMConfig{Steps: 20, Eta: 0.5, EtaB: 1, SigmaY: -0.1}, "sigma_y"},
	} {
		if _, err := NewDDRM(den, op, y, tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("config %+v: error %v, want one naming %q", tc.cfg, err, tc.want)
		}
	}
	if _, err := NewDDRM(den, op, NewTensor(1, Shape{C: 1, H: 3, W: 2}), DefaultDDRMConfig()); err == nil {
		t.Error("mismatched measurement accepted")
	}
	d, err := NewDDRM(constDenoiser{sched: sched, nan: true}, op, y, DefaultDDRMConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Step(context.Background()); err == nil || !strings.Contains(err.Error(), "NaN") {
		t.Errorf("NaN model output gave %v", err)
	}
}

// The noise comes in chunks with their own streams, drawn in parallel: the
// output must not depend on how many cores draw them.
func TestDDRMIndependentOfParallelism(t *testing.T) {
	shape := Shape{C: 1, H: 64, W: 3 * noiseChunk / 64} // three chunks
	s := make([]float32, shape.Len())
	for k := range s {
		s[k] = float32(k%3) / 2
	}
	y := NewTensor(1, shape)
	for k := range y.Data {
		y.Data[k] = float32(k%5) / 5
	}
	restoreWith := func(procs int) []float32 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		cfg := DefaultDDRMConfig()
		cfg.Steps, cfg.SigmaY = 4, 0.05
		d, err := NewDDRM(constDenoiser{c: 0.1, gain: 0.5, sched: DefaultDDPMSchedule()}, diagOperator{shape, s}, y, cfg)
		if err != nil {
			t.Fatal(err)
		}
		x, err := Run(context.Background(), d)
		if err != nil {
			t.Fatal(err)
		}
		return x.Data
	}
	if !equalBits(restoreWith(1), restoreWith(3)) {
		t.Error("the result depends on GOMAXPROCS")
	}
}

// TestRunTransientMatchesRun: reusing the buffers of past steps changes
// nothing in the result, and a steady DDRM step then allocates no image.
func TestRunTransientMatchesRun(t *testing.T) {
	x := testImage(t)
	task, _ := LookupTask("sr4-noisy")
	op, err := task.Operator(x.Shape, nil)
	if err != nil {
		t.Fatal(err)
	}
	y, _ := Degrade(op, x, task.SigmaY, 1)
	newRun := func() Sampler {
		cfg := DefaultDDRMConfig()
		cfg.SigmaY, cfg.Seed = task.SigmaY, 4
		d, err := NewDDRM(NewGaussianDenoiser(nil), op, y, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	a, err := Run(context.Background(), newRun())
	if err != nil {
		t.Fatal(err)
	}
	b, err := RunTransient(context.Background(), newRun())
	if err != nil {
		t.Fatal(err)
	}
	if !equalBits(a.Data, b.Data) {
		t.Error("RunTransient gave another result than Run")
	}
}

// reusedEps is a prior whose every prediction is the same tensor, so that
// an allocation test counts the sampler's allocations alone.
type reusedEps struct {
	sched *Schedule
	eps   *Tensor
}

func (r *reusedEps) Info() DenoiserInfo {
	return DenoiserInfo{Name: "reused", Schedule: r.sched, Channels: 3, SizeMultiple: 1}
}

func (r *reusedEps) PredictEps(_ context.Context, x *Tensor, _ []int) (*Tensor, error) {
	if r.eps == nil {
		r.eps = NewTensor(x.N, x.Shape)
		for k := range r.eps.Data {
			r.eps.Data[k] = float32(k%7-3) / 3
		}
	}
	return r.eps, nil
}

// steadyStep returns a function that takes one step of d and hands the
// step before it back to d for reuse, as RunTransient does.
func steadyStep(tb testing.TB, d *DDRM) func() {
	var prev *StepInfo
	return func() {
		info, err := d.Step(context.Background())
		if err != nil {
			tb.Fatal(err)
		}
		if prev != nil {
			d.recycle(prev)
		}
		prev = info
	}
}

// TestDDRMSteadyStepAllocatesNoImage: under RunTransient a DDRM step
// reuses the tensors and spectral-view slices of the steps before it, so in
// the steady state it allocates far less than one image (the rest are a
// few small objects: the step's description, the goroutines that split the
// work over the cores).
func TestDDRMSteadyStepAllocatesNoImage(t *testing.T) {
	shape := Shape{C: 3, H: 64, W: 64}
	task, _ := LookupTask("sr4")
	op, err := task.Operator(shape, nil)
	if err != nil {
		t.Fatal(err)
	}
	y := NewTensor(1, op.OutShape())
	cfg := DefaultDDRMConfig()
	cfg.Steps = 1000
	d, err := NewDDRM(&reusedEps{sched: DefaultDDPMSchedule()}, op, y, cfg)
	if err != nil {
		t.Fatal(err)
	}
	step := steadyStep(t, d)
	for range 3 {
		step()
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const steps = 20
	for range steps {
		step()
	}
	runtime.ReadMemStats(&after)
	perStep := float64(after.TotalAlloc-before.TotalAlloc) / steps
	image := float64(4 * shape.Len())
	// The small objects do not grow with the image: 32 KB is 4% of a
	// 256x256 image.
	if perStep > 32<<10 {
		t.Errorf("a steady DDRM step allocates %.0f bytes; one image is %.0f", perStep, image)
	}
	allocs := testing.AllocsPerRun(10, step)
	t.Logf("a steady step allocates %.0f bytes in %.0f allocations (an image is %.0f bytes)", perStep, allocs, image)
}
