package models

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/restorelab/restorelab/restore"
)

// needRuntime loads ONNX Runtime or fails the test. It does not skip: a
// missing library must show, and its error names 'make onnxruntime'.
func needRuntime(tb testing.TB) {
	tb.Helper()
	if err := InitRuntime(""); err != nil {
		tb.Fatalf("this test needs ONNX Runtime: %v", err)
	}
}

// fixture is the path of a folder made by testdata/make_fixtures.py.
func fixture(name string) string { return filepath.Join("testdata", name) }

// The closed form the fixtures compute: eps = a*x + k[c]*t/1000.
const fixtureA = 0.5

var fixtureK = [3]float64{1, -2, 3}

func closedForm(x *restore.Tensor, t []int) *restore.Tensor {
	eps := restore.NewTensor(x.N, x.Shape)
	plane := x.Shape.H * x.Shape.W
	for i := range x.N {
		xi, ei := x.Item(i), eps.Item(i)
		for j := range xi {
			c := j / plane
			ei[j] = float32(fixtureA*float64(xi[j]) + fixtureK[c]*float64(t[i])/1000)
		}
	}
	return eps
}

// randomBatch returns n images of shape s with values in [-3, 3], as noisy
// x_t can have, and a time step for each.
func randomBatch(rng *rand.Rand, n int, s restore.Shape) (*restore.Tensor, []int) {
	x := restore.NewTensor(n, s)
	for i := range x.Data {
		x.Data[i] = float32(6*rng.Float64() - 3)
	}
	t := make([]int, n)
	for i := range t {
		t[i] = rng.IntN(1000)
	}
	return x, t
}

// copyFixture copies a fixture folder into a temporary one the test may change.
func copyFixture(tb testing.TB, name string) string {
	tb.Helper()
	dst := filepath.Join(tb.TempDir(), name)
	if err := os.CopyFS(dst, os.DirFS(fixture(name))); err != nil {
		tb.Fatal(err)
	}
	return dst
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func writeManifest(tb testing.TB, dir string, m *Manifest) {
	tb.Helper()
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), raw, 0o644); err != nil {
		tb.Fatal(err)
	}
}
