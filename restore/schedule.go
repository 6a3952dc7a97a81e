package restore

import (
	"fmt"
	"math"
)

// ScheduleKind names a family of noise schedules.
type ScheduleKind string

// The schedules of DDPM/DDRM (linear), latent diffusion (scaled_linear, which
// LDM's code calls "linear") and improved DDPM (cosine).
const (
	Linear       ScheduleKind = "linear"
	ScaledLinear ScheduleKind = "scaled_linear"
	Cosine       ScheduleKind = "cosine"
)

// Schedule is a discrete diffusion noise schedule over time steps 0..T-1.
type Schedule struct {
	Kind               ScheduleKind
	BetaStart, BetaEnd float64
	T                  int
	betas, alphaBar    []float64
}

// NewSchedule builds a schedule. For Linear, betas run linearly from
// betaStart to betaEnd; for ScaledLinear their square roots do; Cosine ignores
// the beta range and uses alpha_bar(t) = cos^2(((t+1)/T + s)/(1 + s) * pi/2)
// relative to t = -1, with s = 0.008 and betas capped at 0.999.
func NewSchedule(kind ScheduleKind, betaStart, betaEnd float64, T int) (*Schedule, error) {
	if T < 2 || T > 100000 {
		return nil, fmt.Errorf("schedule: T = %d is out of range; use 2..100000 (1000 is usual)", T)
	}
	betas := make([]float64, T)
	switch kind {
	case Linear, ScaledLinear:
		if !(betaStart > 0 && betaStart <= betaEnd && betaEnd < 1) {
			return nil, fmt.Errorf("schedule: beta range %g..%g is invalid; need 0 < start <= end < 1", betaStart, betaEnd)
		}
		for i := range betas {
			f := float64(i) / float64(T-1)
			if kind == Linear {
				betas[i] = betaStart + f*(betaEnd-betaStart)
			} else {
				b := math.Sqrt(betaStart) + f*(math.Sqrt(betaEnd)-math.Sqrt(betaStart))
				betas[i] = b * b
			}
		}
	case Cosine:
		const s = 0.008
		f := func(t float64) float64 {
			c := math.Cos((t/float64(T) + s) / (1 + s) * math.Pi / 2)
			return c * c
		}
		for i := range betas {
			betas[i] = math.Min(1-f(float64(i+1))/f(float64(i)), 0.999)
		}
	default:
		return nil, fmt.Errorf("schedule: unknown kind %q; use linear, scaled_linear or cosine", kind)
	}
	ab := make([]float64, T)
	prod := 1.0
	for i, b := range betas {
		prod *= 1 - b
		ab[i] = prod
	}
	return &Schedule{Kind: kind, BetaStart: betaStart, BetaEnd: betaEnd, T: T, betas: betas, alphaBar: ab}, nil
}

// DefaultDDPMSchedule is the linear 1e-4..0.02 schedule over 1000 steps that
// DDPM, guided-diffusion's ImageNet models and DDRM use.
func DefaultDDPMSchedule() *Schedule {
	s, err := NewSchedule(Linear, 1e-4, 0.02, 1000)
	if err != nil {
		panic(err) // constant arguments
	}
	return s
}

// Beta returns beta_t.
func (s *Schedule) Beta(t int) float64 { return s.betas[t] }

// AlphaBar returns alpha_bar_t = prod_{i<=t} (1 - beta_i), with alpha_bar_{-1} = 1.
func (s *Schedule) AlphaBar(t int) float64 {
	if t < 0 {
		return 1
	}
	return s.alphaBar[t]
}

// Sigma returns the variance-exploding noise level of step t,
// sqrt(1 - alpha_bar_t) / sqrt(alpha_bar_t): x_t / sqrt(alpha_bar_t) = x0 + sigma_t eps.
func (s *Schedule) Sigma(t int) float64 {
	ab := s.AlphaBar(t)
	return math.Sqrt(1-ab) / math.Sqrt(ab)
}
