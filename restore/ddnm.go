package restore

import (
	"context"
	"fmt"
	"math"
)

// DDNMConfig holds the parameters of a DDNM or DDNM+ run.
type DDNMConfig struct {
	// Steps is the number of descending steps, 1..T; with time travel the
	// network is evaluated more often (see TravelLength).
	Steps int
	// Eta splits each step's noise between fresh noise (eta) and the
	// model's own eps (sqrt(1 - eta^2)), as in DDIM.
	Eta float64
	// TravelLength and TravelRepeat are DDNM+'s time travel: at every
	// TravelLength-th step the run goes back TravelLength steps, re-noising
	// its estimate, TravelRepeat - 1 times. 1 and 1 travel nowhere.
	TravelLength, TravelRepeat int
	// SigmaY is the measurement noise standard deviation on the [0, 1] scale.
	SigmaY float64
	// Seed makes the run reproducible: the same seed gives bit-identical output.
	Seed uint64
}

// DefaultDDNMConfig returns the reference code's settings (wyhuai/DDNM,
// main.py and configs/*.yml: eta 0.85, no time travel) at 20 steps, the
// study's number of network evaluations; the reference samples 100.
func DefaultDDNMConfig() DDNMConfig {
	return DDNMConfig{Steps: 20, Eta: 0.85, TravelLength: 1, TravelRepeat: 1}
}

// Validate reports the first parameter outside its range for a schedule of T steps.
func (c DDNMConfig) Validate(T int) error {
	switch {
	case c.Steps < 1 || c.Steps > T:
		return fmt.Errorf("steps = %d is out of range; use 1..%d", c.Steps, T)
	case !(c.Eta >= 0 && c.Eta <= 1):
		return fmt.Errorf("eta = %g is out of range; use a value in [0, 1] (0.85 is DDNM's default)", c.Eta)
	case c.TravelLength < 1 || c.TravelLength > 1000:
		return fmt.Errorf("travel_length = %d is out of range; use 1..1000 (1 travels nowhere)", c.TravelLength)
	case c.TravelRepeat < 1 || c.TravelRepeat > 100:
		return fmt.Errorf("travel_repeat = %d is out of range; use 1..100 (1 travels nowhere)", c.TravelRepeat)
	case c.TravelRepeat > 1 && c.TravelLength >= c.Steps:
		return fmt.Errorf("travel_length = %d is not below steps = %d: time travel needs room to go back; shorten it", c.TravelLength, c.Steps)
	case !(c.SigmaY >= 0 && c.SigmaY < 10):
		return fmt.Errorf("sigma_y = %g is out of range; give the noise level on the [0, 1] scale, e.g. 0.05", c.SigmaY)
	}
	return nil
}

// travelSteps is DDNM's time-travel schedule (RePaint's get_schedule_jump,
// in wyhuai/DDNM functions/svd_ddnm.py) as the time steps at which the
// network runs. The reference's index sequence descends from steps-1 to
// -1; on reaching a multiple j of length below steps - length it climbs
// back length indices, repeat - 1 times per such j. Each index that the
// next one is below is a network evaluation; a climb re-noises the last
// estimate x0_t once per index climbed, each re-noising discarding the one
// before, so only its top counts: an evaluation followed by one at a
// larger t is a step that travels back. Index i is time step i * (T / steps).
func travelSteps(T, steps, length, repeat int) []int {
	jumps := map[int]int{}
	for j := 0; j < steps-length; j += length {
		jumps[j] = repeat - 1
	}
	var idx []int
	for i := steps; i >= 1; {
		i--
		idx = append(idx, i)
		if jumps[i] > 0 {
			jumps[i]--
			for range length {
				i++
				idx = append(idx, i)
			}
		}
	}
	idx = append(idx, -1)
	skip := T / steps
	var seq []int
	for p := 0; p+1 < len(idx); p++ {
		if idx[p+1] < idx[p] {
			seq = append(seq, idx[p]*skip)
		}
	}
	return seq
}

// DDNM is a Denoising Diffusion Null-space Model run (Wang, Yu and Zhang,
// ICLR 2023; reference code wyhuai/DDNM, functions/svd_ddnm.py) for a batch
// of measurements y = H x + sigma_y z sharing one operator. It implements
// Sampler. The time steps are DDRM's (SkipSteps); x_T is standard normal.
// Each step t -> t' computes x0_t = (x_t - sqrt(1 - ab) eps) / sqrt(ab)
// (the paper's Eq. 12, not clipped), then
//
//   - DDNM (NewDDNM, for noiseless y): the range-null-space decomposition
//     x0_hat = x0_t - H^+ (H x0_t - y) = H^+ y + (I - H^+ H) x0_t (Eq. 13),
//     and x' = sqrt(ab') x0_hat + sqrt(1 - ab') (eta z + sqrt(1 - eta^2)
//     eps), z fresh noise and eps the model's output;
//   - DDNM+ (NewDDNMPlus, for noisy y): with a = sqrt(ab') and sigma_t =
//     sqrt(1 - ab'), the correction is scaled per spectral component,
//     x0_hat = x0_t - Sigma_t H^+ (H x0_t - y) (Eq. 17) with lambda_k = 1
//     where sigma_t >= a sigma_y / s_k and s_k sigma_t sqrt(1 - eta^2) /
//     (a sigma_y) where it is smaller, and the noise of the move too (the
//     reference's Lambda_noise, Eq. 51): x'_bar = a x0_hat_bar + d1 z_bar +
//     d2 eps_bar with (d1, d2) = (sigma_t eta, 0) where sigma_t < a sigma_y
//     / s_k, (sqrt(sigma_t^2 - a^2 sigma_y^2 / s_k^2), 0) where it is
//     larger, and DDNM's (sigma_t eta, sigma_t sqrt(1 - eta^2)) where s_k =
//     0 (and, as in the reference, at equality). sigma_y here is on the
//     [-1, 1] scale, twice the configured one, as the reference doubles it.
//
// A step followed by one at a larger t travels back in time: it re-noises
// x0_t, x' = sqrt(ab') x0_t + sqrt(1 - ab') z, instead of moving down (see
// travelSteps). Len counts network evaluations, time travel included. The
// last step goes to t = -1, so the output is the last x0_hat, which for
// DDNM agrees with a noiseless y up to float rounding (and clamping to
// [0, 1]).
//
// StepInfo.X0Hat is the network's x0_t; Spectral shows the data step's
// weights (lambda_k, 1 for DDNM), and Result before the end returns the
// latest corrected x0_hat. DDNM+ draws its noise in the spectral space,
// DDNM in pixel space.
type DDNM struct {
	*chain
	measured
	cfg  DDNMConfig
	plus bool
	// xtBar is V^T x_t (DDNM+ only), from which V^T eps follows without
	// another transform.
	xtBar *Tensor
	// corrected is the latest x0_hat after the data step; for DDNM+ it is
	// kept in the spectral layout (correctedBar) and mapped back on demand.
	corrected, correctedBar *Tensor
}

// NewDDNM prepares a DDNM run restoring the measurements y (a batch of
// OutShape images in [0, 1]) with the prior den. It is meant for noiseless
// measurements: a noisy y is reproduced, noise and all, in the range space.
func NewDDNM(den Denoiser, op Operator, y *Tensor, cfg DDNMConfig) (*DDNM, error) {
	return newDDNM("ddnm", false, den, op, y, cfg)
}

// NewDDNMPlus prepares a DDNM+ run, for measurements with noise cfg.SigmaY.
// With SigmaY = 0 it is DDNM with its noise drawn in the spectral space.
func NewDDNMPlus(den Denoiser, op Operator, y *Tensor, cfg DDNMConfig) (*DDNM, error) {
	return newDDNM("ddnm+", true, den, op, y, cfg)
}

func newDDNM(what string, plus bool, den Denoiser, op Operator, y *Tensor, cfg DDNMConfig) (*DDNM, error) {
	if err := validateFor(den, cfg.Validate); err != nil {
		return nil, err
	}
	m, err := newMeasured(op, y, cfg.SigmaY)
	if err != nil {
		return nil, err
	}
	in, info := op.InShape(), den.Info()
	if err := checkPrior(what, info, y.N, in); err != nil {
		return nil, err
	}
	seq := travelSteps(info.Schedule.T, cfg.Steps, cfg.TravelLength, cfg.TravelRepeat)
	d := &DDNM{chain: newChainOf(what, den, seq, -1, y.N, in, cfg.Seed), measured: m, cfg: cfg, plus: plus}
	if plus {
		d.xtBar = NewTensor(y.N, in)
		for b := range y.N {
			d.spectralNoise(d.xtBar.Item(b), 0, b, func(int) (float64, float64) { return 1, 0 }, nil)
			op.V(d.x.Item(b), d.xtBar.Item(b))
		}
	} else {
		for b := range y.N {
			rng := d.imageNoise(0, b)
			xb := d.x.Item(b)
			for k := range xb {
				xb[k] = float32(rng.NormFloat64())
			}
		}
	}
	return d, nil
}

// spectralNoise adds coef(k) = (d1, d2) times (z_k, eps_bar_k) to dst[k],
// z from the spectral streams of the given step and image, in parallel
// over chunks; epsBar may be nil when every d2 is 0.
func (d *DDNM) spectralNoise(dst []float32, step, item int, coef func(k int) (float64, float64), epsBar []float32) {
	forChunks(len(dst), func(chunk, lo, hi int) {
		rng := d.noise(step, item, chunk)
		for k := lo; k < hi; k++ {
			d1, d2 := coef(k)
			v := float64(dst[k]) + d1*rng.NormFloat64()
			if d2 != 0 {
				v += d2 * float64(epsBar[k])
			}
			dst[k] = float32(v)
		}
	})
}

// lambda is DDNM+'s scaling of the range-space correction of component k
// at the next step's a = sqrt(ab') and sigma_t = sqrt(1 - ab'); 1 for DDNM.
func (d *DDNM) lambda(k int, a, sigT float64) float64 {
	if !d.observed(k) {
		return 0
	}
	s := float64(d.s[k])
	if !d.plus || d.sigmaY == 0 || a == 0 || sigT >= a*d.sigmaY/s {
		return 1
	}
	return s * sigT * math.Sqrt(1-d.cfg.Eta*d.cfg.Eta) / (a * d.sigmaY)
}

// noiseCoef is DDNM+'s (d1, d2) for component k.
func (d *DDNM) noiseCoef(k int, a, sigT float64) (float64, float64) {
	eta := d.cfg.Eta
	if d.observed(k) && d.sigmaY != 0 && a != 0 {
		lim := a * d.sigmaY / float64(d.s[k])
		switch {
		case sigT < lim:
			return sigT * eta, 0
		case sigT > lim:
			return math.Sqrt(sigT*sigT - lim*lim), 0
		}
	}
	return sigT * eta, sigT * math.Sqrt(1-eta*eta)
}

// Step implements Sampler.
func (d *DDNM) Step(ctx context.Context) (*StepInfo, error) {
	info, eps, x0, err := d.predict(ctx)
	if err != nil {
		return nil, err
	}
	a, sigT := math.Sqrt(info.AlphaBarNext), math.Sqrt(1-info.AlphaBarNext)
	step := info.Index + 1
	cases := d.cases(info.SigmaNext)
	w := make([]float64, len(cases))
	if info.TNext > info.T {
		// Time travel: re-noise x0_t to the higher level; no data step.
		next := d.renoise(x0, a, sigT, step)
		x0Bar := NewTensor(x0.N, x0.Shape)
		for b := range x0.N {
			d.op.Vt(x0Bar.Item(b), x0.Item(b))
		}
		info.Spectral = d.view(x0Bar, cases, float32s(w))
		d.finish(info, x0, next)
		return info, nil
	}
	for k := range w {
		w[k] = d.lambda(k, a, sigT)
	}
	if !d.plus {
		xc, x0Bar := d.dataStep(x0, w)
		next := d.move(info, xc, eps, sigT*math.Sqrt(1-d.cfg.Eta*d.cfg.Eta), sigT*d.cfg.Eta)
		info.Spectral = d.view(x0Bar, cases, float32s(w))
		d.finish(info, x0, next)
		d.corrected, d.lastX0 = xc, xc
		return info, nil
	}
	sqrtAB, sqrt1mAB := math.Sqrt(info.AlphaBar), math.Sqrt(1-info.AlphaBar)
	x0Bar := NewTensor(x0.N, x0.Shape)
	cBar := NewTensor(x0.N, x0.Shape)
	nextBar := NewTensor(x0.N, x0.Shape)
	next := NewTensor(x0.N, x0.Shape)
	epsBar := make([]float32, x0.Shape.Len())
	for b := range x0.N {
		xb, cb, nb, yb, tb := x0Bar.Item(b), cBar.Item(b), nextBar.Item(b), d.yBar.Item(b), d.xtBar.Item(b)
		d.op.Vt(xb, x0.Item(b))
		for k, v := range xb {
			c := float64(v) + w[k]*float64(yb[k]-v)
			cb[k] = float32(c)
			nb[k] = float32(a * c)
			epsBar[k] = float32((float64(tb[k]) - sqrtAB*float64(v)) / sqrt1mAB)
		}
		if sigT > 0 {
			d.spectralNoise(nb, step, b, func(k int) (float64, float64) { return d.noiseCoef(k, a, sigT) }, epsBar)
		}
		d.op.V(next.Item(b), nb)
	}
	info.Spectral = d.view(x0Bar, cases, float32s(w))
	d.xtBar = nextBar
	d.finish(info, x0, next)
	d.correctedBar, d.corrected, d.lastX0 = cBar, nil, nil
	return info, nil
}

// renoise is time travel's x' = a x0 + sigma_t z.
func (d *DDNM) renoise(x0 *Tensor, a, sigT float64, step int) *Tensor {
	next := NewTensor(x0.N, x0.Shape)
	if !d.plus {
		for b := range x0.N {
			rng := d.imageNoise(step, b)
			xn, xb := next.Item(b), x0.Item(b)
			for k := range xn {
				xn[k] = float32(a*float64(xb[k]) + sigT*rng.NormFloat64())
			}
		}
		return next
	}
	nextBar := NewTensor(x0.N, x0.Shape)
	for b := range x0.N {
		nb := nextBar.Item(b)
		d.op.Vt(nb, x0.Item(b))
		scale(nb, a)
		d.spectralNoise(nb, step, b, func(int) (float64, float64) { return sigT, 0 }, nil)
		d.op.V(next.Item(b), nb)
	}
	d.xtBar = nextBar
	return next
}

// SetState implements Sampler.
func (d *DDNM) SetState(index int, x *Tensor) error {
	if err := d.chain.SetState(index, x); err != nil {
		return err
	}
	d.corrected, d.correctedBar = nil, nil
	if index == len(d.seq) {
		d.lastX0 = d.x
	}
	if d.plus {
		d.xtBar = NewTensor(x.N, x.Shape)
		for b := range x.N {
			d.op.Vt(d.xtBar.Item(b), d.x.Item(b))
		}
	}
	return nil
}

// Result implements Sampler: the final sample when done, otherwise the
// latest x0_hat after the data step.
func (d *DDNM) Result() (*Tensor, error) {
	if !d.Done() && d.corrected == nil && d.correctedBar != nil {
		d.corrected = NewTensor(d.correctedBar.N, d.correctedBar.Shape)
		for b := range d.corrected.N {
			d.op.V(d.corrected.Item(b), d.correctedBar.Item(b))
		}
		d.lastX0 = d.corrected
	}
	return d.chain.Result()
}
