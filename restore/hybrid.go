package restore

import (
	"context"
	"fmt"
	"math"
)

// DDRMLDMConfig sets DDRM-LDM: the latent chain's steps and eta, the
// correction's weight eta_b, the measurement noise and seed (as DDRM's),
// and on which steps the correction runs. A correction costs a decoder and
// an encoder evaluation besides the UNet's, several times the UNet with
// a real model's 256x256 decoder, so it can run on a subset of the steps:
// step i of n (from 0) is corrected when CorrectEvery > 0 and i is a
// multiple of CorrectEvery, or when i >= n - CorrectLast. The output is
// corrected in any case.
type DDRMLDMConfig struct {
	DDRMConfig
	CorrectEvery, CorrectLast int
	// FinalAlphaOne is the latent chain's (see DDIMConfig).
	FinalAlphaOne bool
}

// DefaultDDRMLDMConfig returns the hybrid's defaults: LDM-SR's 100 steps
// and eta = 1 for the latent chain (see DefaultDDIMConfig), so that the
// chain is LDM's own and only the correction differs, eta_b = 1, which
// makes the output consistent with a noiseless y, and the correction on
// every 10th step. On the bundled SRLDM (sr4, first 10 images of
// eval/imagenet256, docs/ddrm-ldm.md) that scored 24.54 dB in 1.7 times
// LDM's time, against 24.30 dB in 7.9 times for every step: correcting
// less often lets the latent chain settle between corrections.
func DefaultDDRMLDMConfig() DDRMLDMConfig {
	return DDRMLDMConfig{DDRMConfig: DDRMConfig{Steps: 100, Eta: 1, EtaB: 1}, CorrectEvery: 10}
}

// corrects says whether step i of n runs the correction.
func (c DDRMLDMConfig) corrects(i, n int) bool {
	return (c.CorrectEvery > 0 && i%c.CorrectEvery == 0) || i >= n-c.CorrectLast
}

// DDRMLDM is DDRM-LDM, the hybrid of SRLDM's latent sampler and DDRM's
// measurement consistency (docs/ddrm-ldm.md has the full definition and why
// the study's version collapsed). It runs SRLDM's DDIM chain in the latent
// space and, at every step t -> t':
//
//  1. z0_hat = (z_t - sqrt(1 - ab) eps) / sqrt(ab), with the UNet reading z_t
//     and the low-resolution image, exactly as LDMSR;
//  2. x0_hat = decode(z0_hat), an image in [-1, 1];
//  3. per component of V^T x0_hat, at the next noise level sigma' (the
//     latent schedule's variance-exploding level of t'): x0_bar +
//     w (y_bar - x0_bar), with w = eta_b (s sigma')^2 / ((s sigma')^2 +
//     sigma_y^2), the posterior-mean weight of y_bar against an estimate as
//     uncertain as sigma', and w = 0 where s = 0. A noiseless y with
//     eta_b = 1 thus replaces every observed component by y_bar. No noise is
//     added in pixel space: the latent chain adds its own;
//  4. z0_c = z0_hat + encode(x0_c) - encode(x0_hat), both images clamped to
//     [-1, 1]: the correction carried into the latent, without replacing
//     z0_hat by the autoencoder's reconstruction encode(decode(z0_hat));
//  5. eps_c = (z_t - sqrt(ab) z0_c) / sqrt(1 - ab), and DDIM's update with
//     z0_c and eps_c, i.e. a draw from DDIM's q(z_t' | z_t, z0 = z0_c).
//
// The output is decode(z_0) with the same correction applied once more at
// z_0's noise level, then mapped to [0, 1] and clamped: for a noiseless
// measurement and eta_b = 1 it agrees with y up to clamping and rounding.
// Eta is the latent chain's DDIM eta; with eta_b = 0 the hybrid is LDM.
//
// It implements Sampler. As for LDMSR, State and StepInfo's Xt and XNext are
// latents; StepInfo.X0Hat is the UNet's z0_hat, PixelX0Hat its decoding
// (already computed), and Spectral the correction of step 3. Each step costs
// one UNet and one decoder evaluation and one encoder evaluation of two
// images, plus one decoding at the end.
type DDRMLDM struct {
	*DDIM
	measured
	ae        Autoencoder
	etaB      float64
	cond      *Tensor // the low-resolution image in [-1, 1]
	out       Shape
	corrected *Tensor // the latest corrected x0 estimate, pixels in [-1, 1]
	final     *Tensor // the corrected decoded output once done, in [-1, 1]
	cfg       DDRMLDMConfig
	last      *lazyImage // the decoding of an uncorrected step's z0_hat
}

// NewDDRMLDM prepares a DDRM-LDM run restoring the measurements y (OutShape
// images of op in [0, 1], noise cfg.SigmaY) with an SRLDM: the conditional
// latent UNet unet, the autoencoder ae, and low, the low-resolution images in
// [0, 1] the UNet reads (see LowResInput), 1/ae.Factor() the size of op's
// input. cfg.Steps and cfg.Eta are the latent DDIM's; DefaultDDRMLDMConfig
// gives the defaults.
func NewDDRMLDM(unet Denoiser, ae Autoencoder, low *Tensor, op Operator, y *Tensor, cfg DDRMLDMConfig) (*DDRMLDM, error) {
	if cfg.CorrectEvery < 0 || cfg.CorrectLast < 0 {
		return nil, fmt.Errorf("correct_every = %d and correct_last = %d: give 0 or more (0 and 0 correct the output only)", cfg.CorrectEvery, cfg.CorrectLast)
	}
	den, cond, err := ldmPrepare(unet, ae, low)
	if err != nil {
		return nil, err
	}
	if sched := unet.Info().Schedule; sched != nil {
		if err := cfg.Validate(sched.T); err != nil {
			return nil, err
		}
	}
	out := outputShape(ae, low)
	if in := op.InShape(); in != out {
		return nil, fmt.Errorf("the low-resolution input is %dx%d, which SRLDM (factor %d) restores to %dx%d, but the measurement's clean image is %dx%d; give a low-resolution image 1/%d the size of the output (see restore.LowResInput)",
			low.Shape.W, low.Shape.H, ae.Factor(), out.W, out.H, in.W, in.H, ae.Factor())
	}
	if y != nil && y.N != low.N {
		return nil, fmt.Errorf("%d measurements for %d low-resolution images; give one of each per image", y.N, low.N)
	}
	m, err := newMeasured(op, y, cfg.SigmaY)
	if err != nil {
		return nil, err
	}
	d, err := newDDIM("ddrm-ldm", den, low.N, latentShape(ae, low), DDIMConfig{Steps: cfg.Steps, Eta: cfg.Eta, Seed: cfg.Seed, FinalAlphaOne: cfg.FinalAlphaOne})
	if err != nil {
		return nil, err
	}
	return &DDRMLDM{DDIM: d, measured: m, ae: ae, etaB: cfg.EtaB, cond: cond, out: out, cfg: cfg}, nil
}

// Step implements Sampler. The last step also decodes and corrects the output, with ctx.
func (h *DDRMLDM) Step(ctx context.Context) (*StepInfo, error) {
	if !h.cfg.corrects(h.Index(), h.Len()) {
		return h.plainStep(ctx)
	}
	info, _, z0, err := h.predict(ctx)
	if err != nil {
		return nil, err
	}
	x0, err := decodeChecked(ctx, h.ae, z0, h.out)
	if err != nil {
		return nil, err
	}
	xc, x0Bar, cases, w := h.correct(x0, info.SigmaNext)
	zc, err := h.reencode(ctx, z0, x0, xc)
	if err != nil {
		return nil, err
	}
	// eps that makes z0_c the estimate from z_t, so that the update samples
	// DDIM's q(z_t' | z_t, z0 = z0_c).
	eps := NewTensor(zc.N, zc.Shape)
	sqrtAB, sqrt1mAB := math.Sqrt(info.AlphaBar), math.Sqrt(1-info.AlphaBar)
	for k, v := range h.x.Data {
		eps.Data[k] = float32((float64(v) - sqrtAB*float64(zc.Data[k])) / sqrt1mAB)
	}
	h.advance(info, zc, eps)
	info.X0Hat = z0
	info.PixelX0Hat = func() (*Tensor, error) { return x0, nil }
	info.Spectral = h.view(x0Bar, cases, float32s(w))
	h.corrected, h.last = xc, nil
	return info, h.finishRun(ctx)
}

// plainStep is a step without the correction: LDM's own, its z0_hat
// decoded only when asked for.
func (h *DDRMLDM) plainStep(ctx context.Context) (*StepInfo, error) {
	info, err := h.DDIM.Step(ctx)
	if err != nil {
		return nil, err
	}
	h.last, h.corrected = newLazyImage(ctx, h.ae, info.X0Hat, h.out), nil
	info.PixelX0Hat = h.last.get
	return info, h.finishRun(ctx)
}

// finishRun decodes and corrects the output after the last step.
func (h *DDRMLDM) finishRun(ctx context.Context) (err error) {
	if h.Done() {
		h.final, err = h.output(ctx)
	}
	return err
}

// correct applies step 3 of the hybrid at noise level sig to images x in
// [-1, 1]: it returns the corrected images, V^T x, each component's case
// and weight.
func (h *DDRMLDM) correct(x *Tensor, sig float64) (xc, xBar *Tensor, cases []ComponentCase, w []float64) {
	cases = h.cases(sig)
	w = make([]float64, len(cases))
	for k, c := range cases {
		w[k] = h.weight(c, float64(h.s[k]), sig)
	}
	xc, xBar = h.dataStep(x, w)
	return xc, xBar, cases, w
}

// reencode moves the latent z0, whose decoding is x0, by the encoder's
// image of the correction x0 -> xc: z0 + E(xc) - E(x0), both images clamped
// to [-1, 1] and encoded in one batch. Encoding xc alone would also replace
// z0 by E(D(z0)), which a small autoencoder's reconstruction error pulls
// away from z0 at every step; the difference cancels that error to first
// order, and with no correction (xc = x0) the latent chain is LDM's own.
func (h *DDRMLDM) reencode(ctx context.Context, z0, x0, xc *Tensor) (*Tensor, error) {
	both, err := Stack(xc, x0)
	if err != nil {
		return nil, err
	}
	e, err := h.ae.Encode(ctx, both.Clamp(-1, 1))
	if err != nil {
		return nil, err
	}
	if e.N != 2*z0.N || e.Shape != z0.Shape {
		return nil, fmt.Errorf("the encoder returned %dx%v for images %dx%v; expected latents of %v", e.N, e.Shape, both.N, both.Shape, z0.Shape)
	}
	if err := checkFinite(e.Data, "the encoded latent"); err != nil {
		return nil, err
	}
	n := len(z0.Data)
	zc := z0.Clone()
	for k := range zc.Data {
		zc.Data[k] += e.Data[k] - e.Data[n+k]
	}
	return zc, nil
}

// weight is how far the correction moves a component of the clean estimate
// towards y_bar, for singular value s at noise level sig: eta_b times the
// posterior-mean weight of y_bar against an estimate as uncertain as the
// noise level, (s sig)^2 / ((s sig)^2 + sigma_y^2), so eta_b itself for a
// noiseless y and none in the null space. DDRM's own weights are those of a
// noisy sample x_t', not of a clean estimate: they take a noisy y whole
// while the chain is noisier than it, which a clean estimate must not.
func (h *DDRMLDM) weight(c ComponentCase, s, sig float64) float64 {
	if c == Missing {
		return 0
	}
	v := s * sig * s * sig
	return h.etaB * v / (v + h.sigmaY*h.sigmaY)
}

// output decodes the final latent and corrects it at its noise level.
func (h *DDRMLDM) output(ctx context.Context) (*Tensor, error) {
	x, err := decodeChecked(ctx, h.ae, h.x, h.out)
	if err != nil {
		return nil, err
	}
	xc, _, _, _ := h.correct(x, h.sched.Sigma(h.next(len(h.seq)-1)))
	return xc, nil
}

// SetState implements Sampler; x is a latent.
func (h *DDRMLDM) SetState(index int, x *Tensor) error {
	if err := h.DDIM.SetState(index, x); err != nil {
		return err
	}
	h.corrected, h.final, h.last = nil, nil, nil
	return nil
}

// LowRes returns the conditioning image in [-1, 1]. It is shared: do not
// modify it.
func (h *DDRMLDM) LowRes() *Tensor { return h.cond }

// Result implements Sampler: the corrected decode(z_0) in [0, 1] when done,
// else the latest corrected x0 estimate. Decoding that Step has not done
// already runs without a context.
func (h *DDRMLDM) Result() (*Tensor, error) {
	switch {
	case h.Done() && h.final == nil:
		x, err := h.output(context.Background())
		if err != nil {
			return nil, err
		}
		h.final = x
		fallthrough
	case h.Done():
		return unitImage(h.final), nil
	case h.corrected != nil:
		return unitImage(h.corrected), nil
	case h.last != nil:
		x, err := h.last.get()
		if err != nil {
			return nil, err
		}
		return unitImage(x), nil
	}
	return nil, fmt.Errorf("ddrm-ldm: no estimate yet; take a step first")
}
