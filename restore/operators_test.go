package restore

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// The reference computations below are written from the definitions, with
// their own index folding and kernel formulas, so that they do not share code
// with the operators they check.

// testFold reflects an index into [0, n) one mirror at a time
// (d c b a | a b c d | d c b a).
func testFold(k, n int) int {
	for k < 0 || k >= n {
		if k < 0 {
			k = -k - 1
		} else {
			k = 2*n - 1 - k
		}
	}
	return k
}

// testCubic is the Keys cubic with a = -0.5.
func testCubic(x float64) float64 {
	const a = -0.5
	x = math.Abs(x)
	if x <= 1 {
		return (a+2)*x*x*x - (a+3)*x*x + 1
	}
	if x < 2 {
		return a*x*x*x - 5*a*x*x + 8*a*x - 4*a
	}
	return 0
}

// testDense builds the dense matrix of a linear map from float64 inputs to
// float64 outputs, column by column.
func testDense(nOut, nIn int, f func(dst, x []float64)) *mat.Dense {
	d := mat.NewDense(nOut, nIn, nil)
	x := make([]float64, nIn)
	y := make([]float64, nOut)
	for j := range nIn {
		clear(x)
		x[j] = 1
		clear(y)
		f(y, x)
		for i, v := range y {
			d.Set(i, j, v)
		}
	}
	return d
}

// testDense32 is testDense for a float32 map such as an operator method.
func testDense32(nOut, nIn int, f func(dst, x []float32)) *mat.Dense {
	x32 := make([]float32, nIn)
	y32 := make([]float32, nOut)
	return testDense(nOut, nIn, func(y, x []float64) {
		for i, v := range x {
			x32[i] = float32(v)
		}
		f(y32, x32)
		for i, v := range y32 {
			y[i] = float64(v)
		}
	})
}

// testSepDirect applies Y = sum_k sum_l wr(i, k) wc(j, l) X[k, l] per
// channel, where the weights are given on unfolded integer positions in
// [lo, hi] and folded onto the image here.
type testTaps func(i int) (lo, hi int, w func(k int) float64)

func testSepDirect(in Shape, mr, mc int, rows, cols testTaps) *mat.Dense {
	return testDense(in.C*mr*mc, in.Len(), func(y, x []float64) {
		for c := range in.C {
			for i := range mr {
				rlo, rhi, wr := rows(i)
				for j := range mc {
					clo, chi, wc := cols(j)
					sum := 0.0
					for k := rlo; k <= rhi; k++ {
						for l := clo; l <= chi; l++ {
							sum += wr(k) * wc(l) * x[c*in.H*in.W+testFold(k, in.H)*in.W+testFold(l, in.W)]
						}
					}
					y[c*mr*mc+i*mc+j] = sum
				}
			}
		}
	})
}

// testBicubicTaps gives the taps of antialiased bicubic downsampling by f.
func testBicubicTaps(f int) testTaps {
	return func(i int) (int, int, func(int) float64) {
		c := (float64(i)+0.5)*float64(f) - 0.5
		return int(math.Floor(c)) - 2*f, int(math.Ceil(c)) + 2*f, func(k int) float64 {
			return testCubic((float64(k)-c)/float64(f)) / float64(f)
		}
	}
}

// testBlockTaps gives the taps of the mean over blocks of f samples.
func testBlockTaps(f int) testTaps {
	return func(i int) (int, int, func(int) float64) {
		return i * f, (i+1)*f - 1, func(int) float64 { return 1 / float64(f) }
	}
}

// testConvTaps gives the taps of the centred convolution with kernel.
func testConvTaps(kernel []float64) testTaps {
	r := len(kernel) / 2
	return func(i int) (int, int, func(int) float64) {
		return i - r, i + r, func(k int) float64 { return kernel[i+r-k] }
	}
}

func testGauss(sigma float64, radius int) []float64 {
	k := make([]float64, 2*radius+1)
	sum := 0.0
	for i := -radius; i <= radius; i++ {
		k[i+radius] = math.Exp(-float64(i*i) / (2 * sigma * sigma))
		sum += k[i+radius]
	}
	for i := range k {
		k[i] /= sum
	}
	return k
}

type opCase struct {
	name   string
	op     Operator
	err    error
	direct *mat.Dense
}

func testOperatorCases(t *testing.T) []opCase {
	t.Helper()
	must := func(k []float64, err error) []float64 {
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	var cases []opCase
	add := func(name string, op Operator, err error, direct *mat.Dense) {
		cases = append(cases, opCase{name, op, err, direct})
	}

	for _, s := range []Shape{{3, 6, 10}, {1, 5, 7}} {
		add("identity "+s.String(), NewIdentity(s), nil, testDense(s.Len(), s.Len(), func(y, x []float64) { copy(y, x) }))
	}

	for _, s := range []Shape{{3, 6, 10}, {1, 5, 7}} {
		keep := RandomMask(s.H, s.W, 0.4, 7)
		op, err := NewInpaint(s, keep)
		add("inpaint "+s.String(), op, err, testDense(s.Len(), s.Len(), func(y, x []float64) {
			for i := range x {
				if keep[i%(s.H*s.W)] {
					y[i] = x[i]
				}
			}
		}))
	}

	{
		s := Shape{3, 4, 5}
		op, err := NewColorize(s)
		n := s.H * s.W
		add("colorize "+s.String(), op, err, testDense(n, s.Len(), func(y, x []float64) {
			for p := range n {
				y[p] = (x[p] + x[n+p] + x[2*n+p]) / 3
			}
		}))
	}

	for _, tc := range []struct {
		s Shape
		f int
	}{{Shape{3, 6, 10}, 2}, {Shape{1, 4, 8}, 4}, {Shape{1, 6, 9}, 3}, {Shape{2, 3, 5}, 1}} {
		op, err := NewBicubicDown(tc.s, tc.f)
		add("bicubic x"+string(rune('0'+tc.f))+" "+tc.s.String(), op, err,
			testSepDirect(tc.s, tc.s.H/tc.f, tc.s.W/tc.f, testBicubicTaps(tc.f), testBicubicTaps(tc.f)))
	}

	for _, tc := range []struct {
		s Shape
		f int
	}{{Shape{3, 6, 10}, 2}, {Shape{1, 6, 9}, 3}} {
		op, err := NewBlockAverage(tc.s, tc.f)
		add("block average x"+string(rune('0'+tc.f))+" "+tc.s.String(), op, err,
			testSepDirect(tc.s, tc.s.H/tc.f, tc.s.W/tc.f, testBlockTaps(tc.f), testBlockTaps(tc.f)))
	}

	blur := func(name string, s Shape, kr, kc []float64) {
		op, err := NewBlur(s, kr, kc)
		add(name+" "+s.String(), op, err, testSepDirect(s, s.H, s.W, testConvTaps(kr), testConvTaps(kc)))
	}
	g1 := must(GaussianKernel(1))
	blur("gaussian sigma 1", Shape{3, 6, 10}, g1, g1)
	u3 := must(UniformKernel(3))
	// 6 and 9 are multiples of 3, so this blur has exact zero singular values.
	blur("uniform 3", Shape{1, 6, 9}, u3, u3)
	blur("uniform 3", Shape{3, 6, 10}, u3, u3)
	// 17 taps on 6 rows: indices fold several times.
	blur("anisotropic sigma 2 x 0.5", Shape{2, 6, 10}, must(GaussianKernel(2)), must(GaussianKernel(0.5)))
	blur("anisotropic uniform 5 x sigma 1", Shape{1, 7, 9}, must(UniformKernel(5)), g1)
	// Asymmetric kernels pin down convolution (not correlation) order.
	blur("asymmetric", Shape{1, 5, 6}, []float64{0.1, 0.3, 0.6}, []float64{0.5, 0.2, 0.1, 0.1, 0.1})

	{
		s := Shape{2, 5, 7}
		r := rand.New(rand.NewPCG(3, 4))
		ar := mat.NewDense(3, 5, nil)
		ac := mat.NewDense(4, 7, nil)
		for _, a := range []*mat.Dense{ar, ac} {
			rows, cols := a.Dims()
			for i := range rows {
				for j := range cols {
					a.Set(i, j, r.NormFloat64())
				}
			}
		}
		op, err := NewSeparable(s, ar, ac)
		add("separable "+s.String(), op, err, testDense(2*3*4, s.Len(), func(y, x []float64) {
			for c := range 2 {
				for i := range 3 {
					for j := range 4 {
						for k := range 5 {
							for l := range 7 {
								y[c*12+i*4+j] += ar.At(i, k) * ac.At(j, l) * x[c*35+k*7+l]
							}
						}
					}
				}
			}
		}))
	}
	return cases
}

// testRelDiff returns ||a - b||_F / ||b||_F.
func testRelDiff(a, b mat.Matrix) float64 {
	var d mat.Dense
	d.Sub(a, b)
	return mat.Norm(&d, 2) / mat.Norm(b, 2)
}

func TestOperators(t *testing.T) {
	const tol = 1e-5
	for _, tc := range testOperatorCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err != nil {
				t.Fatal(tc.err)
			}
			op := tc.op
			nIn, nOut := op.InShape().Len(), op.OutShape().Len()
			sv := op.Singulars()
			if len(sv) != nIn {
				t.Fatalf("%d singular values, want %d", len(sv), nIn)
			}
			if r, c := tc.direct.Dims(); r != nOut || c != nIn {
				t.Fatalf("operator maps %d -> %d values, the direct computation %d -> %d", nIn, nOut, c, r)
			}

			h := testDense32(nOut, nIn, func(y, x []float32) { ApplyH(op, y, x) })
			if d := testRelDiff(h, tc.direct); d > tol {
				t.Errorf("H differs from the direct computation by %.3g", d)
			}
			ht := testDense32(nIn, nOut, func(x, y []float32) { ApplyHt(op, x, y) })
			if d := testRelDiff(ht, h.T()); d > tol {
				t.Errorf("H^T differs from the transpose of H by %.3g", d)
			}

			v := testDense32(nIn, nIn, op.V)
			vt := testDense32(nIn, nIn, op.Vt)
			var g mat.Dense
			g.Mul(v.T(), v)
			if d := testRelDiff(&g, testEye(nIn)); d > tol {
				t.Errorf("V is not orthonormal: |V^T V - I| = %.3g", d)
			}
			if d := testRelDiff(vt, v.T()); d > tol {
				t.Errorf("Vt differs from the transpose of V by %.3g", d)
			}

			u := testDense32(nOut, nIn, op.U)
			ut := testDense32(nIn, nOut, op.Ut)
			g.Reset()
			g.Mul(u, u.T())
			if d := testRelDiff(&g, testEye(nOut)); d > tol {
				t.Errorf("U is not orthonormal: |U U^T - I| = %.3g", d)
			}
			if d := testRelDiff(ut, u.T()); d > tol {
				t.Errorf("Ut differs from the transpose of U by %.3g", d)
			}
			// The columns of U are unit vectors on the components it reads
			// and zero on the others, which must include every one with s = 0
			// beyond the measurement's dimension.
			observed := 0
			for j := range nIn {
				n2 := mat.Dot(u.ColView(j), u.ColView(j))
				switch {
				case math.Abs(n2-1) < tol:
					observed++
				case n2 > tol:
					t.Fatalf("column %d of U has squared norm %.6g, want 0 or 1", j, n2)
				case sv[j] != 0:
					t.Fatalf("component %d has singular value %g but no column in U", j, sv[j])
				}
			}
			if observed != nOut {
				t.Errorf("U reads %d components, want %d", observed, nOut)
			}

			var usv mat.Dense
			usv.Mul(u, mat.NewDiagDense(nIn, testFloat64(sv)))
			usv.Mul(&usv, v.T())
			if d := testRelDiff(&usv, tc.direct); d > tol {
				t.Errorf("U diag(s) V^T differs from H by %.3g", d)
			}

			var svd mat.SVD
			if !svd.Factorize(tc.direct, mat.SVDThin) {
				t.Fatal("reference SVD failed")
			}
			want := make([]float64, nIn)
			copy(want, svd.Values(nil))
			got := testFloat64(sv)
			slices.Sort(got)
			slices.Reverse(got)
			for i := range want {
				if math.Abs(got[i]-want[i]) > tol*want[0] {
					t.Fatalf("singular value %d is %.8g, want %.8g", i, got[i], want[i])
				}
			}

			testPinv(t, op, &svd, want)
		})
	}
}

// testPinv checks that H^+ H x is the projection of x onto the row space of H
// spanned by the singular vectors above the cutoff. The cutoff is put in the
// widest gap between singular values in [0.01, 0.3] s_max: away from every
// value, so that float32 rounding cannot move one across it, and high enough
// that dividing by s does not amplify rounding much.
func testPinv(t *testing.T, op Operator, svd *mat.SVD, values []float64) {
	t.Helper()
	// With no singular value near [0.01, 0.3] s_max any cutoff there is clear.
	cutoff, ratio := 0.05*values[0], 2.0
	for _, s := range values {
		if s > 0.008*values[0] && s < 0.35*values[0] {
			ratio = 1
		}
	}
	if ratio == 1 {
		for i := 1; i < len(values); i++ {
			hi, lo := values[i-1], values[i]
			c := math.Sqrt(hi * max(lo, 1e-3*values[0]))
			if c >= 0.01*values[0] && c <= 0.3*values[0] && hi/c > ratio {
				cutoff, ratio = c, hi/c
			}
		}
	}
	if ratio < 1.001 {
		t.Fatal("no clear cutoff between the singular values")
	}
	nIn, nOut := op.InShape().Len(), op.OutShape().Len()
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, nIn)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	y := make([]float32, nOut)
	ApplyH(op, y, x)
	got := make([]float32, nIn)
	ApplyPinv(op, got, y, float32(cutoff))

	var v mat.Dense
	svd.VTo(&v)
	want := make([]float64, nIn)
	for k, s := range svd.Values(nil) {
		if s <= cutoff {
			continue
		}
		dot := 0.0
		for i := range nIn {
			dot += v.At(i, k) * float64(x[i])
		}
		for i := range nIn {
			want[i] += dot * v.At(i, k)
		}
	}
	var num, den float64
	for i := range want {
		d := float64(got[i]) - want[i]
		num += d * d
		den += want[i] * want[i]
	}
	if e := math.Sqrt(num / den); e > 1e-5 {
		t.Errorf("H^+ H x differs from the projection onto the row space by %.3g (cutoff %.3g)", e, cutoff)
	}
}

func testEye(n int) *mat.Dense {
	d := mat.NewDense(n, n, nil)
	for i := range n {
		d.Set(i, i, 1)
	}
	return d
}

func testFloat64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

func TestOperatorErrors(t *testing.T) {
	even := []float64{0.25, 0.25, 0.25, 0.25}
	odd := []float64{0.25, 0.5, 0.25}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"bicubic height", testErr(NewBicubicDown(Shape{3, 250, 256}, 4)), "image height 250 is not divisible by the factor 4; crop or pad to a multiple of 4"},
		{"bicubic width", testErr(NewBicubicDown(Shape{3, 256, 250}, 4)), "image width 250 is not divisible"},
		{"bicubic factor", testErr(NewBicubicDown(Shape{3, 8, 8}, 0)), "factor 0 must be at least 1"},
		{"block height", testErr(NewBlockAverage(Shape{1, 9, 8}, 2)), "image height 9 is not divisible by the factor 2"},
		{"block width", testErr(NewBlockAverage(Shape{1, 8, 9}, 8)), "image width 9 is not divisible by the factor 8"},
		{"empty shape", testErr(NewBlockAverage(Shape{3, 0, 8}, 2)), "invalid image shape 3x0x8"},
		{"uniform even", testErr(UniformKernel(4)), "4 taps; use a positive odd number"},
		{"uniform zero", testErr(UniformKernel(0)), "0 taps"},
		{"uniform huge", testErr(UniformKernel(1<<40 + 1)), "too many"},
		{"blur even rows", testErr(NewBlur(Shape{1, 8, 8}, even, odd)), "row kernel has 4 taps; use an odd number"},
		{"blur even cols", testErr(NewBlur(Shape{1, 8, 8}, odd, nil)), "column kernel has 0 taps"},
		{"blur nan", testErr(NewBlur(Shape{1, 8, 8}, []float64{math.NaN()}, odd)), "non-finite weight"},
		{"gaussian zero", testErr(GaussianKernel(0)), "sigma 0 is not a positive number"},
		{"gaussian nan", testErr(GaussianKernel(math.NaN())), "not a positive number"},
		{"gaussian inf", testErr(GaussianKernel(math.Inf(1))), "not a positive number"},
		{"gaussian huge", testErr(GaussianKernel(1e9)), "too large"},
		{"colorize gray", testErr(NewColorize(Shape{1, 4, 4})), "image has 1 channels, need 3"},
		{"inpaint mask", testErr(NewInpaint(Shape{3, 4, 5}, make([]bool, 19))), "mask has 19 entries but the 4x5 image has 20 pixels"},
		{"separable rows", testErr(NewSeparable(Shape{1, 4, 5}, mat.NewDense(5, 4, nil), testEye(5))), "row matrix (height axis) is 5x4"},
		{"separable cols", testErr(NewSeparable(Shape{1, 4, 5}, testEye(4), testEye(4))), "column matrix (width axis) is 4x4"},
		{"separable nil", testErr(NewSeparable(Shape{1, 4, 5}, nil, testEye(5))), "missing 1-D matrix"},
		{"resize size", testErr(ResizeBicubic(NewTensor(1, Shape{1, 4, 4}), 0, 3)), "target size 0x3 is empty"},
		{"resize nil", testErr(ResizeBicubic(nil, 2, 2)), "no input tensor"},
		{"resize data", testErr(ResizeBicubic(&Tensor{N: 2, Shape: Shape{1, 2, 2}, Data: make([]float32, 4)}, 2, 2)), "holds 4 values"},
	} {
		if tc.err == nil {
			t.Errorf("%s: no error, want one containing %q", tc.name, tc.want)
		} else if !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: error %q does not contain %q", tc.name, tc.err, tc.want)
		}
	}
}

func testErr[T any](_ T, err error) error { return err }

func TestRandomMask(t *testing.T) {
	for _, tc := range []struct {
		h, w    int
		missing float64
		drop    int
	}{{6, 10, 0.5, 30}, {7, 9, 0.25, 16}, {5, 5, 0, 0}, {5, 5, 1, 25}, {4, 4, 1.7, 16}, {4, 4, -1, 0}, {4, 4, math.NaN(), 0}} {
		keep := RandomMask(tc.h, tc.w, tc.missing, 11)
		if len(keep) != tc.h*tc.w {
			t.Fatalf("%dx%d: mask of length %d", tc.h, tc.w, len(keep))
		}
		if got := tc.h*tc.w - testCount(keep); got != tc.drop {
			t.Errorf("%dx%d missing %v: %d pixels missing, want %d", tc.h, tc.w, tc.missing, got, tc.drop)
		}
	}
	a := RandomMask(16, 16, 0.5, 1)
	if !slices.Equal(a, RandomMask(16, 16, 0.5, 1)) {
		t.Error("the same seed gave different masks")
	}
	if slices.Equal(a, RandomMask(16, 16, 0.5, 2)) {
		t.Error("different seeds gave the same mask")
	}
	if len(RandomMask(0, 5, 0.5, 1)) != 0 {
		t.Error("an empty size gave a non-empty mask")
	}
	// Every pixel is about equally likely to be dropped.
	counts := make([]int, 12)
	for seed := range uint64(3000) {
		for i, k := range RandomMask(3, 4, 0.25, seed) {
			if !k {
				counts[i]++
			}
		}
	}
	for i, c := range counts {
		if c < 600 || c > 900 { // mean 750, sd about 24
			t.Errorf("pixel %d dropped %d times in 3000 masks, want about 750", i, c)
		}
	}
}

func testCount(b []bool) int {
	n := 0
	for _, v := range b {
		if v {
			n++
		}
	}
	return n
}

func TestGaussianKernel(t *testing.T) {
	// scipy.ndimage.gaussian_filter(truncate=4.0) uses int(4 sigma + 0.5) taps
	// on each side.
	for _, tc := range []struct {
		sigma float64
		taps  int
	}{{1, 9}, {1.1, 9}, {1.2, 11}, {0.5, 5}, {0.1, 1}, {3, 25}} {
		k, err := GaussianKernel(tc.sigma)
		if err != nil {
			t.Fatal(err)
		}
		if len(k) != tc.taps {
			t.Errorf("sigma %v: %d taps, want %d", tc.sigma, len(k), tc.taps)
			continue
		}
		want := testGauss(tc.sigma, tc.taps/2)
		for i := range k {
			if math.Abs(k[i]-want[i]) > 1e-15 {
				t.Errorf("sigma %v: tap %d is %v, want %v", tc.sigma, i, k[i], want[i])
			}
		}
	}
	k, _ := GaussianKernel(1)
	for i, want := range []float64{0.00013383062461474175, 0.0044318616200312655, 0.05399112742070441, 0.24197144565660073, 0.39894346935609776} {
		if math.Abs(k[i]-want) > 1e-15 || math.Abs(k[8-i]-want) > 1e-15 {
			t.Errorf("sigma 1: taps %d and %d are %v and %v, want %v", i, 8-i, k[i], k[8-i], want)
		}
	}
}

func TestResizeBicubic(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	x := NewTensor(2, Shape{2, 8, 12})
	for i := range x.Data {
		x.Data[i] = r.Float32()
	}

	// An integer factor is the bicubic downsampling operator.
	for _, f := range []int{2, 4} {
		got, err := ResizeBicubic(x, 8/f, 12/f)
		if err != nil {
			t.Fatal(err)
		}
		op, err := NewBicubicDown(x.Shape, f)
		if err != nil {
			t.Fatal(err)
		}
		want := make([]float32, op.OutShape().Len())
		for n := range x.N {
			ApplyH(op, want, x.Item(n))
			if d := testMaxDiff(got.Item(n), want); d > 1e-5 {
				t.Errorf("image %d: resize by 1/%d differs from NewBicubicDown by %.3g", n, f, d)
			}
		}
	}

	// Other sizes, enlarging and shrinking, against the formula: Keys
	// weights (stretched by the ratio when shrinking) normalised per output.
	taps := func(nIn, nOut int) testTaps {
		scale := float64(nIn) / float64(nOut)
		width := max(scale, 1)
		return func(i int) (int, int, func(int) float64) {
			c := (float64(i)+0.5)*scale - 0.5
			lo, hi := int(math.Floor(c-2*width)), int(math.Ceil(c+2*width))
			sum := 0.0
			for k := lo; k <= hi; k++ {
				sum += testCubic((float64(k) - c) / width)
			}
			return lo, hi, func(k int) float64 { return testCubic((float64(k)-c)/width) / sum }
		}
	}
	for _, size := range [][2]int{{8, 12}, {19, 30}, {5, 7}, {3, 20}, {1, 1}} {
		got, err := ResizeBicubic(x, size[0], size[1])
		if err != nil {
			t.Fatal(err)
		}
		if got.N != x.N || got.Shape != (Shape{2, size[0], size[1]}) {
			t.Fatalf("resize to %v gave %d images of %v", size, got.N, got.Shape)
		}
		d := testSepDirect(x.Shape, size[0], size[1], taps(8, size[0]), taps(12, size[1]))
		for n := range x.N {
			want := make([]float64, d.RawMatrix().Rows)
			in := testFloat64(x.Item(n))
			for i := range want {
				want[i] = mat.Dot(d.RowView(i), mat.NewVecDense(len(in), in))
			}
			if e := testMaxDiff(got.Item(n), testFloat32(want)); e > 1e-5 {
				t.Errorf("resize to %v, image %d: differs from the formula by %.3g", size, n, e)
			}
		}
	}
	same, _ := ResizeBicubic(x, 8, 12)
	if e := testMaxDiff(same.Data, x.Data); e > 1e-6 {
		t.Errorf("resizing to the same size changed the image by %.3g", e)
	}
}

func testFloat32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

func testMaxDiff(a, b []float32) float64 {
	m := 0.0
	for i := range a {
		m = max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}

// TestSeparableLayout checks the spectral layout of separable operators: the
// null space is where i >= m_r or j >= m_c, and the package's own
// (centrosymmetric) matrices take the split, half-cost path.
func TestSeparableLayout(t *testing.T) {
	g, _ := GaussianKernel(1)
	s := Shape{2, 8, 12}
	for _, tc := range []struct {
		name  string
		build func() (Operator, error)
		split bool
	}{
		{"bicubic x4", func() (Operator, error) { return NewBicubicDown(s, 4) }, true},
		{"block average x2", func() (Operator, error) { return NewBlockAverage(s, 2) }, true},
		{"gaussian", func() (Operator, error) { return NewBlur(s, g, g) }, true},
		{"asymmetric", func() (Operator, error) { return NewBlur(s, []float64{0.2, 0.3, 0.5}, g) }, false},
	} {
		op, err := tc.build()
		if err != nil {
			t.Fatal(err)
		}
		so, ok := op.(*sepOperator)
		if !ok {
			t.Fatalf("%s: operator of type %T", tc.name, op)
		}
		if so.vr.split != tc.split || so.ur.split != tc.split {
			t.Errorf("%s: row factors split = %v, %v, want %v", tc.name, so.ur.split, so.vr.split, tc.split)
		}
		if !so.vc.split || !so.uc.split {
			t.Errorf("%s: the symmetric column factors are not split", tc.name)
		}
		mr, mc := op.OutShape().H, op.OutShape().W
		sv := op.Singulars()
		for c := range s.C {
			for i := range s.H {
				for j := range s.W {
					v := sv[(c*s.H+i)*s.W+j]
					if (i >= mr || j >= mc) && v != 0 {
						t.Errorf("%s: component (%d, %d, %d) outside the %dx%d block has s = %g", tc.name, c, i, j, mr, mc, v)
					}
					if i < mr && j < mc && !(v > 0) {
						t.Errorf("%s: component (%d, %d, %d) inside the block has s = %g", tc.name, c, i, j, v)
					}
				}
			}
		}
	}
}
