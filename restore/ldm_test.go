package restore

import (
	"context"
	"math"
	"strings"
	"testing"
)

// ldmSchedule is SRLDM's scaled_linear schedule.
func ldmSchedule(tb testing.TB) *Schedule {
	tb.Helper()
	s, err := NewSchedule(ScaledLinear, 0.0015, 0.0155, 1000)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// poolAE is the tests' autoencoder: f x f average pooling, and back nearest
// upsampling after snapping every latent vector to the nearest point of a
// codebook, the grid of levels values per channel spread over [-1, 1]
// (levels 0: no quantisation). For a grid the nearest codebook vector is
// the per-channel nearest level.
type poolAE struct {
	f, levels        int
	encodes, decodes int
}

func (a *poolAE) Factor() int         { return a.f }
func (a *poolAE) LatentChannels() int { return 3 }

func (a *poolAE) Encode(_ context.Context, x *Tensor) (*Tensor, error) {
	a.encodes++
	s := x.Shape
	z := NewTensor(x.N, Shape{C: s.C, H: s.H / a.f, W: s.W / a.f})
	inv := 1 / float32(a.f*a.f)
	for b := range x.N {
		xb, zb := x.Item(b), z.Item(b)
		for c := range s.C {
			for i := range s.H {
				for j := range s.W {
					zb[(c*z.Shape.H+i/a.f)*z.Shape.W+j/a.f] += xb[(c*s.H+i)*s.W+j] * inv
				}
			}
		}
	}
	return z, nil
}

func (a *poolAE) Decode(_ context.Context, z *Tensor) (*Tensor, error) {
	a.decodes++
	s := z.Shape
	x := NewTensor(z.N, Shape{C: s.C, H: s.H * a.f, W: s.W * a.f})
	for b := range z.N {
		zb, xb := z.Item(b), x.Item(b)
		for c := range s.C {
			for i := range x.Shape.H {
				for j := range x.Shape.W {
					xb[(c*x.Shape.H+i)*x.Shape.W+j] = quantise(zb[(c*s.H+i/a.f)*s.W+j/a.f], a.levels)
				}
			}
		}
	}
	return x, nil
}

// quantise snaps v to the nearest of levels values spread evenly over [-1, 1].
func quantise(v float32, levels int) float32 {
	if levels < 2 {
		return v
	}
	step := 2 / float64(levels-1)
	k := math.Round((min(max(float64(v), -1), 1) + 1) / step)
	return float32(k*step - 1)
}

// gaussSRUNet is the tests' SRLDM UNet, in closed form: the exact
// posterior-mean eps for the latent prior z0 ~ N(cond, tau^2 I), cond being
// the low-resolution image it reads. poolAE's latent of an image is its
// block average, which the low-resolution image approximates.
type gaussSRUNet struct {
	sched    *Schedule
	tau      float64
	multiple int
	calls    int
}

func (u *gaussSRUNet) Info() DenoiserInfo {
	return DenoiserInfo{Name: "gauss-sr", Schedule: u.sched, Channels: 3, CondChannels: 3, SizeMultiple: max(u.multiple, 1)}
}

func (u *gaussSRUNet) PredictEps(_ context.Context, x *Tensor, t []int) (*Tensor, error) {
	u.calls++
	s := Shape{C: 3, H: x.Shape.H, W: x.Shape.W}
	eps := NewTensor(x.N, s)
	n := s.Len()
	for b := range x.N {
		ab := u.sched.AlphaBar(t[b])
		g := math.Sqrt(1-ab) / (ab*u.tau*u.tau + 1 - ab)
		xb, eb := x.Item(b), eps.Item(b)
		for k := range eb {
			eb[k] = float32(g * (float64(xb[k]) - math.Sqrt(ab)*float64(xb[n+k])))
		}
	}
	return eps, nil
}

// testImage returns the central 64x64 of samples/cat.png.
func testImage(tb testing.TB) *Tensor {
	tb.Helper()
	full, err := LoadImage("../samples/cat.png")
	if err != nil {
		tb.Fatal(err)
	}
	full = ToRGB(full)
	const side = 64
	s := full.Shape
	x := NewTensor(1, Shape{C: 3, H: side, W: side})
	for c := range 3 {
		for i := range side {
			row := (c*s.H+s.H/2-side/2+i)*s.W + s.W/2 - side/2
			copy(x.Data[(c*side+i)*side:][:side], full.Data[row:row+side])
		}
	}
	return x
}

func TestConditionedAppendsTheCondition(t *testing.T) {
	sched := ldmSchedule(t)
	u := &gaussSRUNet{sched: sched, tau: 0.5}
	cond := NewTensor(2, Shape{C: 3, H: 2, W: 3})
	for i := range cond.Data {
		cond.Data[i] = float32(i%5)/5 - 0.5
	}
	den, err := Conditioned(u, cond)
	if err != nil {
		t.Fatal(err)
	}
	if info := den.Info(); info.CondChannels != 0 || info.Channels != 3 || info.Name != "gauss-sr" {
		t.Errorf("bound info %+v", info)
	}
	x := NewTensor(2, cond.Shape)
	for i := range x.Data {
		x.Data[i] = float32(i%7) / 7
	}
	ts := []int{100, 900}
	eps, err := den.PredictEps(context.Background(), x, ts)
	if err != nil {
		t.Fatal(err)
	}
	for b := range 2 {
		ab := sched.AlphaBar(ts[b])
		g := math.Sqrt(1-ab) / (ab*0.25 + 1 - ab)
		for k, v := range eps.Item(b) {
			want := g * (float64(x.Item(b)[k]) - math.Sqrt(ab)*float64(cond.Item(b)[k]))
			if math.Abs(float64(v)-want) > 1e-5 {
				t.Fatalf("eps[%d][%d] = %v, want %v", b, k, v, want)
			}
		}
	}
	for _, tc := range []struct {
		x    *Tensor
		want string
	}{
		{NewTensor(1, cond.Shape), "does not fit"},
		{NewTensor(2, Shape{C: 3, H: 3, W: 3}), "does not fit"},
	} {
		if _, err := den.PredictEps(context.Background(), tc.x, []int{1, 1}[:tc.x.N]); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("input %dx%v: %v", tc.x.N, tc.x.Shape, err)
		}
	}
	if _, err := Conditioned(u, NewTensor(1, Shape{C: 1, H: 2, W: 2})); err == nil || !strings.Contains(err.Error(), "3-channel") {
		t.Errorf("1-channel conditioning: %v", err)
	}
	if _, err := Conditioned(NewGaussianDenoiser(nil), cond); err == nil || !strings.Contains(err.Error(), "no conditioning") {
		t.Errorf("unconditional model: %v", err)
	}
}

func TestLowResInput(t *testing.T) {
	x := testImage(t)
	for _, tc := range []struct {
		task string
		same bool    // the low-resolution input is y itself
		psnr float64 // else its least PSNR against the clean image's downsampling
	}{{"sr4", true, 0}, {"sr4-noisy", true, 0}, {"sr2", false, 30}, {"deblur", false, 30}, {"denoise", false, 26}, {"colorize", false, 15}} {
		task, _ := LookupTask(tc.task)
		op, err := task.Operator(x.Shape, nil)
		if err != nil {
			t.Fatal(err)
		}
		y, _ := Degrade(op, x, task.SigmaY, 1)
		low, err := LowResInput(task, op, y, 4)
		if err != nil {
			t.Fatalf("%s: %v", tc.task, err)
		}
		if low.Shape != (Shape{C: 3, H: 16, W: 16}) {
			t.Fatalf("%s: low-resolution shape %v", tc.task, low.Shape)
		}
		for _, v := range low.Data {
			if v < 0 || v > 1 {
				t.Fatalf("%s: value %v outside [0, 1]", tc.task, v)
			}
		}
		if tc.same {
			if !equalBits(low.Data, y.Clone().Clamp(0, 1).Data) {
				t.Errorf("%s: low-resolution input is not the measurement", tc.task)
			}
			continue
		}
		// Other routes end close to the clean image's bicubic downsampling
		// (colourisation's only in brightness).
		down, _ := NewBicubicDown(x.Shape, 4)
		ref := NewTensor(1, down.OutShape())
		ApplyH(down, ref.Data, x.Data)
		if p := PSNR(low.Data, ref.Data); p < tc.psnr {
			t.Errorf("%s: low-resolution input only %.1f dB from the clean one", tc.task, p)
		}
	}
	task, _ := LookupTask("deblur")
	op, _ := task.Operator(Shape{C: 3, H: 62, W: 64}, nil)
	if _, err := LowResInput(task, op, NewTensor(1, op.OutShape()), 4); err == nil || !strings.Contains(err.Error(), "crop the image to 64x60") {
		t.Errorf("62-pixel image: %v", err)
	}
	if _, err := LowResInput(task, op, NewTensor(1, Shape{C: 3, H: 16, W: 16}), 4); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("mismatched measurement: %v", err)
	}
}

// sr4Setup degrades testImage with task and returns the clean image, the
// operator, the measurement and the low-resolution input for factor 4.
func sr4Setup(tb testing.TB, name string) (x *Tensor, op Operator, y, low *Tensor, task Task) {
	tb.Helper()
	x = testImage(tb)
	task, err := LookupTask(name)
	if err != nil {
		tb.Fatal(err)
	}
	if op, err = task.Operator(x.Shape, nil); err != nil {
		tb.Fatal(err)
	}
	if y, err = Degrade(op, x, task.SigmaY, 3); err != nil {
		tb.Fatal(err)
	}
	if low, err = LowResInput(task, op, y, 4); err != nil {
		tb.Fatal(err)
	}
	return x, op, y, low, task
}

func TestLDMSRDecodesLazilyAndOnce(t *testing.T) {
	x, _, _, low, _ := sr4Setup(t, "sr4")
	ae := &poolAE{f: 4}
	u := &gaussSRUNet{sched: ldmSchedule(t), tau: 0.05}
	cfg := DefaultDDIMConfig()
	cfg.Steps = 10
	l, err := NewLDMSR(u, ae, low, cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), l)
	if err != nil {
		t.Fatal(err)
	}
	if ae.decodes != 1 || ae.encodes != 0 || u.calls != 10 {
		t.Errorf("a run without hooks made %d decodes, %d encodes and %d UNet calls; want 1, 0 and 10", ae.decodes, ae.encodes, u.calls)
	}
	if res.Shape != x.Shape {
		t.Fatalf("result shape %v, want %v", res.Shape, x.Shape)
	}
	// With this prior the output is the low-resolution image, nearest
	// upsampled, give or take the prior's spread tau and the chain's noise.
	up := NewTensor(1, x.Shape)
	for c := range 3 {
		for i := range 64 {
			for j := range 64 {
				up.Data[(c*64+i)*64+j] = low.Data[(c*16+i/4)*16+j/4]
			}
		}
	}
	if p := PSNR(res.Data, up.Data); p < 25 {
		t.Errorf("output %.1f dB from the upsampled low-resolution image", p)
	}

	ae.decodes = 0
	l, _ = NewLDMSR(u, ae, low, cfg)
	var firsts []*Tensor
	_, err = Run(context.Background(), l, func(info *StepInfo) error {
		a, err := info.PixelX0Hat()
		if err != nil {
			return err
		}
		b, _ := info.Image()
		if a != b {
			t.Error("PixelX0Hat and Image decoded twice")
		}
		if info.X0Hat.Shape != (Shape{C: 3, H: 16, W: 16}) || a.Shape != x.Shape {
			t.Errorf("step %d: x0_hat %v, decoded %v", info.Index, info.X0Hat.Shape, a.Shape)
		}
		firsts = append(firsts, a)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if ae.decodes != 11 {
		t.Errorf("%d decodes with a hook reading every x0_hat; want 11", ae.decodes)
	}
}

func TestLDMSRReplaysAndResultBeforeTheEnd(t *testing.T) {
	_, _, _, low, _ := sr4Setup(t, "sr4")
	u := &gaussSRUNet{sched: ldmSchedule(t), tau: 0.1}
	cfg := DDIMConfig{Steps: 8, Eta: 1, Seed: 4}
	l, _ := NewLDMSR(u, &poolAE{f: 4, levels: 16}, low, cfg)
	if _, err := l.Result(); err == nil {
		t.Error("result before the first step")
	}
	var saved *Tensor
	ref, err := Run(context.Background(), l, func(info *StepInfo) error {
		if info.Index == 3 {
			saved = info.XNext.Clone()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.SetState(4, saved); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	mid, err := l.Result()
	if err != nil || mid.Shape != ref.Shape {
		t.Fatalf("result mid-run: %v", err)
	}
	again, _ := Run(context.Background(), l)
	if !equalBits(ref.Data, again.Data) {
		t.Error("replaying from a saved state changed the result")
	}
}

func TestLDMSRRejectsBadInput(t *testing.T) {
	sched := ldmSchedule(t)
	u := &gaussSRUNet{sched: sched, tau: 0.1, multiple: 8}
	ae := &poolAE{f: 4}
	good := NewTensor(1, Shape{C: 3, H: 16, W: 16})
	for _, tc := range []struct {
		name string
		den  Denoiser
		low  *Tensor
		cfg  DDIMConfig
		want string
	}{
		{"gray", u, NewTensor(1, Shape{C: 1, H: 16, W: 16}), DefaultDDIMConfig(), "3 channels"},
		{"odd size", u, NewTensor(1, Shape{C: 3, H: 12, W: 16}), DefaultDDIMConfig(), "divisible by 8 (output sides by 32)"},
		{"unconditional", NewGaussianDenoiser(sched), good, DefaultDDIMConfig(), "an SRLDM UNet takes"},
		{"steps", u, good, DDIMConfig{Steps: 1000, Eta: 1}, "1..999"},
		{"eta", u, good, DDIMConfig{Steps: 10, Eta: 2}, "eta = 2"},
		{"empty", u, nil, DefaultDDIMConfig(), "no low-resolution"},
	} {
		if _, err := NewLDMSR(tc.den, ae, tc.low, tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %q", tc.name, err, tc.want)
		}
	}
	nan := good.Clone()
	nan.Data[5] = float32(math.NaN())
	if _, err := NewLDMSR(u, ae, nan, DefaultDDIMConfig()); err == nil || !strings.Contains(err.Error(), "NaN") {
		t.Errorf("NaN input: %v", err)
	}
}

func TestStepInfoImage(t *testing.T) {
	x0 := NewTensor(1, Shape{C: 3, H: 4, W: 4})
	if got, err := (&StepInfo{X0Hat: x0}).Image(); err != nil || got != x0 {
		t.Errorf("pixel-space step: Image() = %p, %v; want X0Hat", got, err)
	}
	for _, s := range []*StepInfo{nil, {}} {
		if _, err := s.Image(); err == nil || !strings.Contains(err.Error(), "no estimate") {
			t.Errorf("step %+v: error %v", s, err)
		}
	}
}
