package restore

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
)

// DDRMConfig holds the parameters of a DDRM run.
type DDRMConfig struct {
	// Steps is the number of network evaluations, 1..T.
	Steps int
	// Eta controls the noise injected in components the measurement does
	// not pin down (0 = deterministic, 1 = fully stochastic).
	Eta float64
	// EtaB weighs the measurement against the estimate in components that
	// are noisier than it (1 = take the measurement).
	EtaB float64
	// SigmaY is the measurement noise standard deviation on the [0, 1] scale.
	SigmaY float64
	// Seed makes the run reproducible: the same seed gives bit-identical output.
	Seed uint64
}

// DefaultDDRMConfig returns the DDRM paper's settings: 20 steps, eta 0.85,
// eta_b 1, a noiseless measurement and seed 0.
func DefaultDDRMConfig() DDRMConfig {
	return DDRMConfig{Steps: 20, Eta: 0.85, EtaB: 1}
}

// Validate reports the first parameter outside its range for a schedule of T steps.
func (c DDRMConfig) Validate(T int) error {
	switch {
	case c.Steps < 1 || c.Steps > T:
		return fmt.Errorf("steps = %d is out of range; use 1..%d", c.Steps, T)
	case !(c.Eta >= 0 && c.Eta <= 1):
		return fmt.Errorf("eta = %g is out of range; use a value in [0, 1] (0.85 is DDRM's default)", c.Eta)
	case !(c.EtaB >= 0 && c.EtaB <= 1):
		return fmt.Errorf("eta_b = %g is out of range; use a value in [0, 1] (1 is DDRM's default)", c.EtaB)
	case !(c.SigmaY >= 0 && c.SigmaY < 10):
		return fmt.Errorf("sigma_y = %g is out of range; give the noise level on the [0, 1] scale, e.g. 0.05", c.SigmaY)
	}
	return nil
}

// singularCutoff is the fraction of the largest singular value below which
// a component counts as unobserved: dividing the measurement by a smaller
// value would amplify float32 rounding more than the component is worth.
const singularCutoff = 1e-4

// DDRM is a Denoising Diffusion Restoration Models run (Kawar et al. 2022)
// for a batch of measurements y = H x + sigma_y z that share one operator.
// It implements Sampler.
type DDRM struct {
	den   Denoiser
	op    Operator
	cfg   DDRMConfig
	sched *Schedule
	seq   []int
	measured
	x      *Tensor // current sample x_t
	xBar   *Tensor // V^T x_t / sqrt(alpha_bar_t), the variance-exploding state
	index  int
	lastX0 *Tensor
}

// NewDDRM prepares a DDRM run restoring the measurements y (a batch of
// OutShape images in [0, 1]) with the prior den. The initial sample is drawn
// as DDRM prescribes, from y where the measurement is informative and from
// pure noise elsewhere.
func NewDDRM(den Denoiser, op Operator, y *Tensor, cfg DDRMConfig) (*DDRM, error) {
	info := den.Info()
	if info.Schedule == nil {
		return nil, fmt.Errorf("model %q has no noise schedule; its manifest must give one", info.Name)
	}
	if err := cfg.Validate(info.Schedule.T); err != nil {
		return nil, err
	}
	in, out := op.InShape(), op.OutShape()
	if y.Shape != out {
		return nil, fmt.Errorf("measurement of shape %v does not match the operator's %v; degrade with the same task and image size", y.Shape, out)
	}
	if y.N < 1 {
		return nil, fmt.Errorf("empty batch of measurements")
	}
	if info.Channels != in.C {
		return nil, fmt.Errorf("model %q takes %d channels but the image has %d", info.Name, info.Channels, in.C)
	}
	if info.CondChannels > 0 {
		return nil, fmt.Errorf("model %q is conditional (it also reads a %d-channel image, like an SRLDM UNet); DDRM needs an unconditional prior: use it with the ldm or ddrm-ldm methods", info.Name, info.CondChannels)
	}
	if m := info.SizeMultiple; m > 1 && (in.H%m != 0 || in.W%m != 0) {
		return nil, fmt.Errorf("model %q needs image sides divisible by %d, got %dx%d; crop or pad the image", info.Name, m, in.W, in.H)
	}
	if err := checkFinite(y.Data, "the measurement"); err != nil {
		return nil, err
	}
	seq, err := info.Schedule.DDRMTimesteps(cfg.Steps)
	if err != nil {
		return nil, err
	}
	d := &DDRM{den: den, op: op, cfg: cfg, sched: info.Schedule, seq: seq, measured: newMeasured(op, y, cfg.SigmaY)}
	d.initialise()
	return d, nil
}

// measured is a measurement seen in its operator's spectral space, as DDRM
// and DDRMLDM use it.
type measured struct {
	sigmaY float64 // in [-1, 1] space
	s      []float32
	cut    float32 // singular values at or below cut count as unobserved
	y      *Tensor // the measurement in [-1, 1] space
	yBar   *Tensor // U^T y / s in spectral layout, 0 where unobserved
}

// newMeasured maps y (in [0, 1], noise sigmaY on that scale) to [-1, 1] and
// computes y_bar. Since H is linear, H(2x - 1) = 2 H x - H 1, so the signed
// measurement is 2 y - H 1.
func newMeasured(op Operator, y *Tensor, sigmaY float64) measured {
	m := measured{sigmaY: 2 * sigmaY, s: op.Singulars()}
	for _, v := range m.s {
		m.cut = max(m.cut, v*singularCutoff)
	}
	in, out := op.InShape(), op.OutShape()
	ones := make([]float32, in.Len())
	for i := range ones {
		ones[i] = 1
	}
	h1 := make([]float32, out.Len())
	ApplyH(op, h1, ones)
	m.yBar = NewTensor(y.N, in)
	m.y = NewTensor(y.N, out)
	for b := range y.N {
		signed := m.y.Item(b)
		for i, v := range y.Item(b) {
			signed[i] = 2*v - h1[i]
		}
		yb := m.yBar.Item(b)
		op.Ut(yb, signed)
		for k := range yb {
			if m.observed(k) {
				yb[k] /= m.s[k]
			} else {
				yb[k] = 0
			}
		}
	}
	return m
}

// observed reports whether component k carries measurement information.
func (m *measured) observed(k int) bool { return m.s[k] > m.cut }

// noiseChunk is the number of spectral components that share one noise
// stream. Chunks have independent streams, so they are drawn in parallel
// and the result does not depend on how many run at once.
const noiseChunk = 1 << 14

// noise returns the standard normal source of one chunk of components of
// one image at one step; step 0 is the initialisation. Keying the stream by
// step makes replays follow the original run.
func (d *DDRM) noise(step, item, chunk int) *rand.Rand {
	return rand.New(rand.NewPCG(d.cfg.Seed, uint64(step)<<40|uint64(item)<<20|uint64(chunk)))
}

// forChunks calls fn(chunk, lo, hi) for the chunks of n components,
// spreading them over the available cores.
func forChunks(n int, fn func(chunk, lo, hi int)) {
	chunks := (n + noiseChunk - 1) / noiseChunk
	workers := min(runtime.GOMAXPROCS(0), chunks)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for c := w; c < chunks; c += workers {
				fn(c, c*noiseChunk, min(n, (c+1)*noiseChunk))
			}
		})
	}
	wg.Wait()
}

func (d *DDRM) initialise() {
	in := d.op.InShape()
	t := d.seq[0]
	sigT := d.sched.Sigma(t)
	sqrtAB := math.Sqrt(d.sched.AlphaBar(t))
	n := d.yBar.N
	d.xBar = NewTensor(n, in)
	d.x = NewTensor(n, in)
	for b := range n {
		xb, yb := d.xBar.Item(b), d.yBar.Item(b)
		forChunks(len(xb), func(chunk, lo, hi int) {
			rng := d.noise(0, b, chunk)
			for k := lo; k < hi; k++ {
				z := rng.NormFloat64()
				s := float64(d.s[k])
				if d.observed(k) && s*sigT > d.sigmaY {
					xb[k] = float32(float64(yb[k]) + math.Sqrt(sigT*sigT-d.sigmaY*d.sigmaY/(s*s))*z)
				} else {
					xb[k] = float32(sigT * z)
				}
			}
		})
		xt := d.x.Item(b)
		d.op.V(xt, xb)
		scale(xt, sqrtAB)
	}
}

// Step implements Sampler.
func (d *DDRM) Step(ctx context.Context) (*StepInfo, error) {
	if d.Done() {
		return nil, fmt.Errorf("ddrm: all %d steps are done", len(d.seq))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	i := d.index
	t, tn := d.seq[i], -1
	if i+1 < len(d.seq) {
		tn = d.seq[i+1]
	}
	ab, abn := d.sched.AlphaBar(t), d.sched.AlphaBar(tn)
	sig, sigN := d.sched.Sigma(t), d.sched.Sigma(tn)
	info := &StepInfo{Index: i, Count: len(d.seq), T: t, TNext: tn, AlphaBar: ab, AlphaBarNext: abn, Sigma: sig, SigmaNext: sigN}

	ts := make([]int, d.x.N)
	for b := range ts {
		ts[b] = t
	}
	eps, err := d.den.PredictEps(ctx, d.x, ts)
	if err != nil {
		return nil, err
	}
	if eps.N != d.x.N || eps.Shape != d.x.Shape {
		return nil, fmt.Errorf("model %q returned shape %dx%v for input %dx%v", d.den.Info().Name, eps.N, eps.Shape, d.x.N, d.x.Shape)
	}
	if err := checkFinite(eps.Data, fmt.Sprintf("the output of model %q at step t=%d", d.den.Info().Name, t)); err != nil {
		return nil, fmt.Errorf("%w; the model file may be corrupt or incompatible", err)
	}
	x0 := NewTensor(d.x.N, d.x.Shape)
	sqrtAB, sqrt1mAB := math.Sqrt(ab), math.Sqrt(1-ab)
	for k, v := range d.x.Data {
		x0.Data[k] = float32((float64(v) - sqrt1mAB*float64(eps.Data[k])) / sqrtAB)
	}

	cases := d.cases(sigN)
	x0Bar := NewTensor(d.x.N, d.x.Shape)
	next := NewTensor(d.x.N, d.x.Shape)
	nextBar := NewTensor(d.x.N, d.x.Shape)
	for b := range d.x.N {
		d.op.Vt(x0Bar.Item(b), x0.Item(b))
		d.update(nextBar.Item(b), x0Bar.Item(b), d.xBar.Item(b), d.yBar.Item(b), cases, sig, sigN, i+1, b)
		xn := next.Item(b)
		d.op.V(xn, nextBar.Item(b))
		scale(xn, math.Sqrt(abn))
	}

	info.Xt, info.X0Hat, info.XNext = d.x, x0, next
	info.Spectral = &SpectralView{X0HatBar: x0Bar, YBar: d.yBar, Singulars: d.s, Cases: cases, SigmaY: d.sigmaY}
	d.x, d.xBar, d.lastX0 = next, nextBar, x0
	d.index++
	return info, nil
}

// cases classifies every component for a step ending at noise level sigN.
func (m *measured) cases(sigN float64) []ComponentCase {
	c := make([]ComponentCase, len(m.s))
	for k, s := range m.s {
		switch {
		case !m.observed(k):
			c[k] = Missing
		case float64(s)*sigN > m.sigmaY:
			c[k] = NoisierThanY
		default:
			c[k] = LessNoisy
		}
	}
	return c
}

// update computes the next variance-exploding spectral state of one image
// from x0_bar = V^T x0_hat, following DDRM's three cases.
func (d *DDRM) update(dst, x0Bar, xBar, yBar []float32, cases []ComponentCase, sig, sigN float64, step, item int) {
	if sigN == 0 {
		// Last step: the sample is the final estimate itself.
		copy(dst, x0Bar)
		return
	}
	eta, etaB, sy := d.cfg.Eta, d.cfg.EtaB, d.sigmaY
	direct := math.Sqrt(1 - eta*eta)
	forChunks(len(cases), func(chunk, lo, hi int) {
		rng := d.noise(step, item, chunk)
		for k := lo; k < hi; k++ {
			c := cases[k]
			z := rng.NormFloat64()
			x0, y := float64(x0Bar[k]), float64(yBar[k])
			s := float64(d.s[k])
			w := ddrmWeight(c, s, sigN, sy, eta, etaB)
			var v float64
			switch c {
			case NoisierThanY:
				v = x0 + w*(y-x0) + math.Sqrt(sigN*sigN-etaB*etaB*sy*sy/(s*s))*z
			case LessNoisy:
				v = x0 + w*(y-x0) + eta*sigN*z
			case Missing:
				// V^T eps = (x_bar_t - x0_bar) / sigma_t: the DDIM direction.
				epsBar := (float64(xBar[k]) - x0) / sig
				v = x0 + direct*sigN*epsBar + eta*sigN*z
			}
			dst[k] = float32(v)
		}
	})
}

// ddrmWeight is how far DDRM's update moves component x0_bar of x0_hat
// towards y_bar on average: the update's mean is x0_bar + w (y_bar - x0_bar),
// with w = eta_b where the sample is noisier than y, sqrt(1 - eta^2) s
// sigma_next / sigma_y where it is less noisy, and 0 where y says nothing.
// A noiseless y (sigma_y = 0) is less noisy only at sigma_next = 0, where
// w is eta_b, the limit of the noisier case.
func ddrmWeight(c ComponentCase, s, sigN, sigmaY, eta, etaB float64) float64 {
	switch {
	case c == NoisierThanY || c == LessNoisy && sigmaY == 0:
		return etaB
	case c == LessNoisy:
		return math.Sqrt(1-eta*eta) * sigN * s / sigmaY
	}
	return 0
}

// Done implements Sampler.
func (d *DDRM) Done() bool { return d.index >= len(d.seq) }

// Index implements Sampler.
func (d *DDRM) Index() int { return d.index }

// Len implements Sampler.
func (d *DDRM) Len() int { return len(d.seq) }

// Measurement returns the measurement in the sampler's [-1, 1] space,
// 2 y - H 1. It is shared: do not modify it.
func (d *DDRM) Measurement() *Tensor { return d.y }

// Timesteps returns the time steps the run visits, in order.
func (d *DDRM) Timesteps() []int { return append([]int(nil), d.seq...) }

// State implements Sampler.
func (d *DDRM) State() *Tensor { return d.x.Clone() }

// SetState implements Sampler.
func (d *DDRM) SetState(index int, x *Tensor) error {
	if err := checkNewState(index, len(d.seq), x, d.x); err != nil {
		return err
	}
	d.x, d.index, d.lastX0 = x.Clone(), index, nil
	if index == len(d.seq) {
		d.lastX0 = d.x
		return nil
	}
	inv := 1 / math.Sqrt(d.sched.AlphaBar(d.seq[index]))
	d.xBar = NewTensor(x.N, x.Shape)
	for b := range x.N {
		xb := d.xBar.Item(b)
		d.op.Vt(xb, d.x.Item(b))
		scale(xb, inv)
	}
	return nil
}

// Result implements Sampler.
func (d *DDRM) Result() (*Tensor, error) {
	if d.Done() {
		return unitImage(d.x), nil
	}
	if d.lastX0 == nil {
		return nil, fmt.Errorf("ddrm: no estimate yet; take a step first")
	}
	return unitImage(d.lastX0), nil
}

func scale(v []float32, f float64) {
	for i := range v {
		v[i] = float32(float64(v[i]) * f)
	}
}
