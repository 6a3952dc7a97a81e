package restore

import (
	"context"
	"errors"
	"math"
)

// Sampler is a diffusion restoration run that advances one step at a time.
// Notebooks, the REPL and Run are all built on it.
type Sampler interface {
	// Step takes the next step and describes it. Calling Step when Done
	// reports true returns an error.
	Step(ctx context.Context) (*StepInfo, error)
	// Done reports whether every step has been taken.
	Done() bool
	// Index is the number of steps taken so far, 0..Len.
	Index() int
	// Len is the total number of steps.
	Len() int
	// State returns a copy of the current sample x_t in [-1, 1] (a latent,
	// for latent samplers): the input of step Index, or the final sample
	// when Done.
	State() *Tensor
	// SetState moves the run to just before step index with sample x, so a
	// caller can go back to a saved state or edit the current one. Steps draw
	// their noise from the seed and the step index, so replaying from a
	// state the run produced follows the original run: exactly for DDIM and
	// for DDRM when V is the identity (denoising, inpainting), and up to
	// float32 rounding otherwise, since DDRM then recomputes its spectral
	// state V^T x from x.
	SetState(index int, x *Tensor) error
	// Result returns the restored images in [0, 1]: the final sample when Done,
	// otherwise the latest x0 estimate. It fails before the first step.
	Result() (*Tensor, error)
}

// StepInfo describes one step t -> t_next. Tensors are in [-1, 1], belong to
// the receiver and are not modified by later steps.
type StepInfo struct {
	Index, Count           int
	T, TNext               int
	AlphaBar, AlphaBarNext float64
	// Sigma and SigmaNext are the variance-exploding noise levels
	// sqrt(1 - alpha_bar) / sqrt(alpha_bar) of t and t_next.
	Sigma, SigmaNext float64
	// Xt is the network's input, X0Hat its estimate of the clean image, and
	// XNext the state after the step.
	Xt, X0Hat, XNext *Tensor
	// Spectral is the step seen in the operator's spectral space; nil for
	// samplers that have none.
	Spectral *SpectralView
	// PixelX0Hat is set by latent samplers (LDMSR, DDRMLDM), whose Xt,
	// X0Hat and XNext are latents: it returns X0Hat decoded into an image
	// in [-1, 1]. Decoding costs a network call, so it runs only when
	// asked for, once, with the context of the Step call. It is nil for
	// pixel-space samplers, whose X0Hat already is the image.
	PixelX0Hat func() (*Tensor, error)
}

// Image returns the estimate x0_hat as images in [-1, 1], whatever the
// sampler's space: X0Hat itself, or for latent samplers its decoding.
func (s *StepInfo) Image() (*Tensor, error) {
	switch {
	case s == nil || s.X0Hat == nil:
		return nil, errors.New("the step has no estimate x0_hat")
	case s.PixelX0Hat != nil:
		return s.PixelX0Hat()
	}
	return s.X0Hat, nil
}

// ComponentCase says how DDRM treats one spectral component at a step.
type ComponentCase uint8

// The three cases of the DDRM update.
const (
	// Missing components are not observed (s = 0): the prior alone fills them.
	Missing ComponentCase = iota
	// NoisierThanY components have s * sigma_next > sigma_y: the sample is
	// noisier than the measurement, which is blended in.
	NoisierThanY
	// LessNoisy components have 0 < s * sigma_next <= sigma_y: the measurement
	// only nudges the estimate.
	LessNoisy
)

func (c ComponentCase) String() string {
	switch c {
	case Missing:
		return "missing"
	case NoisierThanY:
		return "noisier than y"
	case LessNoisy:
		return "less noisy"
	}
	return "unknown"
}

// SpectralView is a step in the spectral space of H = U diag(s) V^T.
type SpectralView struct {
	// X0HatBar is V^T x0_hat, per image, in the operator's spectral layout.
	X0HatBar *Tensor
	// YBar is U^T y / s on observed components and 0 elsewhere.
	YBar *Tensor
	// Singulars are the singular values in the spectral layout.
	Singulars []float32
	// Cases tells, per component, which DDRM case applied at this step.
	Cases []ComponentCase
	// Weights are how far the step moved each component of x0_hat toward
	// y_bar: x0_bar + w (y_bar - x0_bar) is the estimate after the data
	// step (for DDRM, the mean of its update), 0 where y says nothing.
	Weights []float32
	// SigmaY is the measurement noise level in the sampler's [-1, 1] space.
	SigmaY float64
}

// Hook is called after each step of Run. Returning ErrStop ends the run early
// without an error; any other error aborts it.
type Hook func(*StepInfo) error

// ErrStop is returned by a Hook to end a run early.
var ErrStop = errors.New("stop requested by hook")

// Run takes the remaining steps of s, calling the hooks after each one, and
// returns s.Result(). It stops early when a hook returns ErrStop and returns
// ctx.Err() when ctx is cancelled between steps.
func Run(ctx context.Context, s Sampler, hooks ...Hook) (*Tensor, error) {
	for !s.Done() {
		info, err := s.Step(ctx)
		if err != nil {
			return nil, err
		}
		stop := false
		for _, h := range hooks {
			if err := h(info); errors.Is(err, ErrStop) {
				stop = true
			} else if err != nil {
				return nil, err
			}
		}
		if stop {
			break
		}
	}
	return s.Result()
}

// RunTransient is Run for hooks that use each step only during their call,
// such as a progress bar: the sampler may then reuse a step's tensors for
// later steps, so that a long run allocates little. A hook must not keep the
// StepInfo or anything it refers to; Run is for hooks that do.
func RunTransient(ctx context.Context, s Sampler, hooks ...Hook) (*Tensor, error) {
	r, _ := s.(interface{ recycle(*StepInfo) })
	var prev *StepInfo
	for !s.Done() {
		info, err := s.Step(ctx)
		if err != nil {
			return nil, err
		}
		if r != nil && prev != nil {
			r.recycle(prev)
		}
		prev = info
		stop := false
		for _, h := range hooks {
			if err := h(info); errors.Is(err, ErrStop) {
				stop = true
			} else if err != nil {
				return nil, err
			}
		}
		if stop {
			break
		}
	}
	return s.Result()
}

// unitImage maps a [-1, 1] sample to a [0, 1] image clamped to that range.
func unitImage(x *Tensor) *Tensor {
	return x.Clone().ToUnit().Clamp(0, 1)
}

// checkFinite returns an error naming what when v holds NaN or Inf.
func checkFinite(v []float32, what string) error {
	for _, f := range v {
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			return errors.New(what + " contains NaN or Inf values")
		}
	}
	return nil
}
