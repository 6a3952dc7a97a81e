package restore

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// TimeSteps names a sampler's sequence of time steps. Each sampler chooses
// one explicitly: the sequences differ in where they end, which decides
// whether the output is the estimate x0_hat (alpha_bar = 1) or a sample at
// alpha_bar_0.
type TimeSteps int

const (
	// SkipSteps is DDRM's and DDNM's sequence: with skip = T / n (integer
	// division), (n-1) skip, ..., skip, 0, and the last step goes to t = -1,
	// where alpha_bar = 1: the output is the last estimate x0_hat.
	SkipSteps TimeSteps = iota
	// LDMSteps is latent diffusion's DDIM sequence: with c = T / n, (n-1) c
	// + 1, ..., c + 1, 1, and the last step goes to t = 0 (alpha_bar_0 = 1 -
	// beta_0), as LDM's DDIMSampler does. n = T is refused: its first step
	// would be T, past the schedule's end.
	LDMSteps
	// QuadSteps is DiffPIR's quadratic sequence (yuanzhi-zhu/DiffPIR,
	// main_ddpir.py, skip_type "quad"): s_i = floor(sqrt(i T^2 / (n-1))) for
	// i = 0..n-1 with the last one lowered by 1, and t_i = T - 1 - s_i, so
	// from T - 1 down to 0 with the steps densest near 0. The last step goes
	// to t = -1: the output is its estimate.
	QuadSteps
)

// final is the time step the last step goes to.
func (k TimeSteps) final() int {
	if k == LDMSteps {
		return 0
	}
	return -1
}

// TimeSteps returns the time steps of n network evaluations in the order
// they are visited (see TimeSteps for each kind).
func (s *Schedule) TimeSteps(kind TimeSteps, n int) ([]int, error) {
	if n < 1 || n > s.T || kind == LDMSteps && n == s.T {
		hi := s.T
		if kind == LDMSteps {
			hi = s.T - 1
		}
		return nil, fmt.Errorf("steps = %d is out of range; use 1..%d", n, hi)
	}
	seq := make([]int, n)
	switch kind {
	case SkipSteps, LDMSteps:
		skip, offset := s.T/n, 0
		if kind == LDMSteps {
			offset = 1
		}
		for i := range seq {
			seq[i] = (n-1-i)*skip + offset
		}
	case QuadSteps:
		if n == 1 {
			seq[0] = s.T - 1
			break
		}
		// numpy's linspace(0, T^2, n): i * (T^2 / (n - 1)), the last one exact.
		sq := float64(s.T) * float64(s.T)
		for i := range seq {
			v := sq
			if i < n-1 {
				v = float64(i) * (sq / float64(n-1))
			}
			si := int(math.Sqrt(v))
			if i == n-1 {
				si--
			}
			seq[i] = s.T - 1 - si
			if i > 0 && seq[i] >= seq[i-1] {
				return nil, fmt.Errorf("steps = %d is too many for the quadratic sequence: steps %d and %d both land on t = %d; use fewer", n, i, i+1, seq[i])
			}
		}
	default:
		return nil, fmt.Errorf("unknown time-step sequence %d", kind)
	}
	return seq, nil
}

// chain is the diffusion chain every sampler runs: the prior and its
// schedule, the time steps, the current sample x_t and the step count, the
// noise streams, the prediction of eps and x0_hat, the generic DDIM-type
// move, and State, SetState, Done, Index, Len and Result. Samplers embed it
// and add how they use the measurement.
type chain struct {
	what   string // the sampler's name, for messages
	den    Denoiser
	sched  *Schedule
	seq    []int
	final  int // the time step after the last
	seed   uint64
	x      *Tensor // current sample x_t
	index  int
	lastX0 *Tensor
	// spare are tensors of the sample's shape free for reuse, spareCases
	// and spareWeights spectral views' slices: the buffers of steps
	// RunTransient is done with.
	spare        []*Tensor
	spareCases   [][]ComponentCase
	spareWeights [][]float32
}

// newChain checks the prior against samples of shape s (a batch of n) and
// prepares the chain of the given steps; the caller sets the initial x.
func newChain(what string, den Denoiser, kind TimeSteps, steps, n int, s Shape, seed uint64) (*chain, error) {
	info := den.Info()
	if err := checkPrior(what, info, n, s); err != nil {
		return nil, err
	}
	seq, err := info.Schedule.TimeSteps(kind, steps)
	if err != nil {
		return nil, err
	}
	return newChainOf(what, den, seq, kind.final(), n, s, seed), nil
}

// newTensor returns a tensor of the sample's shape, reused from a step
// RunTransient is done with when there is one; its values are arbitrary.
func (c *chain) newTensor() *Tensor {
	if n := len(c.spare); n > 0 {
		t := c.spare[n-1]
		c.spare = c.spare[:n-1]
		return t
	}
	return NewTensor(c.x.N, c.x.Shape)
}

// recycle takes back the tensors of a step that nothing refers to any more:
// its input and estimate, and the spectral view's, once the chain has moved
// past them.
func (c *chain) recycle(info *StepInfo) {
	ts := []*Tensor{info.Xt, info.X0Hat}
	if info.Spectral != nil {
		ts = append(ts, info.Spectral.X0HatBar)
	}
	for _, t := range ts {
		if t != nil && t != c.x && t != c.lastX0 && t.N == c.x.N && t.Shape == c.x.Shape && !slices.Contains(c.spare, t) {
			c.spare = append(c.spare, t)
		}
	}
	if sv := info.Spectral; sv != nil && len(sv.Cases) == c.x.Shape.Len() {
		c.spareCases = append(c.spareCases, sv.Cases)
		c.spareWeights = append(c.spareWeights, sv.Weights)
	}
}

// newView returns case and weight slices of one image's length for a
// spectral view, reused from a step RunTransient is done with when there is
// one.
func (c *chain) newView() ([]ComponentCase, []float32) {
	if n := len(c.spareCases); n > 0 {
		cs, w := c.spareCases[n-1], c.spareWeights[n-1]
		c.spareCases, c.spareWeights = c.spareCases[:n-1], c.spareWeights[:n-1]
		return cs, w
	}
	n := c.x.Shape.Len()
	return make([]ComponentCase, n), make([]float32, n)
}

// newChainOf is a chain visiting the time steps seq, then final, for a
// prior checkPrior accepted.
func newChainOf(what string, den Denoiser, seq []int, final, n int, s Shape, seed uint64) *chain {
	return &chain{what: what, den: den, sched: den.Info().Schedule, seq: seq, final: final, seed: seed, x: NewTensor(n, s)}
}

// checkPrior reports why the prior described by info cannot sample n images
// of shape s.
func checkPrior(what string, info DenoiserInfo, n int, s Shape) error {
	switch {
	case info.Schedule == nil:
		return fmt.Errorf("model %q has no noise schedule; its manifest must give one", info.Name)
	case n < 1:
		return fmt.Errorf("%s: %d images requested; give at least one", what, n)
	case s.C < 1 || s.H < 1 || s.W < 1:
		return fmt.Errorf("%s: invalid image shape %v", what, s)
	case info.CondChannels > 0:
		return fmt.Errorf("model %q is conditional (it also reads a %d-channel image, like an SRLDM UNet); %s needs an unconditional prior: use it with the ldm or ddrm-ldm methods, or bind its conditioning with restore.Conditioned", info.Name, info.CondChannels, what)
	case info.Channels != s.C:
		return fmt.Errorf("model %q takes %d channels but the image has %d", info.Name, info.Channels, s.C)
	}
	if m := info.SizeMultiple; m > 1 && (s.H%m != 0 || s.W%m != 0) {
		return fmt.Errorf("model %q needs image sides divisible by %d, got %dx%d; crop or pad the image", info.Name, m, s.W, s.H)
	}
	return nil
}

// next returns the time step that step i goes to.
func (c *chain) next(i int) int {
	if i+1 < len(c.seq) {
		return c.seq[i+1]
	}
	return c.final
}

// noise returns the standard normal stream of one chunk of components of
// one image at one step; step 0 is the initialisation. Streams are keyed by
// the seed and their position, so a run is bit-identical for a seed
// whatever the number of cores, and replays from a saved state repeat it.
func (c *chain) noise(step, item, chunk int) *rand.Rand {
	return rand.New(rand.NewPCG(c.seed, uint64(step)<<40|uint64(item)<<20|uint64(chunk)))
}

// imageNoise is the one stream of a whole image at one step, the layout of
// the DDIM chain (LDM and DDRM-LDM), kept so that their outputs stay the
// bits they were.
func (c *chain) imageNoise(step, item int) *rand.Rand {
	return rand.New(rand.NewPCG(c.seed, uint64(step)<<32|uint64(item)))
}

// noiseChunk is the number of spectral components that share one noise
// stream. Chunks have independent streams, so they are drawn in parallel
// and the result does not depend on how many run at once.
const noiseChunk = 1 << 14

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

// begin describes the next step, with its input x_t, or fails when the run
// is done or ctx is cancelled.
func (c *chain) begin(ctx context.Context) (*StepInfo, error) {
	if c.Done() {
		return nil, fmt.Errorf("%s: all %d steps are done", c.what, len(c.seq))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	i := c.index
	t, tn := c.seq[i], c.next(i)
	return &StepInfo{Index: i, Count: len(c.seq), T: t, TNext: tn,
		AlphaBar: c.sched.AlphaBar(t), AlphaBarNext: c.sched.AlphaBar(tn),
		Sigma: c.sched.Sigma(t), SigmaNext: c.sched.Sigma(tn), Xt: c.x}, nil
}

// predict begins the next step and evaluates the prior: it returns the
// step's description, the predicted noise eps and the estimate
// x0_hat = (x_t - sqrt(1 - ab) eps) / sqrt(ab), unclipped.
func (c *chain) predict(ctx context.Context) (info *StepInfo, eps, x0 *Tensor, err error) {
	if info, err = c.begin(ctx); err != nil {
		return nil, nil, nil, err
	}
	ts := make([]int, c.x.N)
	for b := range ts {
		ts[b] = info.T
	}
	if eps, err = c.den.PredictEps(ctx, c.x, ts); err != nil {
		return nil, nil, nil, err
	}
	name := c.den.Info().Name
	if eps.N != c.x.N || eps.Shape != c.x.Shape {
		return nil, nil, nil, fmt.Errorf("model %q returned shape %dx%v for input %dx%v", name, eps.N, eps.Shape, c.x.N, c.x.Shape)
	}
	x0 = c.newTensor()
	sqrtAB, sqrt1mAB := math.Sqrt(info.AlphaBar), math.Sqrt(1-info.AlphaBar)
	var bad atomic.Bool
	// One pass computes x0_hat and checks eps, in parallel.
	forChunks(len(x0.Data), func(_, lo, hi int) {
		for k := lo; k < hi; k++ {
			e := float64(eps.Data[k])
			if math.IsNaN(e) || math.IsInf(e, 0) {
				bad.Store(true)
			}
			x0.Data[k] = float32((float64(c.x.Data[k]) - sqrt1mAB*e) / sqrtAB)
		}
	})
	if bad.Load() {
		return nil, nil, nil, fmt.Errorf("the output of model %q at step t=%d contains NaN or Inf values; the model file may be corrupt or incompatible", name, info.T)
	}
	return info, eps, x0, nil
}

// move is the DDIM-type update x' = sqrt(ab') x0 + c1 eps + c2 z in pixel
// (or latent) space, z drawn per image (imageNoise) for the step after info.
func (c *chain) move(info *StepInfo, x0, eps *Tensor, c1, c2 float64) *Tensor {
	sqrtABN := math.Sqrt(info.AlphaBarNext)
	next := c.newTensor()
	for b := range next.N {
		xn, x0b, eb := next.Item(b), x0.Item(b), eps.Item(b)
		for k := range xn {
			xn[k] = float32(sqrtABN*float64(x0b[k]) + c1*float64(eb[k]))
		}
		if c2 > 0 {
			rng := c.imageNoise(info.Index+1, b)
			for k := range xn {
				xn[k] += float32(c2 * rng.NormFloat64())
			}
		}
	}
	return next
}

// finish completes info with the step's estimate and new state, and moves
// the chain to that state.
func (c *chain) finish(info *StepInfo, x0, next *Tensor) {
	info.X0Hat, info.XNext = x0, next
	c.x, c.lastX0 = next, x0
	c.index++
}

// Done implements Sampler.
func (c *chain) Done() bool { return c.index >= len(c.seq) }

// Index implements Sampler.
func (c *chain) Index() int { return c.index }

// Len implements Sampler.
func (c *chain) Len() int { return len(c.seq) }

// Timesteps returns the time steps the run visits, in order.
func (c *chain) Timesteps() []int { return append([]int(nil), c.seq...) }

// State implements Sampler.
func (c *chain) State() *Tensor { return c.x.Clone() }

// SetState implements Sampler.
func (c *chain) SetState(index int, x *Tensor) error {
	if index < 0 || index > len(c.seq) {
		return fmt.Errorf("step %d is out of range; use 0..%d", index, len(c.seq))
	}
	if x.N != c.x.N || x.Shape != c.x.Shape {
		return fmt.Errorf("state of shape %dx%v does not match the run's %dx%v", x.N, x.Shape, c.x.N, c.x.Shape)
	}
	if err := checkFinite(x.Data, "the new state"); err != nil {
		return err
	}
	c.x, c.index, c.lastX0 = x.Clone(), index, nil
	c.spare, c.spareCases, c.spareWeights = nil, nil, nil
	return nil
}

// Result implements Sampler: the final samples, or the latest x0_hat,
// mapped from [-1, 1] to [0, 1] and clamped.
func (c *chain) Result() (*Tensor, error) {
	if c.Done() {
		return unitImage(c.x), nil
	}
	if c.lastX0 == nil {
		return nil, fmt.Errorf("%s: no estimate yet; take a step first", c.what)
	}
	return unitImage(c.lastX0), nil
}

// validateFor checks that the prior den has a noise schedule and that a
// sampler's settings fit it (validate takes the schedule's T).
func validateFor(den Denoiser, validate func(T int) error) error {
	info := den.Info()
	if info.Schedule == nil {
		return fmt.Errorf("model %q has no noise schedule; its manifest must give one", info.Name)
	}
	return validate(info.Schedule.T)
}
