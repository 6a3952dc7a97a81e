package bench

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/restorelab/restorelab/restore"
)

// TestPytorchFIDFixture checks FID against pytorch-fid 0.3.0 itself and
// KID against an independent NumPy estimator, on the activations
// pytorch-fid computed for 80 real images and their blurred copies
// (testdata/make_fid_fixture.py made them), to 1e-5 relative; and that a
// statistics file pytorch-fid's save_fid_stats wrote stands in for its set.
func TestPytorchFIDFixture(t *testing.T) {
	raw, err := os.ReadFile("testdata/fid_fixture.json")
	if err != nil {
		t.Fatal(err)
	}
	var want struct{ FID, KID float64 }
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	arrays, err := restore.ReadNPZ("testdata/fid_fixture.npz")
	if err != nil {
		t.Fatal(err)
	}
	features := func(name string) *mat.Dense {
		a := arrays[name]
		x := mat.NewDense(a.Shape[0], a.Shape[1], nil)
		for i, v := range a.Data {
			x.RawMatrix().Data[i] = float64(v)
		}
		return x
	}
	fa, fb := features("features_a"), features("features_b")
	close := func(what string, got, want float64) {
		t.Helper()
		t.Logf("%s %.10g, reference %.10g", what, got, want)
		if math.Abs(got-want) > 1e-5*math.Abs(want) {
			t.Errorf("%s %.10g, want %.10g (relative error %.2g)", what, got, want, math.Abs(got-want)/math.Abs(want))
		}
	}
	fid, err := FrechetDistance(fa, fb)
	if err != nil {
		t.Fatal(err)
	}
	close("FID", fid, want.FID)
	kid, _, err := KID(fa, fb, KIDSubsets, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	close("KID", kid, want.KID)

	statsA, err := LoadStats("testdata/fid_fixture_stats_a.npz")
	if err != nil {
		t.Fatal(err)
	}
	statsB, err := NewStats(fb)
	if err != nil {
		t.Fatal(err)
	}
	statsB.Features = nil // from mu and sigma alone, as pytorch-fid
	fromFile, err := FID(statsA, statsB)
	if err != nil {
		t.Fatal(err)
	}
	close("FID from pytorch-fid's statistics file", fromFile, want.FID)
}
