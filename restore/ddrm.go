package restore

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
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

// DDRM is a Denoising Diffusion Restoration Models run (Kawar et al. 2022)
// for a batch of measurements y = H x + sigma_y z that share one operator.
// It implements Sampler.
type DDRM struct {
	*chain
	measured
	cfg  DDRMConfig
	xBar *Tensor // V^T x_t / sqrt(alpha_bar_t), the variance-exploding state
}

// NewDDRM prepares a DDRM run restoring the measurements y (a batch of
// OutShape images in [0, 1]) with the prior den. The initial sample is drawn
// as DDRM prescribes, from y where the measurement is informative and from
// pure noise elsewhere.
func NewDDRM(den Denoiser, op Operator, y *Tensor, cfg DDRMConfig) (*DDRM, error) {
	if err := validateFor(den, cfg.Validate); err != nil {
		return nil, err
	}
	m, err := newMeasured(op, y, cfg.SigmaY)
	if err != nil {
		return nil, err
	}
	c, err := newChain("ddrm", den, SkipSteps, cfg.Steps, y.N, op.InShape(), cfg.Seed)
	if err != nil {
		return nil, err
	}
	d := &DDRM{chain: c, measured: m, cfg: cfg}
	d.initialise()
	return d, nil
}

func (d *DDRM) initialise() {
	in := d.op.InShape()
	t := d.seq[0]
	sigT := d.sched.Sigma(t)
	sqrtAB := math.Sqrt(d.sched.AlphaBar(t))
	n := d.yBar.N
	d.xBar = NewTensor(n, in)
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
	info, _, x0, err := d.predict(ctx)
	if err != nil {
		return nil, err
	}
	sig, sigN := info.Sigma, info.SigmaNext
	cases, w := d.newView()
	x0Bar, next, nextBar := d.newTensor(), d.newTensor(), d.newTensor()
	for b := range d.x.N {
		d.op.Vt(x0Bar.Item(b), x0.Item(b))
		d.update(nextBar.Item(b), x0Bar.Item(b), d.xBar.Item(b), d.yBar.Item(b), cases, w, sig, sigN, info.Index+1, b)
		xn := next.Item(b)
		d.op.V(xn, nextBar.Item(b))
		scale(xn, math.Sqrt(info.AlphaBarNext))
	}
	info.Spectral = d.view(x0Bar, cases, w)
	// The old spectral state is nobody's but this run's.
	d.spare = append(d.spare, d.xBar)
	d.xBar = nextBar
	d.finish(info, x0, next)
	return info, nil
}

// update computes the next variance-exploding spectral state of one image
// from x0_bar = V^T x0_hat, following DDRM's three cases.
func (d *DDRM) update(dst, x0Bar, xBar, yBar []float32, cases []ComponentCase, weights []float32, sig, sigN float64, step, item int) {
	eta, etaB, sy := d.cfg.Eta, d.cfg.EtaB, d.sigmaY
	direct := math.Sqrt(1 - eta*eta)
	// The first image also writes the step's cases and weights, which every
	// image shares.
	view := item == 0
	forChunks(len(dst), func(chunk, lo, hi int) {
		if sigN == 0 {
			// Last step: the sample is the final estimate itself.
			copy(dst[lo:hi], x0Bar[lo:hi])
		}
		var rng *rand.Rand
		if sigN > 0 {
			rng = d.noise(step, item, chunk)
		}
		for k := lo; k < hi; k++ {
			s := float64(d.s[k])
			c := LessNoisy
			switch {
			case !d.observed(k):
				c = Missing
			case s*sigN > sy:
				c = NoisierThanY
			}
			w := ddrmWeight(c, s, sigN, sy, eta, etaB)
			if view {
				cases[k], weights[k] = c, float32(w)
			}
			if rng == nil {
				continue
			}
			z := rng.NormFloat64()
			x0, y := float64(x0Bar[k]), float64(yBar[k])
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

// SetState implements Sampler.
func (d *DDRM) SetState(index int, x *Tensor) error {
	if err := d.chain.SetState(index, x); err != nil {
		return err
	}
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

func scale(v []float32, f float64) {
	for i := range v {
		v[i] = float32(float64(v[i]) * f)
	}
}
