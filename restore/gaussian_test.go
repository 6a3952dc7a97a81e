package restore

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// gaussTestDCTMatrix is the orthonormal DCT-II matrix from the cosine
// formula: row k is basis function k.
func gaussTestDCTMatrix(n int) *mat.Dense {
	d := mat.NewDense(n, n, nil)
	for k := range n {
		s := math.Sqrt(2 / float64(n))
		if k == 0 {
			s = math.Sqrt(1 / float64(n))
		}
		for i := range n {
			d.Set(k, i, s*math.Cos(math.Pi*float64(k)*(2*float64(i)+1)/float64(2*n)))
		}
	}
	return d
}

func gaussTestRandImage(rng *rand.Rand, s Shape) *Tensor {
	x := NewTensor(1, s)
	for i := range x.Data {
		x.Data[i] = float32(2*rng.Float64() - 1)
	}
	return x
}

func TestGaussDCTOrthonormal(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 3, 5, 6, 8, 10, 16, 17} {
		d := gaussTestDCTMatrix(n)
		var ddt mat.Dense
		ddt.Mul(d, d.T())
		if !mat.EqualApprox(&ddt, eye(n), 1e-12) {
			t.Fatalf("n=%d: the cosine-formula matrix is not orthonormal", n)
		}
		dct := newGaussDCT(n)
		x := make([]float64, n)
		for i := range n {
			// Column i of the matrix is the transform of the unit vector e_i.
			clear(x)
			x[i] = 1
			dct.apply(x, false)
			for k := range n {
				if math.Abs(x[k]-d.At(k, i)) > 1e-12 {
					t.Fatalf("n=%d: DCT(e_%d)[%d] = %g, want %g", n, i, k, x[k], d.At(k, i))
				}
			}
			// The inverse of the unit coefficient e_i is basis function i, row i.
			clear(x)
			x[i] = 1
			dct.apply(x, true)
			for k := range n {
				if math.Abs(x[k]-d.At(i, k)) > 1e-12 {
					t.Fatalf("n=%d: IDCT(e_%d)[%d] = %g, want %g", n, i, k, x[k], d.At(i, k))
				}
			}
		}
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		orig := append([]float64(nil), x...)
		dct.apply(x, false)
		dct.apply(x, true)
		for i := range x {
			if math.Abs(x[i]-orig[i]) > 1e-12 {
				t.Fatalf("n=%d: round trip changed value %d: %g -> %g", n, i, orig[i], x[i])
			}
		}
	}
}

func eye(n int) *mat.Dense {
	m := mat.NewDense(n, n, nil)
	for i := range n {
		m.Set(i, i, 1)
	}
	return m
}

func TestGaussDCT2D(t *testing.T) {
	const h, w = 6, 10
	rng := rand.New(rand.NewPCG(3, 4))
	x := mat.NewDense(h, w, nil)
	p := make([]float64, h*w)
	for i := range p {
		p[i] = rng.NormFloat64()
		x.Set(i/w, i%w, p[i])
	}
	var tmp, want mat.Dense
	tmp.Mul(gaussTestDCTMatrix(h), x)
	want.Mul(&tmp, gaussTestDCTMatrix(w).T())
	wk := newGaussWork(h, w)
	wk.dct2(p, false)
	for i, v := range p {
		if math.Abs(v-want.At(i/w, i%w)) > 1e-12 {
			t.Fatalf("coefficient (%d, %d) = %g, want %g", i/w, i%w, v, want.At(i/w, i%w))
		}
	}
}

// TestGaussianClosedForm compares the denoiser with E[x0 | x_t] computed
// densely in pixel space from a basis built with the cosine formula.
func TestGaussianClosedForm(t *testing.T) {
	for _, s := range []Shape{{3, 4, 6}, {3, 5, 3}, {3, 1, 7}, {3, 1, 1}} {
		gaussTestClosedForm(t, s)
	}
}

func gaussTestClosedForm(t *testing.T, s Shape) {
	t.Helper()
	n, hw := s.Len(), s.H*s.W
	dh, dw := gaussTestDCTMatrix(s.H), gaussTestDCTMatrix(s.W)
	// Row (c, ky, kx) of b is that coefficient's basis image.
	b := mat.NewDense(n, n, nil)
	lambda := make([]float64, n)
	muCoef := mat.NewVecDense(n, nil)
	for c := range 3 {
		for ky := range s.H {
			for kx := range s.W {
				row := c*hw + ky*s.W + kx
				lambda[row] = gaussSpectrum(c, gaussFreq(ky, kx, s.H, s.W))
				for r := range 3 {
					for y := range s.H {
						for x := range s.W {
							b.Set(row, r*hw+y*s.W+x, gaussOpponent[c][r]*dh.At(ky, y)*dw.At(kx, x))
						}
					}
				}
			}
		}
		muCoef.SetVec(c*hw, gaussSpecMean[c]*math.Sqrt(float64(hw)))
	}
	var sigma, tmp mat.Dense
	tmp.Apply(func(i, j int, v float64) float64 { return lambda[i] * v }, b)
	sigma.Mul(b.T(), &tmp)
	var mu mat.VecDense
	mu.MulVec(b.T(), muCoef)

	g := NewGaussianDenoiser(nil)
	rng := rand.New(rand.NewPCG(5, 6))
	for _, step := range []int{0, 500, 999} {
		ab := g.sched.AlphaBar(step)
		sab, nab := math.Sqrt(ab), 1-ab
		x0 := gaussTestRandImage(rng, s)
		xt := NewTensor(1, s)
		d := mat.NewVecDense(n, nil) // x_t - sqrt(ab) mu
		for i := range xt.Data {
			xt.Data[i] = float32(sab*float64(x0.Data[i]) + math.Sqrt(nab)*rng.NormFloat64())
			d.SetVec(i, float64(xt.Data[i])-sab*mu.AtVec(i))
		}
		var a mat.Dense
		a.Scale(ab, &sigma)
		for i := range n {
			a.Set(i, i, a.At(i, i)+nab)
		}
		var sol, post mat.VecDense
		if err := sol.SolveVec(&a, d); err != nil {
			t.Fatal(err)
		}
		post.MulVec(&sigma, &sol)
		post.ScaleVec(sab, &post)
		post.AddVec(&mu, &post)
		wantEps := make([]float64, n)
		for i := range wantEps {
			wantEps[i] = (float64(xt.Data[i]) - sab*post.AtVec(i)) / math.Sqrt(nab)
		}

		eps, err := g.PredictEps(context.Background(), xt, []int{step})
		if err != nil {
			t.Fatal(err)
		}
		if e := gaussRelErr(eps.Data, wantEps); e > 1e-4 {
			t.Errorf("%v, t=%d: eps relative error %.2g", s, step, e)
		}
		x0hat, err := g.PosteriorMean(xt, []int{step})
		if err != nil {
			t.Fatal(err)
		}
		if e := gaussRelErr(x0hat.Data, post.RawVector().Data); e > 1e-4 {
			t.Errorf("%v, t=%d: posterior mean relative error %.2g", s, step, e)
		}
	}
}

func gaussRelErr(got []float32, want []float64) float64 {
	var num, den float64
	for i, w := range want {
		d := float64(got[i]) - w
		num += d * d
		den += w * w
	}
	return math.Sqrt(num / den)
}

// As the noise vanishes the posterior mean becomes x_t / sqrt(ab).
func TestGaussianSmallNoiseLimit(t *testing.T) {
	s := Shape{C: 3, H: 16, W: 12}
	x := gaussTestRandImage(rand.New(rand.NewPCG(7, 8)), s)
	dev := func(g *GaussianDenoiser, step int) float64 {
		m, err := g.PosteriorMean(x, []int{step})
		if err != nil {
			t.Fatal(err)
		}
		sab := math.Sqrt(g.sched.AlphaBar(step))
		worst := 0.0
		for i, v := range m.Data {
			worst = max(worst, math.Abs(float64(v)-float64(x.Data[i])/sab))
		}
		return worst
	}
	tiny, err := NewSchedule(Linear, 1e-10, 1e-10, 2)
	if err != nil {
		t.Fatal(err)
	}
	if d := dev(NewGaussianDenoiser(tiny), 0); d > 1e-4 {
		t.Errorf("with 1 - alpha_bar = 1e-10, posterior mean is %g from x_t / sqrt(alpha_bar)", d)
	}
	g := NewGaussianDenoiser(nil)
	prev := math.Inf(1)
	for _, step := range []int{300, 100, 10, 0} {
		d := dev(g, step)
		if d >= prev {
			t.Errorf("t=%d: deviation %g did not shrink from %g", step, d, prev)
		}
		prev = d
	}
}

func TestGaussianBatchMatchesSingle(t *testing.T) {
	s := Shape{C: 3, H: 9, W: 7}
	rng := rand.New(rand.NewPCG(9, 10))
	images := []*Tensor{gaussTestRandImage(rng, s), gaussTestRandImage(rng, s), gaussTestRandImage(rng, s)}
	steps := []int{999, 0, 421}
	batch, err := Stack(images...)
	if err != nil {
		t.Fatal(err)
	}
	g := NewGaussianDenoiser(nil)
	got, err := g.PredictEps(context.Background(), batch, steps)
	if err != nil {
		t.Fatal(err)
	}
	if got.N != 3 || got.Shape != s {
		t.Fatalf("output is %d x %v, want 3 x %v", got.N, got.Shape, s)
	}
	for i, im := range images {
		one, err := g.PredictEps(context.Background(), im, steps[i:i+1])
		if err != nil {
			t.Fatal(err)
		}
		for j, v := range one.Data {
			if got.Item(i)[j] != v {
				t.Fatalf("image %d value %d: batched %g, alone %g", i, j, got.Item(i)[j], v)
			}
		}
	}
}

// gaussCancelAfter is a context that is cancelled once Err has been called
// a given number of times.
type gaussCancelAfter struct {
	context.Context
	mu    sync.Mutex
	calls int
}

func (c *gaussCancelAfter) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls--
	if c.calls < 0 {
		return context.Canceled
	}
	return nil
}

func TestGaussianContext(t *testing.T) {
	g := NewGaussianDenoiser(nil)
	x := NewTensor(3, Shape{C: 3, H: 4, W: 4})
	steps := []int{1, 2, 3}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := g.PredictEps(ctx, x, steps); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err = %v, want context.Canceled", err)
	}
	// Cancelled after the first image: the check between images stops it.
	if _, err := g.PredictEps(&gaussCancelAfter{Context: context.Background(), calls: 1}, x, steps); !errors.Is(err, context.Canceled) {
		t.Errorf("context cancelled mid-batch: err = %v, want context.Canceled", err)
	}
}

func TestGaussianBadInput(t *testing.T) {
	g := NewGaussianDenoiser(nil)
	ok := Shape{C: 3, H: 4, W: 5}
	nan := NewTensor(1, ok)
	nan.Data[7] = float32(math.NaN())
	short := NewTensor(1, ok)
	short.Data = short.Data[:10]
	for _, tc := range []struct {
		name  string
		x     *Tensor
		steps []int
	}{
		{"nil tensor", nil, nil},
		{"one channel", NewTensor(1, Shape{C: 1, H: 4, W: 5}), []int{0}},
		{"four channels", NewTensor(1, Shape{C: 4, H: 4, W: 5}), []int{0}},
		{"empty image", NewTensor(1, Shape{C: 3, H: 0, W: 5}), []int{0}},
		{"short data", short, []int{0}},
		{"too few steps", NewTensor(2, ok), []int{0}},
		{"too many steps", NewTensor(1, ok), []int{0, 1}},
		{"negative step", NewTensor(1, ok), []int{-1}},
		{"step T", NewTensor(1, ok), []int{1000}},
		{"NaN", nan, []int{5}},
	} {
		if _, err := g.PredictEps(context.Background(), tc.x, tc.steps); err == nil {
			t.Errorf("%s: PredictEps gave no error", tc.name)
		}
		if _, err := g.PosteriorMean(tc.x, tc.steps); err == nil {
			t.Errorf("%s: PosteriorMean gave no error", tc.name)
		}
	}
	if _, err := g.Sample(1, 1, Shape{C: 1, H: 4, W: 4}); err == nil {
		t.Error("Sample of a 1-channel shape gave no error")
	}
	if _, err := g.Sample(1, -1, ok); err == nil {
		t.Error("Sample of -1 images gave no error")
	}
}

func TestGaussianInfo(t *testing.T) {
	info := NewGaussianDenoiser(nil).Info()
	if info.Name != "gaussian" || info.Channels != 3 || info.SizeMultiple != 1 {
		t.Errorf("Info() = %+v", info)
	}
	if info.Schedule == nil || info.Schedule.Kind != Linear || info.Schedule.T != 1000 {
		t.Errorf("nil schedule did not become DefaultDDPMSchedule: %+v", info.Schedule)
	}
	s, err := NewSchedule(Cosine, 0, 0, 50)
	if err != nil {
		t.Fatal(err)
	}
	if got := NewGaussianDenoiser(s).Info().Schedule; got != s {
		t.Error("Info does not report the given schedule")
	}
}

// Calls of several sizes at once must agree with calls made one at a time;
// run with -race to check the plan cache and workspace pool.
func TestGaussianConcurrent(t *testing.T) {
	g := NewGaussianDenoiser(nil)
	rng := rand.New(rand.NewPCG(11, 12))
	var inputs, want []*Tensor
	for i := range 12 {
		// More sizes than the cache holds, so plans are evicted while in use.
		x := gaussTestRandImage(rng, Shape{C: 3, H: 3 + i, W: 5 + i%4})
		e, err := g.PredictEps(context.Background(), x, []int{37 * i})
		if err != nil {
			t.Fatal(err)
		}
		inputs, want = append(inputs, x), append(want, e)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4*len(inputs))
	for range 4 {
		for i, x := range inputs {
			wg.Go(func() {
				e, err := g.PredictEps(context.Background(), x, []int{37 * i})
				if err != nil {
					errs <- err
					return
				}
				for j, v := range e.Data {
					if v != want[i].Data[j] {
						errs <- errors.New("concurrent result differs from serial one")
						return
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// The prior's samples have, per coefficient, the table's variance.
func TestGaussianSampleStatistics(t *testing.T) {
	g := NewGaussianDenoiser(nil)
	s := Shape{C: 3, H: 8, W: 8}
	const n = 400
	x, err := g.Sample(42, n, s)
	if err != nil {
		t.Fatal(err)
	}
	again, err := g.Sample(42, n, s)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range again.Data {
		if v != x.Data[i] {
			t.Fatal("Sample is not deterministic for a fixed seed")
		}
	}
	plan := newGaussPlan(s.H, s.W)
	wk := newGaussWork(s.H, s.W)
	ratio, count := 0.0, 0
	for i := range n {
		wk.fromPixels(x.Item(i))
		for c := range 3 {
			wk.coef[c][0] -= plan.dcMean[c]
			for k, lam := range plan.lambda[c] {
				ratio += wk.coef[c][k] * wk.coef[c][k] / lam
				count++
			}
		}
	}
	// The mean of count chi-square(1) variables has standard deviation
	// sqrt(2 / count), about 0.006 here.
	if r := ratio / float64(count); math.Abs(r-1) > 0.03 {
		t.Errorf("mean of coefficient^2 / variance = %.3f, want 1", r)
	}
}

func TestGaussSpectrumInterpolation(t *testing.T) {
	n := len(gaussSpecFreq)
	for c := range 3 {
		for i, f := range gaussSpecFreq {
			if got, want := gaussSpectrum(c, f), gaussSpecVar[c][i]; math.Abs(got-want) > 1e-12*want {
				t.Errorf("channel %d at bin %d: %g, want %g", c, i, got, want)
			}
		}
		mid := math.Sqrt(gaussSpecFreq[3] * gaussSpecFreq[4])
		if got, want := gaussSpectrum(c, mid), math.Sqrt(gaussSpecVar[c][3]*gaussSpecVar[c][4]); math.Abs(got-want) > 1e-12*want {
			t.Errorf("channel %d between bins 3 and 4: %g, want geometric mean %g", c, got, want)
		}
		if got := gaussSpectrum(c, 0); got != gaussSpecVar[c][0] {
			t.Errorf("channel %d: DC variance %g, want lowest bin's %g", c, got, gaussSpecVar[c][0])
		}
		if got := gaussSpectrum(c, 1); got != gaussSpecVar[c][n-1] {
			t.Errorf("channel %d: variance beyond the table %g, want highest bin's %g", c, got, gaussSpecVar[c][n-1])
		}
	}
}

// The fitted spectrum must look like natural images': falling with
// frequency roughly as a power law, with more power in luminance than chroma.
func TestGaussSpectrumFit(t *testing.T) {
	n := len(gaussSpecFreq)
	if n < 16 {
		t.Fatalf("only %d bins", n)
	}
	for i := 1; i < n; i++ {
		if gaussSpecFreq[i] <= gaussSpecFreq[i-1] {
			t.Fatalf("frequencies not ascending at bin %d", i)
		}
	}
	for c := range 3 {
		rises := 0
		for i := 1; i < n; i++ {
			if gaussSpecVar[c][i] >= gaussSpecVar[c][i-1] {
				rises++
			}
		}
		if rises > n/10 {
			t.Errorf("channel %d: variance rises at %d of %d bins", c, rises, n-1)
		}
		// Least-squares slope of log variance on log frequency.
		var sx, sy, sxx, sxy float64
		for i := range n {
			x, y := math.Log(gaussSpecFreq[i]), math.Log(gaussSpecVar[c][i])
			sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
		}
		slope := (float64(n)*sxy - sx*sy) / (float64(n)*sxx - sx*sx)
		if slope < -4 || slope > -1 {
			t.Errorf("channel %d: power-law exponent %.2f, natural images have about -2", c, slope)
		}
	}
	for i := range n {
		if gaussSpecVar[0][i] <= gaussSpecVar[1][i] || gaussSpecVar[0][i] <= gaussSpecVar[2][i] {
			t.Errorf("bin %d: luminance variance %g is not above chroma's %g, %g", i, gaussSpecVar[0][i], gaussSpecVar[1][i], gaussSpecVar[2][i])
		}
	}
}

func BenchmarkGaussianPredictEps256(b *testing.B) {
	g := NewGaussianDenoiser(nil)
	x := gaussTestRandImage(rand.New(rand.NewPCG(13, 14)), Shape{C: 3, H: 256, W: 256})
	ctx := context.Background()
	for b.Loop() {
		if _, err := g.PredictEps(ctx, x, []int{500}); err != nil {
			b.Fatal(err)
		}
	}
}
