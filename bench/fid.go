package bench

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/restorelab/restorelab/restore"
)

// Distribution metrics: FID and KID compare the Inception features of the
// restored images with those of the clean images, as sets. Both are
// computed in float64 from feature matrices with one row per image.

// FrechetDistance returns the Fréchet distance between Gaussians fitted to
// the rows of a and b, the FID when the rows are Inception pool3 features:
//
//	|mu_a - mu_b|^2 + Tr(S_a) + Tr(S_b) - 2 Tr(sqrt(S_a S_b))
//
// with covariances normalised by N - 1. Each set needs at least 2 rows,
// though FID over few images is unreliable: it is biased upward and noisy,
// and published values use thousands. Rounding can make the distance of
// (nearly) equal sets slightly negative; it is clamped at 0.
func FrechetDistance(a, b *mat.Dense) (float64, error) {
	if err := checkSets("FID", a, b); err != nil {
		return 0, err
	}
	ca, mua := centre(a)
	cb, mub := centre(b)
	na, d := ca.Dims()
	nb, _ := cb.Dims()
	var dist float64
	for j := range d {
		dm := mua[j] - mub[j]
		dist += dm * dm
	}
	sa, sb := float64(na-1), float64(nb-1)
	trA := frobenius2(ca) / sa
	trB := frobenius2(cb) / sb
	var cross float64
	var err error
	if viaSamples(na, nb, d) {
		cross, err = traceSqrtSamples(ca, cb)
		cross /= math.Sqrt(sa * sb)
	} else {
		cross, err = traceSqrtCov(covariance(ca), covariance(cb))
	}
	if err != nil {
		return 0, err
	}
	return max(0, dist+trA+trB-2*cross), nil
}

// viaSamples says whether FrechetDistance decomposes the na x nb cross
// product of the samples rather than the d x d covariances. The former
// avoids the covariances' rank deficiency when there are fewer images than
// features, and is cheaper up to about 3d images per set: with d = 2048 and
// 2100 images per set it took 6 s against 4 minutes for the covariances'
// eigendecompositions (gonum, two loaded cores).
func viaSamples(na, nb, d int) bool { return na*nb <= 9*d*d }

// checkSets checks that a and b are feature sets FID or KID can compare.
func checkSets(what string, a, b *mat.Dense) error {
	if a == nil || b == nil || a.IsEmpty() || b.IsEmpty() {
		return fmt.Errorf("%s needs two non-empty feature sets", what)
	}
	na, da := a.Dims()
	nb, db := b.Dims()
	if da != db {
		return fmt.Errorf("%s: feature sets of different dimensions (%d and %d); both must come from the same feature network", what, da, db)
	}
	if na < 2 || nb < 2 {
		return fmt.Errorf("%s needs at least 2 images per set; got %d and %d (and over few images it is unreliable: biased upward and noisy; published values use thousands)", what, na, nb)
	}
	for _, m := range []*mat.Dense{a, b} {
		r, c := m.Dims()
		for i := range r {
			for j := range c {
				if v := m.At(i, j); math.IsNaN(v) || math.IsInf(v, 0) {
					return fmt.Errorf("%s: feature %d of image %d is %v", what, j, i, v)
				}
			}
		}
	}
	return nil
}

// centre returns the rows of x minus their mean, and the mean.
func centre(x *mat.Dense) (*mat.Dense, []float64) {
	n, d := x.Dims()
	mu := make([]float64, d)
	for i := range n {
		for j := range d {
			mu[j] += x.At(i, j)
		}
	}
	for j := range mu {
		mu[j] /= float64(n)
	}
	c := mat.NewDense(n, d, nil)
	c.Apply(func(i, j int, v float64) float64 { return v - mu[j] }, x)
	return c, mu
}

func frobenius2(x *mat.Dense) float64 {
	f := mat.Norm(x, 2)
	return f * f
}

// covariance is C^T C / (n - 1) for centred rows C.
func covariance(c *mat.Dense) *mat.SymDense {
	n, d := c.Dims()
	s := mat.NewSymDense(d, nil)
	s.SymOuterK(1/float64(n-1), c.T())
	return s
}

// traceSqrtSamples returns Tr(sqrt(A^T A B^T B)) for centred rows A and B:
// the eigenvalues of A^T A B^T B are the squared singular values of A B^T
// (A^T A B^T B and A B^T B A^T share their non-zero eigenvalues), so the
// trace is the nuclear norm of A B^T.
func traceSqrtSamples(a, b *mat.Dense) (float64, error) {
	var cross mat.Dense
	cross.Mul(a, b.T())
	var svd mat.SVD
	if !svd.Factorize(&cross, mat.SVDNone) {
		return 0, fmt.Errorf("FID: the singular value decomposition did not converge")
	}
	var sum float64
	for _, s := range svd.Values(nil) {
		sum += s
	}
	return sum, nil
}

// traceSqrtCov returns Tr(sqrt(S1 S2)) for covariances S1 and S2 as the sum
// of the square roots of the eigenvalues of sqrt(S1) S2 sqrt(S1), which is
// similar to S1 S2 but symmetric positive semi-definite, so that a symmetric
// eigensolver applies. Eigenvalues below 0 are rounding and count as 0.
func traceSqrtCov(s1, s2 *mat.SymDense) (float64, error) {
	d := s1.SymmetricDim()
	var eig mat.EigenSym
	if !eig.Factorize(s1, true) {
		return 0, fmt.Errorf("FID: the eigendecomposition of the covariance did not converge")
	}
	vals := eig.Values(nil)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	// root = V diag(sqrt(l)) V^T
	scaled := mat.NewDense(d, d, nil)
	scaled.Apply(func(_, j int, v float64) float64 { return v * math.Sqrt(max(vals[j], 0)) }, &vecs)
	var root, tmp, m mat.Dense
	root.Mul(scaled, vecs.T())
	tmp.Mul(&root, s2)
	m.Mul(&tmp, &root)
	sym := mat.NewSymDense(d, nil)
	for i := range d {
		for j := i; j < d; j++ {
			sym.SetSym(i, j, (m.At(i, j)+m.At(j, i))/2)
		}
	}
	if !eig.Factorize(sym, false) {
		return 0, fmt.Errorf("FID: the eigendecomposition of sqrt(S1) S2 sqrt(S1) did not converge")
	}
	var sum float64
	for _, l := range eig.Values(vals) {
		sum += math.Sqrt(max(l, 0))
	}
	return sum, nil
}

// KID settings of clean-fid.
const (
	// KIDSubsets is the number of random subsets KID averages over.
	KIDSubsets = 100
	// KIDMaxSubset caps the size of each subset.
	KIDMaxSubset = 1000
)

// kidWholeGram is the largest number of images of both sets together for
// which KID computes every kernel value once (a matrix of that size
// squared, 128 MiB) rather than once per subset. A variable so that tests
// can take both paths.
var kidWholeGram = 4096

// KID returns the kernel inception distance between the rows of a and b:
// the unbiased estimate of the squared maximum mean discrepancy with the
// kernel k(x, y) = (x.y / d + 1)^3, averaged over subsets random subsets of
// subsetSize rows of each set, drawn without replacement within a subset.
// subsetSize 0 means min(len(a), len(b), KIDMaxSubset), as clean-fid. std is
// the standard deviation of the subsets' estimates (normalised by their
// number), which shows how much the estimate depends on the draw. The draws
// are fixed by seed. The estimate is unbiased, so it can be slightly
// negative when the sets are alike.
func KID(a, b *mat.Dense, subsets, subsetSize int, seed uint64) (mean, std float64, err error) {
	if err := checkSets("KID", a, b); err != nil {
		return 0, 0, err
	}
	na, d := a.Dims()
	nb, _ := b.Dims()
	if subsets < 1 {
		return 0, 0, fmt.Errorf("KID needs at least 1 subset; got %d", subsets)
	}
	m := subsetSize
	if m == 0 {
		m = min(na, nb, KIDMaxSubset)
	}
	if m < 2 || m > min(na, nb) {
		return 0, 0, fmt.Errorf("KID subset size %d must be between 2 and the size of the smaller set, %d", m, min(na, nb))
	}
	var whole *mat.SymDense
	if na+nb <= kidWholeGram {
		whole = polyKernel(stack(a, b, identity(na), identity(nb)), d)
	}
	rng := rand.New(rand.NewPCG(seed, 0x6b6964)) // "kid"
	permA, permB := identity(na), identity(nb)
	ia, ib := make([]int, m), make([]int, m)
	estimates := make([]float64, subsets)
	for s := range estimates {
		draw(rng, permA, ia)
		draw(rng, permB, ib)
		if whole != nil {
			for i := range ib {
				ib[i] += na // b's rows follow a's in the stacked matrix
			}
			estimates[s] = mmd2(whole, ia, ib)
			continue
		}
		k := polyKernel(stack(a, b, ia, ib), d)
		estimates[s] = mmd2(k, identity(m), offset(identity(m), m))
	}
	for _, e := range estimates {
		mean += e
	}
	mean /= float64(subsets)
	for _, e := range estimates {
		std += (e - mean) * (e - mean)
	}
	return mean, math.Sqrt(std / float64(subsets)), nil
}

// stack returns the rows ia of a followed by the rows ib of b.
func stack(a, b *mat.Dense, ia, ib []int) *mat.Dense {
	_, d := a.Dims()
	out := mat.NewDense(len(ia)+len(ib), d, nil)
	for i, r := range ia {
		out.SetRow(i, a.RawRowView(r))
	}
	for i, r := range ib {
		out.SetRow(len(ia)+i, b.RawRowView(r))
	}
	return out
}

// polyKernel returns the kernel matrix (x_i.x_j / d + 1)^3 of the rows of x.
func polyKernel(x *mat.Dense, d int) *mat.SymDense {
	n, _ := x.Dims()
	k := mat.NewSymDense(n, nil)
	k.SymOuterK(1/float64(d), x)
	raw := k.RawSymmetric()
	for i := range n {
		row := raw.Data[i*raw.Stride:]
		for j := i; j < n; j++ {
			v := row[j] + 1
			row[j] = v * v * v
		}
	}
	return k
}

// mmd2 is the unbiased estimate of MMD^2 between the samples at indices x
// and y of kernel matrix k: the within-set means leave out the diagonal,
// the cross mean takes every pair.
func mmd2(k *mat.SymDense, x, y []int) float64 {
	m := float64(len(x))
	within := func(idx []int) float64 {
		var s float64
		for p, i := range idx {
			for _, j := range idx[p+1:] {
				s += k.At(i, j)
			}
		}
		return 2 * s / (m * (m - 1))
	}
	var cross float64
	for _, i := range x {
		for _, j := range y {
			cross += k.At(i, j)
		}
	}
	return within(x) + within(y) - 2*cross/(m*m)
}

func identity(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	return p
}

func offset(p []int, by int) []int {
	for i := range p {
		p[i] += by
	}
	return p
}

// draw fills dst with len(dst) distinct entries of perm, chosen uniformly
// by a partial Fisher–Yates shuffle. perm stays a permutation, so it serves
// every draw.
func draw(rng *rand.Rand, perm, dst []int) {
	for i := range dst {
		j := i + rng.IntN(len(perm)-i)
		perm[i], perm[j] = perm[j], perm[i]
		dst[i] = perm[i]
	}
}

// toDense stacks feature vectors as the rows of a matrix.
func toDense(rows [][]float32) *mat.Dense {
	if len(rows) == 0 {
		return nil
	}
	d := len(rows[0])
	out := mat.NewDense(len(rows), d, nil)
	for i, r := range rows {
		row := out.RawRowView(i)
		for j, v := range r {
			row[j] = float64(v)
		}
	}
	return out
}

// Featurizer maps a batch of images with values in [0, 1] to one feature
// vector per image; *models.Inception is one.
type Featurizer interface {
	Features(ctx context.Context, x *restore.Tensor) ([][]float32, error)
}

// NoFeatures is what a table with FID and KID columns shows for a method
// whose distances were not computed.
const NoFeatures = "n/a (not computed)"

// Metrics are the distribution scores of one task and method: how far the
// features of its restored images lie from those of the clean images.
type Metrics struct {
	Task   string `json:"task"`
	Method string `json:"method"`
	// Images is the number of images in each of the two sets.
	Images int `json:"images"`
	// Features is the dimension of the feature vectors.
	Features int      `json:"features"`
	FID      *float64 `json:"fid,omitempty"`
	KIDMean  *float64 `json:"kid_mean,omitempty"`
	// KIDStd is the spread of KID, nil when there is none to give: with at
	// most KIDMaxSubset images in each set every subset is the whole set.
	// KIDSpread says which spread it is.
	KIDStd    *float64 `json:"kid_std,omitempty"`
	KIDSpread string   `json:"kid_spread,omitempty"`
	// FIDLow and FIDHigh bound the central 95% of a bootstrap over images
	// (DistanceOptions.Bootstrap), when one was asked for.
	FIDLow  *float64 `json:"fid_low,omitempty"`
	FIDHigh *float64 `json:"fid_high,omitempty"`
	// FewImages flags sets smaller than the feature dimension: FID is then
	// biased upward, falling as the number of images grows, so it compares
	// only at equal numbers of images; KID stays unbiased but is noisy.
	FewImages bool `json:"few_images,omitempty"`
	// Problem says why FID and KID are missing, such as too few images.
	Problem string `json:"problem,omitempty"`
}

// Spreads of KID, as Metrics.KIDSpread names them.
const (
	KIDSpreadWholeSet  = "n/a (whole set)"
	KIDSpreadSubsets   = "std over subsets"
	KIDSpreadBootstrap = "std over bootstrap resamples of the images"
)

// DistanceOptions set how Distances computes FID and KID.
type DistanceOptions struct {
	// Seed fixes KID's subsets and the bootstrap's draws.
	Seed uint64
	// Bootstrap, when at least 2, resamples each task and method's image
	// pairs that many times for FID's interval and KID's spread.
	Bootstrap int
	// Progress, if not nil, is called before each image's features.
	Progress func(done, total int, what string)
}

// SetDistances computes FID and KID between two feature sets of at least 2
// images each into m, with KID's spread and the few-image flag, and with
// a bootstrap when opt asks for one (paired: the rows are pairs).
func SetDistances(ctx context.Context, m *Metrics, a, b *mat.Dense, paired bool, opt DistanceOptions) error {
	na, d := a.Dims()
	nb, _ := b.Dims()
	fid, err := FrechetDistance(a, b)
	if err != nil {
		return err
	}
	kid, kidStd, err := KID(a, b, KIDSubsets, 0, opt.Seed)
	if err != nil {
		return err
	}
	m.Features, m.FID, m.KIDMean, m.FewImages = d, &fid, &kid, min(na, nb) < d
	if s := min(na, nb, KIDMaxSubset); s == na && s == nb {
		m.KIDSpread = KIDSpreadWholeSet
	} else {
		m.KIDStd, m.KIDSpread = &kidStd, KIDSpreadSubsets
	}
	if opt.Bootstrap >= 2 {
		sp, err := Bootstrap(ctx, a, b, opt.Bootstrap, paired, opt.Seed)
		if err != nil {
			return err
		}
		m.FIDLow, m.FIDHigh, m.KIDStd, m.KIDSpread = &sp.Low, &sp.High, &sp.KIDStd, fmt.Sprintf("%s (%d)", KIDSpreadBootstrap, sp.Resamples)
	}
	return nil
}

// Distances computes FID and KID per task and method between the clean
// images and the method's restorations of them, with features from f. It
// reads both from the PNGs Run saved under out (see ImagePath), not from
// memory, so that a resumed run, whose earlier restorations exist only as
// files, and 'bench merge' of shards get the numbers a single run would;
// only the features stay in memory, and each clean image's are computed
// once for all tasks. A task and method with fewer than 2 images gets a
// Problem instead of numbers. KID takes KIDSubsets subsets of
// min(images, KIDMaxSubset) drawn with opt.Seed (see SetDistances).
func Distances(ctx context.Context, out string, results []Result, f Featurizer, opt DistanceOptions) ([]Metrics, error) {
	progress := opt.Progress
	type key struct{ task, method string }
	var order []key
	groups := map[key][]string{}
	cleanPaths := map[string]string{}
	var cleanOrder []string
	for _, r := range results {
		k := key{r.Task, r.Method}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r.Image)
		if _, ok := cleanPaths[r.Image]; !ok {
			// Every task saves the same clean image; one copy will do.
			cleanPaths[r.Image] = ImagePath(out, r.Task, r.Image, "clean")
			cleanOrder = append(cleanOrder, r.Image)
		}
	}
	done, total := 0, len(cleanOrder)+len(results)
	dim := -1
	features := func(path string) ([]float32, error) {
		if progress != nil {
			progress(done, total, "features of "+path)
		}
		done++
		x, err := restore.LoadImage(path)
		if err != nil {
			return nil, fmt.Errorf("FID and KID are computed from the saved images: %w", err)
		}
		fs, err := f.Features(ctx, restore.ToRGB(x))
		if err != nil {
			return nil, fmt.Errorf("features of %s: %w", path, err)
		}
		if len(fs) != 1 {
			return nil, fmt.Errorf("features of %s: got %d vectors for 1 image", path, len(fs))
		}
		if dim >= 0 && len(fs[0]) != dim {
			return nil, fmt.Errorf("features of %s: %d values; earlier images had %d", path, len(fs[0]), dim)
		}
		dim = len(fs[0])
		return fs[0], nil
	}
	clean := map[string][]float32{}
	for _, image := range cleanOrder {
		v, err := features(cleanPaths[image])
		if err != nil {
			return nil, err
		}
		clean[image] = v
	}
	var metrics []Metrics
	for _, k := range order {
		images := groups[k]
		var ref, restored [][]float32
		for _, image := range images {
			v, err := features(ImagePath(out, k.task, image, k.method))
			if err != nil {
				return nil, err
			}
			ref, restored = append(ref, clean[image]), append(restored, v)
		}
		m := Metrics{Task: k.task, Method: k.method, Images: len(images), Features: dim}
		if len(images) < 2 {
			m.Problem = fmt.Sprintf("FID and KID need at least 2 images; there is %d", len(images))
			metrics = append(metrics, m)
			continue
		}
		if err := SetDistances(ctx, &m, toDense(ref), toDense(restored), true, opt); err != nil {
			return nil, fmt.Errorf("%s %s: %w", k.task, k.method, err)
		}
		metrics = append(metrics, m)
	}
	if progress != nil {
		progress(total, total, "done")
	}
	return metrics, nil
}
