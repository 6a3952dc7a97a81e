package restore

import (
	"context"
	"fmt"
	"math"
)

// DiffPIRConfig holds the parameters of a DiffPIR run.
type DiffPIRConfig struct {
	// Steps is the number of network evaluations, on DiffPIR's quadratic
	// sequence (QuadSteps).
	Steps int
	// Lambda weighs the prior against the measurement in the data step:
	// rho_t = Lambda sigma_n^2 / sigma_bar_t^2.
	Lambda float64
	// Zeta is the share of fresh noise in each step's move (0 follows the
	// estimated noise alone, 1 is pure fresh noise).
	Zeta float64
	// SigmaY is the measurement noise standard deviation on the [0, 1] scale.
	SigmaY float64
	// Seed makes the run reproducible: the same seed gives bit-identical output.
	Seed uint64
}

// DefaultDiffPIRConfig returns lambda 7 and zeta 0.3, the values the
// reference fixes for its deblurring runs (yuanzhi-zhu/DiffPIR, main_ddpir.py
// with configs/deblur.yaml: lambda_ 1 times 7, zeta 0.1 times 3; its
// super-resolution run sweeps lambda from 2 to 12 at zeta 0.25), at 20
// steps, the study's number of network evaluations; the reference samples
// 100.
func DefaultDiffPIRConfig() DiffPIRConfig {
	return DiffPIRConfig{Steps: 20, Lambda: 7, Zeta: 0.3}
}

// Validate reports the first parameter outside its range for a schedule of T steps.
func (c DiffPIRConfig) Validate(T int) error {
	switch {
	case c.Steps < 1 || c.Steps > T:
		return fmt.Errorf("steps = %d is out of range; use 1..%d", c.Steps, T)
	case !(c.Lambda > 0 && c.Lambda <= 1e6):
		return fmt.Errorf("lambda = %g is out of range; use a value in (0, 1e6] (7 is the default; larger trusts the prior more)", c.Lambda)
	case !(c.Zeta >= 0 && c.Zeta <= 1):
		return fmt.Errorf("zeta = %g is out of range; use a value in [0, 1] (0.3 is the default)", c.Zeta)
	case !(c.SigmaY >= 0 && c.SigmaY < 10):
		return fmt.Errorf("sigma_y = %g is out of range; give the noise level on the [0, 1] scale, e.g. 0.05", c.SigmaY)
	}
	return nil
}

// diffPIRSigmaFloor is the reference's floor on the measurement noise that
// rho is computed from, so that a noiseless y still leaves the prior a
// weight (main_ddpir.py: sigma = max(0.001, noise_level_img)).
const diffPIRSigmaFloor = 0.001

// DiffPIR is a Denoising Diffusion models for Plug-and-play Image
// Restoration run (Zhu et al., CVPRW 2023; reference code
// yuanzhi-zhu/DiffPIR, main_ddpir.py) for a batch of measurements that
// share one operator. It implements Sampler. x_T is standard normal (the
// reference mixes the baseline in at sqrt(ab_999) = 0.006, which its noise
// swamps). Each step t -> t' computes:
//
//  1. x0_t = (x_t - sqrt(1 - ab) eps) / sqrt(ab), the denoiser's estimate
//     (the paper's Eq. 11);
//  2. the data step (Eq. 12), argmin_x ||y - H x||^2 + rho_t ||x - x0_t||^2
//     with rho_t = lambda sigma_n^2 / sigma_bar_t^2, sigma_bar_t =
//     sqrt(1 - ab) / sqrt(ab) and sigma_n = max(0.001, sigma_y) on the
//     [0, 1] scale, as the reference computes it (the minimiser does not
//     depend on the image scale). With H = U S V^T it is closed form per
//     spectral component: x0_hat_bar = x0_bar + w (y_bar - x0_bar) with w =
//     s^2 / (s^2 + rho_t), so (s^2 y_bar + rho_t x0_bar) / (s^2 + rho_t),
//     and x0_bar where s = 0;
//  3. eps_hat = (x_t - sqrt(ab) x0_hat) / sqrt(1 - ab) and the move of the
//     paper's Eq. 15, x' = sqrt(ab') x0_hat + sqrt(1 - ab') (sqrt(1 - zeta)
//     eps_hat + sqrt(zeta) z), z fresh noise.
//
// The last step (t = 0) goes to t = -1, where alpha_bar = 1, so the output
// is its x0_hat, data step included: the paper's Algorithm 1 returns x_0
// after the data step of t = 1, which holds that estimate plus noise of
// standard deviation sqrt(1 - ab_0) = 0.01. (The reference code evaluates
// the network once more at t = 0 and returns the state before that call.)
//
// StepInfo.X0Hat is the denoiser's x0_t; Spectral shows the data step's
// weights w; Result before the end returns the latest x0_hat.
type DiffPIR struct {
	*chain
	measured
	cfg DiffPIRConfig
}

// NewDiffPIR prepares a DiffPIR run restoring the measurements y (a batch
// of OutShape images in [0, 1]) with the prior den.
func NewDiffPIR(den Denoiser, op Operator, y *Tensor, cfg DiffPIRConfig) (*DiffPIR, error) {
	if err := validateFor(den, cfg.Validate); err != nil {
		return nil, err
	}
	m, err := newMeasured(op, y, cfg.SigmaY)
	if err != nil {
		return nil, err
	}
	c, err := newChain("diffpir", den, QuadSteps, cfg.Steps, y.N, op.InShape(), cfg.Seed)
	if err != nil {
		return nil, err
	}
	for b := range y.N {
		rng := c.imageNoise(0, b)
		xb := c.x.Item(b)
		for k := range xb {
			xb[k] = float32(rng.NormFloat64())
		}
	}
	return &DiffPIR{chain: c, measured: m, cfg: cfg}, nil
}

// rho is the data step's weight of the prior at time step t.
func (d *DiffPIR) rho(t int) float64 {
	sn := max(diffPIRSigmaFloor, d.cfg.SigmaY)
	sb := d.sched.Sigma(t)
	return d.cfg.Lambda * sn * sn / (sb * sb)
}

// Step implements Sampler.
func (d *DiffPIR) Step(ctx context.Context) (*StepInfo, error) {
	info, _, x0, err := d.predict(ctx)
	if err != nil {
		return nil, err
	}
	cases := d.cases(info.SigmaNext)
	w := make([]float64, len(cases))
	rho := d.rho(info.T)
	for k := range w {
		if d.observed(k) {
			s2 := float64(d.s[k]) * float64(d.s[k])
			w[k] = s2 / (s2 + rho)
		}
	}
	xc, x0Bar := d.dataStep(x0, w)
	sqrtAB, sqrt1mAB := math.Sqrt(info.AlphaBar), math.Sqrt(1-info.AlphaBar)
	epsHat := NewTensor(xc.N, xc.Shape)
	for k, v := range d.x.Data {
		epsHat.Data[k] = float32((float64(v) - sqrtAB*float64(xc.Data[k])) / sqrt1mAB)
	}
	sig := math.Sqrt(1 - info.AlphaBarNext)
	next := d.move(info, xc, epsHat, sig*math.Sqrt(1-d.cfg.Zeta), sig*math.Sqrt(d.cfg.Zeta))
	info.Spectral = d.view(x0Bar, cases, float32s(w))
	d.finish(info, x0, next)
	d.lastX0 = xc
	return info, nil
}
