package bench

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// The references below are written out in plain loops and take routes of
// their own (a general eigensolver on S1 S2, Denman–Beavers iteration,
// closed forms), so that they share no code with fid.go.

// gaussianSet draws n rows of a d-dimensional Gaussian with mean shift and
// a random mixing, so that the covariance is full and not diagonal.
func gaussianSet(rng *rand.Rand, n, d int, shift float64, mix [][]float64) [][]float64 {
	rows := make([][]float64, n)
	for i := range rows {
		z := make([]float64, d)
		for j := range z {
			z[j] = rng.NormFloat64()
		}
		rows[i] = make([]float64, d)
		for j := range d {
			v := shift
			for k := range d {
				v += mix[j][k] * z[k]
			}
			rows[i][j] = v
		}
	}
	return rows
}

func randomMix(rng *rand.Rand, d int) [][]float64 {
	m := make([][]float64, d)
	for j := range m {
		m[j] = make([]float64, d)
		for k := range m[j] {
			m[j][k] = rng.NormFloat64() / math.Sqrt(float64(d))
		}
		m[j][j] += 1
	}
	return m
}

func dense(rows [][]float64) *mat.Dense {
	m := mat.NewDense(len(rows), len(rows[0]), nil)
	for i, r := range rows {
		m.SetRow(i, r)
	}
	return m
}

// moments returns the mean and the N-1 covariance of rows.
func moments(rows [][]float64) ([]float64, [][]float64) {
	n, d := len(rows), len(rows[0])
	mu := make([]float64, d)
	for _, r := range rows {
		for j, v := range r {
			mu[j] += v / float64(n)
		}
	}
	cov := make([][]float64, d)
	for j := range cov {
		cov[j] = make([]float64, d)
		for k := range cov[j] {
			for _, r := range rows {
				cov[j][k] += (r[j] - mu[j]) * (r[k] - mu[k])
			}
			cov[j][k] /= float64(n - 1)
		}
	}
	return mu, cov
}

func matmul(a, b [][]float64) [][]float64 {
	out := make([][]float64, len(a))
	for i := range a {
		out[i] = make([]float64, len(b[0]))
		for k := range b {
			for j := range b[0] {
				out[i][j] += a[i][k] * b[k][j]
			}
		}
	}
	return out
}

// fidReference computes FID with Tr(sqrt(S1 S2)) as the sum of the square
// roots of the eigenvalues of the non-symmetric S1 S2 from a general
// eigensolver, or, when denmanBeavers is set, as the trace of the square
// root of S1 S2 by Denman–Beavers iteration (which needs S1 S2 invertible).
func fidReference(t *testing.T, a, b [][]float64, denmanBeavers bool) float64 {
	t.Helper()
	mu1, s1 := moments(a)
	mu2, s2 := moments(b)
	d := len(mu1)
	var fid float64
	for j := range d {
		fid += (mu1[j]-mu2[j])*(mu1[j]-mu2[j]) + s1[j][j] + s2[j][j]
	}
	p := matmul(s1, s2)
	flat := make([]float64, 0, d*d)
	for _, r := range p {
		flat = append(flat, r...)
	}
	prod := mat.NewDense(d, d, flat)
	var tr float64
	if denmanBeavers {
		y := mat.DenseCopyOf(prod)
		z := mat.NewDense(d, d, nil)
		for i := range d {
			z.Set(i, i, 1)
		}
		for range 100 {
			var yi, zi mat.Dense
			if err := yi.Inverse(y); err != nil {
				t.Fatal(err)
			}
			if err := zi.Inverse(z); err != nil {
				t.Fatal(err)
			}
			var ny, nz mat.Dense
			ny.Add(y, &zi)
			ny.Scale(0.5, &ny)
			nz.Add(z, &yi)
			nz.Scale(0.5, &nz)
			y, z = &ny, &nz
		}
		tr = mat.Trace(y)
	} else {
		var eig mat.Eigen
		if !eig.Factorize(prod, mat.EigenNone) {
			t.Fatal("eigen did not converge")
		}
		vals := eig.Values(nil)
		var top float64
		for _, v := range vals {
			top = max(top, real(v))
		}
		// S1 S2 is singular with fewer images than dimensions; its zero
		// eigenvalues come out as rounding noise, whose square roots
		// (~1e-8) would swamp the comparison, so they count as 0.
		for _, v := range vals {
			if real(v) > 1e-12*top {
				tr += math.Sqrt(real(v))
			}
		}
	}
	return fid - 2*tr
}

func closeTo(got, want, rel float64) bool {
	return math.Abs(got-want) <= rel*max(1, math.Abs(want))
}

func TestFrechetDistanceMatchesIndependentReferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		name       string
		n1, n2, d  int
		fullRank   bool
		shift      float64
		wantSample bool // which route FrechetDistance takes
	}{
		{"covariances", 60, 45, 6, true, 0.7, false},
		{"samples, rank deficient", 7, 9, 16, false, 0.3, true},
		{"samples, square", 12, 12, 12, false, 1.5, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := gaussianSet(rng, tc.n1, tc.d, 0, randomMix(rng, tc.d))
			b := gaussianSet(rng, tc.n2, tc.d, tc.shift, randomMix(rng, tc.d))
			if viaSamples(tc.n1, tc.n2, tc.d) != tc.wantSample {
				t.Fatalf("test case takes the other route")
			}
			got, err := FrechetDistance(dense(a), dense(b))
			if err != nil {
				t.Fatal(err)
			}
			if want := fidReference(t, a, b, false); !closeTo(got, want, 1e-8) {
				t.Errorf("FID %.12g; general eigensolver gives %.12g", got, want)
			}
			if tc.fullRank {
				if want := fidReference(t, a, b, true); !closeTo(got, want, 1e-8) {
					t.Errorf("FID %.12g; Denman–Beavers gives %.12g", got, want)
				}
			}
		})
	}
}

func TestTraceSqrtRoutesAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, sz := range [][3]int{{30, 40, 5}, {5, 8, 20}} {
		ca, _ := centre(dense(gaussianSet(rng, sz[0], sz[2], 0, randomMix(rng, sz[2]))))
		cb, _ := centre(dense(gaussianSet(rng, sz[1], sz[2], 0, randomMix(rng, sz[2]))))
		s, err := traceSqrtSamples(ca, cb)
		if err != nil {
			t.Fatal(err)
		}
		s /= math.Sqrt(float64((sz[0] - 1) * (sz[1] - 1)))
		c, err := traceSqrtCov(covariance(ca), covariance(cb))
		if err != nil {
			t.Fatal(err)
		}
		if !closeTo(s, c, 1e-7) {
			t.Errorf("%v: Tr sqrt(S1 S2) is %.12g from the samples, %.12g from the covariances", sz, s, c)
		}
	}
}

// diagonalSet returns 2d rows whose mean is mu and whose N-1 covariance is
// exactly diag(v): a pair of rows mu +- c e_j per dimension.
func diagonalSet(mu, v []float64) [][]float64 {
	d := len(mu)
	n := 2 * d
	var rows [][]float64
	for j := range d {
		// Each pair adds 2 c^2 to dimension j's sum of squares.
		c := math.Sqrt(v[j] * float64(n-1) / 2)
		for _, s := range []float64{1, -1} {
			r := append([]float64(nil), mu...)
			r[j] += s * c
			rows = append(rows, r)
		}
	}
	return rows
}

func TestFrechetDistanceClosedForms(t *testing.T) {
	// Diagonal covariances: FID = |mu1 - mu2|^2 + sum (sqrt(a_i) - sqrt(b_i))^2.
	for _, d := range []int{1, 3, 8} {
		mu1, mu2 := make([]float64, d), make([]float64, d)
		v1, v2 := make([]float64, d), make([]float64, d)
		var want float64
		for j := range d {
			mu1[j], mu2[j] = float64(j), 0.5-float64(j)/3
			v1[j], v2[j] = 0.5+float64(j), 2/(1+float64(j))
			want += (mu1[j]-mu2[j])*(mu1[j]-mu2[j]) + math.Pow(math.Sqrt(v1[j])-math.Sqrt(v2[j]), 2)
		}
		got, err := FrechetDistance(dense(diagonalSet(mu1, v1)), dense(diagonalSet(mu2, v2)))
		if err != nil {
			t.Fatal(err)
		}
		if !closeTo(got, want, 1e-10) {
			t.Errorf("d=%d diagonal: FID %.12g, want %.12g", d, got, want)
		}
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{5, 200} {
		if viaSamples(n, n, 10) != (n == 5) {
			t.Fatal("the sizes no longer take both routes")
		}
		a := gaussianSet(rng, n, 10, 0, randomMix(rng, 10))
		if got, err := FrechetDistance(dense(a), dense(a)); err != nil || math.Abs(got) > 1e-9 {
			t.Errorf("n=%d: identical sets give FID %g, %v; want 0", n, got, err)
		}
		// A translation moves only the means: FID = |delta|^2.
		delta := make([]float64, 10)
		var want float64
		for j := range delta {
			delta[j] = 0.1 * float64(j-4)
			want += delta[j] * delta[j]
		}
		b := make([][]float64, n)
		for i, r := range a {
			b[i] = make([]float64, 10)
			for j := range r {
				b[i][j] = r[j] + delta[j]
			}
		}
		if got, err := FrechetDistance(dense(a), dense(b)); err != nil || !closeTo(got, want, 1e-9) {
			t.Errorf("n=%d: translation gives FID %.12g, %v; want %.12g", n, got, err, want)
		}
	}
}

func TestFrechetDistanceErrors(t *testing.T) {
	two := dense([][]float64{{1, 2}, {3, 4}})
	for _, tc := range []struct {
		a, b *mat.Dense
		want []string
	}{
		{dense([][]float64{{1, 2}}), two, []string{"at least 2 images", "got 1 and 2", "unreliable"}},
		{two, dense([][]float64{{1, 2, 3}, {4, 5, 6}}), []string{"different dimensions (2 and 3)"}},
		{two, dense([][]float64{{1, math.NaN()}, {4, 5}}), []string{"NaN"}},
		{nil, two, []string{"non-empty"}},
	} {
		_, err := FrechetDistance(tc.a, tc.b)
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("got %v; want an error with %q", err, w)
			}
		}
	}
}

// mmdDirect is the unbiased MMD^2 of the whole sets with the cubic kernel,
// written out pair by pair.
func mmdDirect(x, y [][]float64) float64 {
	d := float64(len(x[0]))
	k := func(a, b []float64) float64 {
		var dot float64
		for i := range a {
			dot += a[i] * b[i]
		}
		return math.Pow(dot/d+1, 3)
	}
	m := float64(len(x))
	var xx, yy, xy float64
	for i := range x {
		for j := range x {
			if i != j {
				xx += k(x[i], x[j])
				yy += k(y[i], y[j])
			}
			xy += k(x[i], y[j])
		}
	}
	return xx/(m*(m-1)) + yy/(m*(m-1)) - 2*xy/(m*m)
}

func TestKIDMatchesDirectMMD(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	a := gaussianSet(rng, 40, 6, 0, randomMix(rng, 6))
	b := gaussianSet(rng, 40, 6, 0.4, randomMix(rng, 6))
	// Subsets as large as the sets are the sets themselves, in another order.
	mean, std, err := KID(dense(a), dense(b), 5, 40, 1)
	if err != nil {
		t.Fatal(err)
	}
	if want := mmdDirect(a, b); !closeTo(mean, want, 1e-10) || std > 1e-12*math.Abs(want) {
		t.Errorf("KID %.12g ± %g; direct MMD^2 %.12g", mean, std, want)
	}
	if mean < 0.01 {
		t.Errorf("KID %g of shifted sets is not clearly positive", mean)
	}
}

func TestKIDSameDistributionNearZero(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	mix := randomMix(rng, 8)
	a, b := dense(gaussianSet(rng, 300, 8, 0, mix)), dense(gaussianSet(rng, 300, 8, 0, mix))
	mean, std, err := KID(a, b, KIDSubsets, 100, 2)
	if err != nil {
		t.Fatal(err)
	}
	shifted, _, _ := KID(a, dense(gaussianSet(rng, 300, 8, 0.5, mix)), KIDSubsets, 100, 2)
	if math.Abs(mean) > 3*std || math.Abs(mean) > shifted/20 {
		t.Errorf("same distribution: KID %g ± %g; a shifted one gives %g", mean, std, shifted)
	}
	again, againStd, _ := KID(a, b, KIDSubsets, 100, 2)
	other, _, _ := KID(a, b, KIDSubsets, 100, 3)
	if again != mean || againStd != std || other == mean {
		t.Errorf("seed 2 gave %g then %g; seed 3 gave %g", mean, again, other)
	}
}

func TestKIDPerSubsetKernelsMatchWholeGram(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	a, b := dense(gaussianSet(rng, 50, 4, 0, randomMix(rng, 4))), dense(gaussianSet(rng, 60, 4, 0.2, randomMix(rng, 4)))
	whole, wholeStd, err := KID(a, b, 20, 10, 5)
	if err != nil {
		t.Fatal(err)
	}
	defer func(v int) { kidWholeGram = v }(kidWholeGram)
	kidWholeGram = 0
	per, perStd, err := KID(a, b, 20, 10, 5)
	if err != nil || !closeTo(per, whole, 1e-12) || !closeTo(perStd, wholeStd, 1e-10) {
		t.Errorf("per-subset kernels give %g ± %g, %v; the whole Gram matrix %g ± %g", per, perStd, err, whole, wholeStd)
	}
}

func TestKIDErrors(t *testing.T) {
	a := dense([][]float64{{1, 2}, {3, 4}, {5, 6}})
	for _, tc := range []struct {
		subsets, size int
		want          string
	}{
		{0, 0, "at least 1 subset"},
		{10, 4, "between 2 and"},
		{10, 1, "between 2 and"},
	} {
		if _, _, err := KID(a, a, tc.subsets, tc.size, 0); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("subsets %d of %d: %v; want %q", tc.subsets, tc.size, err, tc.want)
		}
	}
	if _, _, err := KID(dense([][]float64{{1, 2}}), a, 10, 0, 0); err == nil || !strings.Contains(err.Error(), "at least 2") {
		t.Errorf("one image: %v", err)
	}
}
