package restore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
)

//go:generate go run ./internal/fitspectrum -data ../../shared/data/train -out gaussian_spectrum.go

// GaussianDenoiser is the exact posterior-mean denoiser of a stationary
// Gaussian image prior. It needs no model file, so DDRM can run without a
// network, and its output has a closed form that tests can check.
//
// The prior works in a fixed orthonormal basis: RGB is turned into an
// opponent colour space (luminance (1,1,1)/sqrt(3), red-blue (1,0,-1)/sqrt(2)
// and green-magenta (1,-2,1)/sqrt(6)), and each opponent channel into its
// orthonormal 2-D DCT-II. There every coefficient is an independent Gaussian.
// Its variance is the channel's power spectrum, fitted from natural images
// (see gaussian_spectrum.go), at the coefficient's radial frequency
// sqrt((ky/2H)^2 + (kx/2W)^2) in cycles per pixel, so one table serves every
// image size: log-variance is interpolated linearly in log-frequency between
// the table's bins and held constant beyond its ends. The DC coefficient, whose
// variance depends on the image size, takes the lowest bin's variance, and its
// mean is the data's mean per opponent channel times sqrt(H*W); every other
// coefficient has mean 0.
//
// For x_t = sqrt(ab) x0 + sqrt(1 - ab) eps, with ab = alpha_bar_t, the
// posterior mean of a coefficient with prior mean mu and variance lambda is
//
//	x0_hat = mu + lambda sqrt(ab) / (ab lambda + 1 - ab) (x_t - sqrt(ab) mu)
//
// and PredictEps returns (x_t - sqrt(ab) x0_hat) / sqrt(1 - ab).
//
// It takes 3 channels and any height and width. A GaussianDenoiser is safe
// for concurrent use by multiple goroutines.
type GaussianDenoiser struct {
	sched *Schedule

	mu    sync.Mutex
	plans map[[2]int]*gaussPlan // per image size (H, W)
}

var _ Denoiser = (*GaussianDenoiser)(nil)

// gaussOpponent holds the orthonormal opponent colour basis in its rows:
// opponent channel c = sum_r gaussOpponent[c][r] * RGB channel r.
var gaussOpponent = [3][3]float64{
	{1 / math.Sqrt(3), 1 / math.Sqrt(3), 1 / math.Sqrt(3)},
	{1 / math.Sqrt(2), 0, -1 / math.Sqrt(2)},
	{1 / math.Sqrt(6), -2 / math.Sqrt(6), 1 / math.Sqrt(6)},
}

// gaussMaxPlans bounds the plan cache, so that a long-running process fed
// images of many sizes does not keep every size's tables.
const gaussMaxPlans = 8

// NewGaussianDenoiser returns the Gaussian prior's denoiser for schedule s,
// or for DefaultDDPMSchedule if s is nil.
func NewGaussianDenoiser(s *Schedule) *GaussianDenoiser {
	if s == nil {
		s = DefaultDDPMSchedule()
	}
	return &GaussianDenoiser{sched: s, plans: map[[2]int]*gaussPlan{}}
}

// Info describes the model: name "gaussian", 3 channels, any size.
func (g *GaussianDenoiser) Info() DenoiserInfo {
	return DenoiserInfo{Name: "gaussian", Schedule: g.sched, Channels: 3, SizeMultiple: 1, Digest: "analytic"}
}

// PredictEps returns the noise implied by the exact posterior mean of x0 given
// x_t, for each image of x at its time step t[i] in [0, T). It checks ctx
// before each image.
func (g *GaussianDenoiser) PredictEps(ctx context.Context, x *Tensor, t []int) (*Tensor, error) {
	return g.gaussRun(ctx, x, t, false)
}

// PosteriorMean returns E[x0 | x_t] for each image of x at its time step t[i]
// in [0, T).
func (g *GaussianDenoiser) PosteriorMean(x *Tensor, t []int) (*Tensor, error) {
	return g.gaussRun(context.Background(), x, t, true)
}

// Sample draws n images of shape s from the prior, deterministically for a
// given seed. Being Gaussian, the samples are not confined to [-1, 1].
func (g *GaussianDenoiser) Sample(seed uint64, n int, s Shape) (*Tensor, error) {
	if n < 0 {
		return nil, fmt.Errorf("gaussian: cannot sample %d images", n)
	}
	if err := gaussCheckShape(s); err != nil {
		return nil, err
	}
	plan := g.gaussPlanFor(s.H, s.W)
	w := plan.get()
	defer plan.put(w)
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	out := NewTensor(n, s)
	for i := range n {
		for c := range 3 {
			for k, lam := range plan.lambda[c] {
				w.coef[c][k] = math.Sqrt(lam) * rng.NormFloat64()
			}
			w.coef[c][0] += plan.dcMean[c]
		}
		if err := w.toPixels(out.Item(i)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// gaussRun computes, per image, the posterior mean (mean true) or the noise
// prediction in the prior's basis, where both are diagonal.
func (g *GaussianDenoiser) gaussRun(ctx context.Context, x *Tensor, t []int, mean bool) (*Tensor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := g.gaussCheck(x, t); err != nil {
		return nil, err
	}
	plan := g.gaussPlanFor(x.Shape.H, x.Shape.W)
	w := plan.get()
	defer plan.put(w)
	out := NewTensor(x.N, x.Shape)
	for i := range x.N {
		if i > 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		ab := g.sched.AlphaBar(t[i])
		sab, nab := math.Sqrt(ab), 1-ab
		w.fromPixels(x.Item(i))
		for c := range 3 {
			coef := w.coef[c]
			coef[0] -= sab * plan.dcMean[c]
			if mean {
				for k, lam := range plan.lambda[c] {
					coef[k] *= lam * sab / (ab*lam + nab)
				}
				coef[0] += plan.dcMean[c]
			} else {
				// (x_t - sqrt(ab) x0_hat) / sqrt(1 - ab), simplified so that
				// nothing is divided by the small sqrt(1 - ab) of early steps.
				snab := math.Sqrt(nab)
				for k, lam := range plan.lambda[c] {
					coef[k] *= snab / (ab*lam + nab)
				}
			}
		}
		if err := w.toPixels(out.Item(i)); err != nil {
			return nil, fmt.Errorf("gaussian: image %d: %w", i, err)
		}
	}
	return out, nil
}

func (g *GaussianDenoiser) gaussCheck(x *Tensor, t []int) error {
	if x == nil {
		return errors.New("gaussian: nil input tensor")
	}
	if err := gaussCheckShape(x.Shape); err != nil {
		return err
	}
	if x.N < 0 || len(x.Data) != x.N*x.Shape.Len() {
		return fmt.Errorf("gaussian: tensor holds %d values, not the %d of %d images of %v", len(x.Data), max(x.N, 0)*x.Shape.Len(), x.N, x.Shape)
	}
	if len(t) != x.N {
		return fmt.Errorf("gaussian: got %d time steps for %d images; give one per image", len(t), x.N)
	}
	for i, ti := range t {
		if ti < 0 || ti >= g.sched.T {
			return fmt.Errorf("gaussian: time step %d of image %d is out of range [0, %d)", ti, i, g.sched.T)
		}
	}
	return nil
}

func gaussCheckShape(s Shape) error {
	if s.C != 3 {
		return fmt.Errorf("gaussian: images have %d channels; the model takes 3 (RGB)", s.C)
	}
	if s.H < 1 || s.W < 1 {
		return fmt.Errorf("gaussian: image size %dx%d is empty", s.H, s.W)
	}
	return nil
}

// gaussPlan holds what depends only on the image size: the prior's variance
// per coefficient and a pool of transform workspaces.
type gaussPlan struct {
	h, w   int
	lambda [3][]float64 // per opponent channel, indexed ky*w + kx
	dcMean [3]float64   // prior mean of each channel's DC coefficient
	pool   sync.Pool    // of *gaussWork
}

func (g *GaussianDenoiser) gaussPlanFor(h, w int) *gaussPlan {
	g.mu.Lock()
	defer g.mu.Unlock()
	key := [2]int{h, w}
	if p, ok := g.plans[key]; ok {
		return p
	}
	if len(g.plans) >= gaussMaxPlans {
		// Drop any one; callers still using it keep their reference.
		for k := range g.plans {
			delete(g.plans, k)
			break
		}
	}
	p := newGaussPlan(h, w)
	g.plans[key] = p
	return p
}

func newGaussPlan(h, w int) *gaussPlan {
	p := &gaussPlan{h: h, w: w}
	for c := range 3 {
		p.lambda[c] = make([]float64, h*w)
		for ky := range h {
			for kx := range w {
				p.lambda[c][ky*w+kx] = gaussSpectrum(c, gaussFreq(ky, kx, h, w))
			}
		}
		p.dcMean[c] = gaussSpecMean[c] * math.Sqrt(float64(h*w))
	}
	p.pool.New = func() any { return newGaussWork(h, w) }
	return p
}

func (p *gaussPlan) get() *gaussWork  { return p.pool.Get().(*gaussWork) }
func (p *gaussPlan) put(w *gaussWork) { p.pool.Put(w) }

// gaussFreq is the radial frequency of DCT-II coefficient (ky, kx) of an
// h x w image, in cycles per pixel.
func gaussFreq(ky, kx, h, w int) float64 {
	return math.Hypot(float64(ky)/float64(2*h), float64(kx)/float64(2*w))
}

// gaussLogFreq and gaussLogVar are the spectrum table in logs, where it is
// interpolated.
var gaussLogFreq, gaussLogVar = gaussLogTables()

func gaussLogTables() ([]float64, [3][]float64) {
	lf := make([]float64, len(gaussSpecFreq))
	var lv [3][]float64
	for i, f := range gaussSpecFreq {
		lf[i] = math.Log(f)
	}
	for c := range lv {
		lv[c] = make([]float64, len(gaussSpecFreq))
		for i, v := range gaussSpecVar[c] {
			lv[c][i] = math.Log(v)
		}
	}
	return lf, lv
}

// gaussSpectrum is the prior variance of opponent channel c at radial
// frequency f: log-linear in log f between bins, clamped beyond the ends
// (which is where f = 0, the DC coefficient, lands).
func gaussSpectrum(c int, f float64) float64 {
	n := len(gaussLogFreq)
	if f <= gaussSpecFreq[0] {
		return gaussSpecVar[c][0]
	}
	if f >= gaussSpecFreq[n-1] {
		return gaussSpecVar[c][n-1]
	}
	lf := math.Log(f)
	i := sort.SearchFloat64s(gaussLogFreq, lf) // gaussLogFreq[i-1] < lf <= gaussLogFreq[i]
	a := (lf - gaussLogFreq[i-1]) / (gaussLogFreq[i] - gaussLogFreq[i-1])
	return math.Exp(gaussLogVar[c][i-1] + a*(gaussLogVar[c][i]-gaussLogVar[c][i-1]))
}

// gaussWork is one goroutine's workspace for an h x w image: the opponent
// channels' DCT coefficients and the 1-D transforms of rows and columns.
type gaussWork struct {
	h, w     int
	coef     [3][]float64
	row, col *gaussDCT
	line     []float64
}

func newGaussWork(h, w int) *gaussWork {
	wk := &gaussWork{h: h, w: w, row: newGaussDCT(w), col: newGaussDCT(h), line: make([]float64, h)}
	for c := range wk.coef {
		wk.coef[c] = make([]float64, h*w)
	}
	return wk
}

// fromPixels fills coef with the prior-basis coefficients of RGB image x.
func (wk *gaussWork) fromPixels(x []float32) {
	hw := wk.h * wk.w
	r, g, b := x[:hw], x[hw:2*hw], x[2*hw:3*hw]
	for c, m := range gaussOpponent {
		dst := wk.coef[c]
		for j := range dst {
			dst[j] = m[0]*float64(r[j]) + m[1]*float64(g[j]) + m[2]*float64(b[j])
		}
		wk.dct2(dst, false)
	}
}

// toPixels maps coef back to an RGB image in dst, consuming coef. It fails if
// any value is not finite, which only NaN or Inf inputs can cause.
func (wk *gaussWork) toPixels(dst []float32) error {
	for c := range wk.coef {
		wk.dct2(wk.coef[c], true)
	}
	hw := wk.h * wk.w
	o0, o1, o2 := wk.coef[0], wk.coef[1], wk.coef[2]
	for r := range 3 {
		out := dst[r*hw : (r+1)*hw]
		m0, m1, m2 := gaussOpponent[0][r], gaussOpponent[1][r], gaussOpponent[2][r]
		for j := range out {
			v := m0*o0[j] + m1*o1[j] + m2*o2[j]
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return errors.New("non-finite values; is the input free of NaN and Inf?")
			}
			out[j] = float32(v)
		}
	}
	return nil
}

// dct2 applies the orthonormal 2-D DCT-II (or its inverse) to an h x w plane
// in place: rows first, then columns.
func (wk *gaussWork) dct2(p []float64, inverse bool) {
	h, w := wk.h, wk.w
	for y := range h {
		wk.row.apply(p[y*w:(y+1)*w], inverse)
	}
	line := wk.line
	for x := range w {
		for y := range h {
			line[y] = p[y*w+x]
		}
		wk.col.apply(line, inverse)
		for y := range h {
			p[y*w+x] = line[y]
		}
	}
}
