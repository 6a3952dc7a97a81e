package bench

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/restorelab/restorelab/restore"
)

// Stats are what FID needs of a set of images: the mean and covariance of
// their features, pytorch-fid's mu and sigma. Features, the feature vectors
// themselves (one row per image), are kept when known: KID and the
// bootstrap need them, and FID from them takes the exact path
// FrechetDistance takes for folders.
type Stats struct {
	N        int
	Mu       []float64
	Sigma    *mat.SymDense
	Features *mat.Dense
}

// NewStats returns the statistics of feature rows; it needs 2 rows at least.
func NewStats(features *mat.Dense) (Stats, error) {
	n, _ := features.Dims()
	if n < 2 {
		return Stats{}, fmt.Errorf("statistics need at least 2 images; got %d", n)
	}
	c, mu := centre(features)
	return Stats{N: n, Mu: mu, Sigma: covariance(c), Features: features}, nil
}

// Statistics files are .npz archives in pytorch-fid's layout (its
// save_fid_stats): mu, float64 of shape (d,), and sigma, float64 (d, d),
// which pytorch-fid's calculate_fid_given_paths reads in place of a folder.
// restorelab adds features, float64 (n, d), when known; pytorch-fid ignores
// them.
const (
	statsMu       = "mu"
	statsSigma    = "sigma"
	statsFeatures = "features"
)

// SaveStats writes s to path (see the layout above), atomically.
func SaveStats(path string, s Stats) error {
	d := len(s.Mu)
	arrays := []restore.NPZArray{
		{Name: statsMu, Shape: []int{d}, Float64: s.Mu},
		{Name: statsSigma, Shape: []int{d, d}, Float64: mat.NewDense(d, d, nil).RawMatrix().Data},
	}
	sigma := arrays[1].Float64
	for i := range d {
		for j := range d {
			sigma[i*d+j] = s.Sigma.At(i, j)
		}
	}
	if s.Features != nil {
		n, _ := s.Features.Dims()
		f := make([]float64, 0, n*d)
		for i := range n {
			f = append(f, s.Features.RawRowView(i)...)
		}
		arrays = append(arrays, restore.NPZArray{Name: statsFeatures, Shape: []int{n, d}, Float64: f})
	}
	return restore.WriteNPZ(path, arrays)
}

// LoadStats reads a statistics file: one SaveStats wrote, or pytorch-fid's
// (mu and sigma only; N is then unknown, 0, and KID needs the images).
func LoadStats(path string) (Stats, error) {
	arrays, err := restore.ReadNPZ(path)
	if err != nil {
		return Stats{}, err
	}
	mu, sigma := arrays[statsMu], arrays[statsSigma]
	d := len(mu.Data)
	switch {
	case mu.Float64 == nil && mu.Data == nil || sigma.Data == nil:
		return Stats{}, fmt.Errorf("%s has no mu and sigma; a statistics file holds the features' mean and covariance as pytorch-fid saves them (restorelab metrics --save-stats writes one)", path)
	case len(mu.Shape) != 1 || !slices.Equal(sigma.Shape, []int{d, d}):
		return Stats{}, fmt.Errorf("%s: mu has shape %v and sigma %v; they must be (d,) and (d, d)", path, mu.Shape, sigma.Shape)
	}
	s := Stats{Mu: float64s(mu), Sigma: mat.NewSymDense(d, nil)}
	sig := float64s(sigma)
	for i := range d {
		for j := i; j < d; j++ {
			s.Sigma.SetSym(i, j, (sig[i*d+j]+sig[j*d+i])/2)
		}
	}
	if f, ok := arrays[statsFeatures]; ok {
		if len(f.Shape) != 2 || f.Shape[1] != d {
			return Stats{}, fmt.Errorf("%s: features have shape %v; they must be (n, %d)", path, f.Shape, d)
		}
		s.N = f.Shape[0]
		s.Features = mat.NewDense(s.N, d, float64s(f))
	}
	for _, v := range append(slices.Clone(s.Mu), sig...) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Stats{}, fmt.Errorf("%s holds %v; the statistics are corrupt", path, v)
		}
	}
	return s, nil
}

func float64s(a restore.NPZArray) []float64 {
	if a.Float64 != nil {
		return a.Float64
	}
	out := make([]float64, len(a.Data))
	for i, v := range a.Data {
		out[i] = float64(v)
	}
	return out
}

// FID returns the Fréchet distance between two sets. With the features of
// both it is FrechetDistance; otherwise it is computed from mu and sigma,
// as pytorch-fid does.
func FID(a, b Stats) (float64, error) {
	if a.Features != nil && b.Features != nil {
		return FrechetDistance(a.Features, b.Features)
	}
	if len(a.Mu) != len(b.Mu) {
		return 0, fmt.Errorf("FID: statistics of different dimensions (%d and %d); both must come from the same feature network", len(a.Mu), len(b.Mu))
	}
	var dist float64
	for j := range a.Mu {
		dm := a.Mu[j] - b.Mu[j]
		dist += dm * dm
	}
	cross, err := traceSqrtCov(a.Sigma, b.Sigma)
	if err != nil {
		return 0, err
	}
	return max(0, dist+mat.Trace(a.Sigma)+mat.Trace(b.Sigma)-2*cross), nil
}

// Spread is the uncertainty of a set distance from a bootstrap over
// images: the distance recomputed on Resamples draws of each set with
// replacement.
type Spread struct {
	Resamples int
	// Low and High bound the central 95% of the resampled FIDs; KIDStd is
	// the standard deviation of the resampled KIDs.
	Low, High, KIDStd float64
}

// Bootstrap resamples the images of both feature sets with replacement
// (independently, or by the same draw when paired: the rows of a and b are
// then images and their restorations) k times, seeded, and returns the
// spread of FID and KID. KID on a resample takes one subset of the whole
// resample, as the whole-set estimate it is compared with.
func Bootstrap(ctx context.Context, a, b *mat.Dense, k int, paired bool, seed uint64) (Spread, error) {
	if err := checkSets("bootstrap", a, b); err != nil {
		return Spread{}, err
	}
	if k < 2 {
		return Spread{}, fmt.Errorf("the bootstrap needs at least 2 resamples; got %d", k)
	}
	na, _ := a.Dims()
	nb, _ := b.Dims()
	if paired && na != nb {
		return Spread{}, fmt.Errorf("a paired bootstrap needs sets of one size; got %d and %d", na, nb)
	}
	rng := rand.New(rand.NewPCG(seed, 0x626f6f74)) // "boot"
	fids, kids := make([]float64, k), make([]float64, k)
	ia, ib := make([]int, na), make([]int, nb)
	for r := range k {
		if err := ctx.Err(); err != nil {
			return Spread{}, err
		}
		for i := range ia {
			ia[i] = rng.IntN(na)
		}
		if paired {
			copy(ib, ia)
		} else {
			for i := range ib {
				ib[i] = rng.IntN(nb)
			}
		}
		ra, rb := rows(a, ia), rows(b, ib)
		fid, err := FrechetDistance(ra, rb)
		if err != nil {
			return Spread{}, err
		}
		kid, _, err := KID(ra, rb, 1, 0, seed+uint64(r))
		if err != nil {
			return Spread{}, err
		}
		fids[r], kids[r] = fid, kid
	}
	slices.Sort(fids)
	var mean, sd float64
	for _, v := range kids {
		mean += v
	}
	mean /= float64(k)
	for _, v := range kids {
		sd += (v - mean) * (v - mean)
	}
	return Spread{Resamples: k, Low: quantile(fids, 0.025), High: quantile(fids, 0.975), KIDStd: math.Sqrt(sd / float64(k-1))}, nil
}

// quantile interpolates linearly between the order statistics of sorted
// values, as numpy.quantile's default.
func quantile(sorted []float64, q float64) float64 {
	pos := q * float64(len(sorted)-1)
	i := int(pos)
	if i+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[i] + (pos-float64(i))*(sorted[i+1]-sorted[i])
}

// rows returns the rows idx of x, repeats allowed.
func rows(x *mat.Dense, idx []int) *mat.Dense {
	_, d := x.Dims()
	out := mat.NewDense(len(idx), d, nil)
	for i, r := range idx {
		out.SetRow(i, x.RawRowView(r))
	}
	return out
}
