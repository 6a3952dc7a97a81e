package restore

import (
	"context"
	"math"
	"strings"
	"testing"
)

// runLDMPair restores one task's measurement of testImage with LDM and
// DDRM-LDM, both with the pooling autoencoder (quantising to 32 levels) and
// the Gaussian latent prior, and returns their PSNRs and consistencies.
func runLDMPair(t *testing.T, name string) (psnrLDM, psnrHybrid, consLDM, consHybrid float64) {
	t.Helper()
	x, op, y, low, task := sr4Setup(t, name)
	u := &gaussSRUNet{sched: ldmSchedule(t), tau: 0.1}
	cfg := DefaultDDIMConfig()
	cfg.Seed = 1
	l, err := NewLDMSR(u, &poolAE{f: 4, levels: 32}, low, cfg)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Run(context.Background(), l)
	if err != nil {
		t.Fatal(err)
	}
	hcfg := DefaultDDRMLDMConfig()
	// Every step corrected: the claims below are the correction's.
	hcfg.Seed, hcfg.SigmaY, hcfg.CorrectEvery = 1, task.SigmaY, 1
	h, err := NewDDRMLDM(u, &poolAE{f: 4, levels: 32}, low, op, y, hcfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Run(context.Background(), h)
	if err != nil {
		t.Fatal(err)
	}
	return PSNR(a.Data, x.Data), PSNR(b.Data, x.Data), Consistency(op, a, y), Consistency(op, b, y)
}

// TestDDRMLDMConsistency is the hybrid's main claim: on a noiseless 4x SR,
// its output agrees with the measurement at least 10 times better than
// plain LDM's, and is no further from the clean image.
func TestDDRMLDMConsistency(t *testing.T) {
	pl, ph, cl, ch := runLDMPair(t, "sr4")
	t.Logf("sr4: LDM %.2f dB, consistency %.2e; DDRM-LDM %.2f dB, consistency %.2e (%.0fx)", pl, cl, ph, ch, cl/ch)
	if cl < 10*ch {
		t.Errorf("consistency: LDM %.3g, DDRM-LDM %.3g; want DDRM-LDM at least 10x smaller", cl, ch)
	}
	if ph < pl {
		t.Errorf("PSNR: LDM %.2f dB, DDRM-LDM %.2f dB; the hybrid must not be worse", pl, ph)
	}
}

// TestDDRMLDMOtherTasks checks that the hybrid does not collapse where the
// study's did (by 9 to 11 dB below LDM on SR), and that it uses each task's
// own measurement: the noiseless, invertible blur is undone exactly.
func TestDDRMLDMOtherTasks(t *testing.T) {
	for _, tc := range []struct {
		name string
		gain float64 // least PSNR gain over LDM, dB
	}{{"sr4-noisy", -0.5}, {"deblur", 20}, {"denoise", 0.5}} {
		pl, ph, cl, ch := runLDMPair(t, tc.name)
		t.Logf("%s: LDM %.2f dB, consistency %.3g; DDRM-LDM %.2f dB, consistency %.3g", tc.name, pl, cl, ph, ch)
		if ph-pl < tc.gain || ch > cl {
			t.Errorf("%s: DDRM-LDM %.2f dB (consistency %.3g) against LDM's %.2f dB (%.3g); want a gain of at least %g dB", tc.name, ph, ch, pl, cl, tc.gain)
		}
	}
}

// TestDDRMLDMCorrection checks step 3 of the hybrid, per case, against the
// posterior-mean weight eta_b (s sig)^2 / ((s sig)^2 + sigma_y^2), with
// H = diag(s).
func TestDDRMLDMCorrection(t *testing.T) {
	shape := Shape{C: 3, H: 4, W: 4}
	s := make([]float32, shape.Len())
	for k := range s {
		s[k] = []float32{1, 0.02, 0}[k%3] // noisier than y, less noisy, missing
	}
	op := diagOperator{shape, s}
	y := NewTensor(1, shape)
	const yBarVal = 0.4
	for k := range y.Data {
		y.Data[k] = s[k] * (yBarVal + 1) / 2
	}
	cfg := DDRMLDMConfig{DDRMConfig: DDRMConfig{Steps: 10, Eta: 0.6, EtaB: 0.7, SigmaY: 0.05}, CorrectEvery: 1}
	h, err := NewDDRMLDM(&gaussSRUNet{sched: ldmSchedule(t), tau: 1}, &poolAE{f: 4}, NewTensor(1, Shape{C: 3, H: 1, W: 1}), op, y, cfg)
	if err != nil {
		t.Fatal(err)
	}
	x := NewTensor(1, shape)
	for k := range x.Data {
		x.Data[k] = -0.3
	}
	const sig = 1.5
	xc, xBar, cases, _ := h.correct(x, sig)
	sy := 2 * cfg.SigmaY
	for k, v := range xc.Data {
		var w float64
		if sk := float64(s[k]); sk > 0 {
			w = cfg.EtaB * sk * sk * sig * sig / (sk*sk*sig*sig + sy*sy)
		}
		want := -0.3 + w*(yBarVal+0.3)
		if math.Abs(float64(v)-want) > 1e-6 || xBar.Data[k] != -0.3 {
			t.Fatalf("component %d (%v): corrected %v, want %v", k, cases[k], v, want)
		}
	}
}

// With eta_b = 0 the correction is nothing, and re-encoding the unchanged
// estimate must leave the latent chain LDM's own, however lossy the
// autoencoder: the hybrid's output is LDM's.
func TestDDRMLDMWithoutCorrectionIsLDM(t *testing.T) {
	_, op, y, low, task := sr4Setup(t, "sr4-noisy")
	u := &gaussSRUNet{sched: ldmSchedule(t), tau: 0.1}
	ae := &poolAE{f: 4, levels: 8}
	l, err := NewLDMSR(u, ae, low, DDIMConfig{Steps: 20, Eta: 1, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	want, err := Run(context.Background(), l)
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewDDRMLDM(u, ae, low, op, y, DDRMLDMConfig{DDRMConfig: DDRMConfig{Steps: 20, Eta: 1, EtaB: 0, SigmaY: task.SigmaY, Seed: 3}, CorrectEvery: 1})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Run(context.Background(), h)
	if err != nil {
		t.Fatal(err)
	}
	var worst float64
	for i, v := range got.Data {
		worst = max(worst, math.Abs(float64(v-want.Data[i])))
	}
	if worst > 1e-5 {
		t.Errorf("DDRM-LDM with eta_b = 0 differs from LDM by up to %.3g", worst)
	}
}

func TestDDRMLDMStepsReplayAndCost(t *testing.T) {
	_, op, y, low, task := sr4Setup(t, "sr4-noisy")
	u := &gaussSRUNet{sched: ldmSchedule(t), tau: 0.1}
	ae := &poolAE{f: 4, levels: 16}
	cfg := DDRMLDMConfig{DDRMConfig: DDRMConfig{Steps: 6, Eta: 0.85, EtaB: 1, SigmaY: task.SigmaY, Seed: 2}, CorrectEvery: 1}
	h, err := NewDDRMLDM(u, ae, low, op, y, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Result(); err == nil {
		t.Error("result before the first step")
	}
	var saved *Tensor
	ref, err := Run(context.Background(), h, func(info *StepInfo) error {
		if info.Spectral == nil || info.PixelX0Hat == nil || info.X0Hat.Shape != (Shape{C: 3, H: 16, W: 16}) {
			t.Fatalf("step %d lacks its views", info.Index)
		}
		if px, err := info.PixelX0Hat(); err != nil || px.Shape != op.InShape() {
			t.Fatalf("pixel x0_hat: %v", err)
		}
		if info.Index == 2 {
			saved = info.XNext.Clone()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if u.calls != 6 || ae.encodes != 6 || ae.decodes != 7 {
		t.Errorf("%d UNet calls, %d encodes, %d decodes; want 6, 6 and 7", u.calls, ae.encodes, ae.decodes)
	}
	if err := h.SetState(3, saved); err != nil {
		t.Fatal(err)
	}
	again, _ := Run(context.Background(), h)
	if !equalBits(ref.Data, again.Data) {
		t.Error("replaying from a saved state changed the result")
	}
	if err := h.SetState(h.Len(), h.State()); err != nil {
		t.Fatal(err)
	}
	if res, err := h.Result(); err != nil || !equalBits(res.Data, ref.Data) {
		t.Errorf("result recomputed from the final state differs (%v)", err)
	}
}

func TestDDRMLDMRejectsBadInput(t *testing.T) {
	_, op, y, low, _ := sr4Setup(t, "sr4")
	u := &gaussSRUNet{sched: ldmSchedule(t), tau: 0.1}
	ae := &poolAE{f: 4}
	small := NewTensor(1, Shape{C: 3, H: 8, W: 8})
	for _, tc := range []struct {
		name string
		low  *Tensor
		y    *Tensor
		cfg  DDRMLDMConfig
		want string
	}{
		{"wrong scale", small, y, DefaultDDRMLDMConfig(), "1/4 the size of the output"},
		{"measurement", low, NewTensor(1, Shape{C: 3, H: 8, W: 8}), DefaultDDRMLDMConfig(), "does not match"},
		{"batch", low, NewTensor(2, y.Shape), DefaultDDRMLDMConfig(), "low-resolution images"},
		{"eta_b", low, y, DDRMLDMConfig{DDRMConfig: DDRMConfig{Steps: 10, Eta: 1, EtaB: 2}, CorrectEvery: 1}, "eta_b = 2"},
		{"steps", low, y, DDRMLDMConfig{DDRMConfig: DDRMConfig{Steps: 1000, Eta: 1, EtaB: 1}, CorrectEvery: 1}, "1..999"},
	} {
		if _, err := NewDDRMLDM(u, ae, tc.low, op, tc.y, tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %q", tc.name, err, tc.want)
		}
	}
}

// TestDDRMLDMCorrectsTheChosenSteps: the correction runs on every
// CorrectEvery-th step and the last CorrectLast, each costing one decoding
// and one encoder call; the other steps are LDM's own, bit for bit, so with
// no step corrected the chain is LDM's and only the output is corrected.
func TestDDRMLDMCorrectsTheChosenSteps(t *testing.T) {
	_, op, y, low, task := sr4Setup(t, "sr4")
	u := &gaussSRUNet{sched: ldmSchedule(t), tau: 0.1}
	run := func(every, last int) (*DDRMLDM, *poolAE, *Tensor) {
		ae := &poolAE{f: 4, levels: 32}
		cfg := DDRMLDMConfig{DDRMConfig: DDRMConfig{Steps: 12, Eta: 1, EtaB: 1, SigmaY: task.SigmaY, Seed: 4}, CorrectEvery: every, CorrectLast: last}
		h, err := NewDDRMLDM(u, ae, low, op, y, cfg)
		if err != nil {
			t.Fatal(err)
		}
		x, err := RunTransient(context.Background(), h)
		if err != nil {
			t.Fatal(err)
		}
		return h, ae, x
	}
	for _, tc := range []struct{ every, last, corrected int }{
		{1, 0, 12}, {4, 0, 3}, {4, 3, 6}, {4, 4, 6}, {0, 2, 2}, {0, 0, 0}, {5, 12, 12},
	} {
		_, ae, _ := run(tc.every, tc.last)
		if ae.encodes != tc.corrected {
			t.Errorf("every %d, last %d: %d encoder calls, want %d (one per corrected step)", tc.every, tc.last, ae.encodes, tc.corrected)
		}
	}
	h, _, hx := run(0, 0)
	cfg := DefaultDDIMConfig()
	cfg.Steps, cfg.Eta, cfg.Seed = 12, 1, 4
	l, err := NewLDMSR(u, &poolAE{f: 4, levels: 32}, low, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := RunTransient(context.Background(), l); err != nil {
		t.Fatal(err)
	}
	same := len(h.State().Data) == len(l.State().Data)
	for k, v := range h.State().Data {
		same = same && v == l.State().Data[k]
	}
	if !same {
		t.Error("with no step corrected, the latent chain differs from LDM's")
	}
	if c := Consistency(op, hx, y); c > 1e-3 {
		t.Errorf("the output is not corrected: consistency %.3g", c)
	}
	if _, err := NewDDRMLDM(u, &poolAE{f: 4}, low, op, y, DDRMLDMConfig{DDRMConfig: DDRMConfig{Steps: 4, Eta: 1, EtaB: 1}, CorrectEvery: -1}); err == nil {
		t.Error("correct_every -1 accepted")
	}
}
