package bench

import (
	"context"
	"math"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/restorelab/restorelab/restore"
)

func randomFeatures(n, d int, shift float64, seed uint64) *mat.Dense {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := mat.NewDense(n, d, nil)
	for i := range n {
		for j := range d {
			x.Set(i, j, rng.NormFloat64()*(1+float64(j%3))+shift)
		}
	}
	return x
}

// TestStatsRoundTrip: statistics saved and read back give the same FID, to
// the bit with their features and to 1e-9 relative from mu and sigma alone
// (pytorch-fid's layout), with more images than features.
func TestStatsRoundTrip(t *testing.T) {
	a, b := randomFeatures(40, 6, 0, 1), randomFeatures(30, 6, 0.3, 2)
	sa, err := NewStats(a)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := NewStats(b)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "a.npz")
	if err := SaveStats(path, sa); err != nil {
		t.Fatal(err)
	}
	back, err := LoadStats(path)
	if err != nil {
		t.Fatal(err)
	}
	want, err := FrechetDistance(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := FID(back, sb); err != nil || got != want || back.N != 40 {
		t.Errorf("FID from the saved statistics with features: %v (%v), want %v exactly; N %d", got, err, want, back.N)
	}
	back.Features, sb.Features = nil, nil
	if got, err := FID(back, sb); err != nil || math.Abs(got-want) > 1e-9*want {
		t.Errorf("FID from mu and sigma: %v (%v), want %v", got, err, want)
	}
	// The layout is pytorch-fid's: numpy reads mu (d,) and sigma (d, d) as float64.
	if _, err := exec.LookPath("/usr/bin/python3"); err == nil {
		out, err := exec.Command("/usr/bin/python3", "-c", `import sys, numpy as np
f = np.load(sys.argv[1])
print(f["mu"].shape, f["mu"].dtype, f["sigma"].shape, f["sigma"].dtype, np.allclose(f["sigma"], np.cov(f["features"], rowvar=False)))`, path).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "(6,) float64 (6, 6) float64 True" {
			t.Errorf("numpy reads %q (%v)", out, err)
		}
	}
}

func TestLoadStatsRejectsOtherFiles(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(dir, "x.npz")
	if err := writeArrays(other, map[string][]int{"x": {3}}); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadStats(other); err == nil || !strings.Contains(err.Error(), "no mu and sigma") {
		t.Errorf("an .npz without statistics: %v", err)
	}
	bad := filepath.Join(dir, "bad.npz")
	if err := writeArrays(bad, map[string][]int{"mu": {3}, "sigma": {3, 2}}); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadStats(bad); err == nil || !strings.Contains(err.Error(), "(d, d)") {
		t.Errorf("sigma of the wrong shape: %v", err)
	}
}

func writeArrays(path string, shapes map[string][]int) error {
	var arrays []restore.NPZArray
	for name, shape := range shapes {
		n := 1
		for _, d := range shape {
			n *= d
		}
		arrays = append(arrays, restore.NPZArray{Name: name, Shape: shape, Float64: make([]float64, n)})
	}
	return restore.WriteNPZ(path, arrays)
}

func TestBootstrapSpreadShrinksWithImages(t *testing.T) {
	spread := func(n int) float64 {
		a, b := randomFeatures(n, 4, 0, 3), randomFeatures(n, 4, 0.5, 4)
		s, err := Bootstrap(context.Background(), a, b, 100, false, 7)
		if err != nil {
			t.Fatal(err)
		}
		fid, _ := FrechetDistance(a, b)
		if !(s.Low < s.High) {
			t.Errorf("%d images: FID %g, interval [%g, %g]", n, fid, s.Low, s.High)
		}
		return s.High - s.Low
	}
	if small, large := spread(20), spread(320); !(large < small/2) {
		t.Errorf("the interval over 320 images (%g) is not much narrower than over 20 (%g)", large, small)
	}
}
