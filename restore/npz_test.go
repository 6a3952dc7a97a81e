package restore

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func npzTestArrays() []NPZArray {
	ramp := make([]float32, 2*3*4*5)
	for i := range ramp {
		ramp[i] = float32(i)/7 - 2
	}
	return []NPZArray{
		{Name: "x0_hat", Shape: []int{2, 3, 4, 5}, Data: ramp},
		{Name: "t", Shape: []int{3}, Data: []float32{950, 900, float32(math.Inf(1))}},
		{Name: "sigma", Shape: nil, Data: []float32{0.05}},
		{Name: "empty", Shape: []int{0, 4}, Data: nil},
	}
}

func TestNPZRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trace.npz")
	in := npzTestArrays()
	if err := WriteNPZ(path, in); err != nil {
		t.Fatal(err)
	}
	got, err := ReadNPZ(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(in) {
		t.Fatalf("read %d arrays, wrote %d", len(got), len(in))
	}
	for _, a := range in {
		b, ok := got[a.Name]
		if !ok {
			t.Errorf("array %q missing", a.Name)
			continue
		}
		if b.Name != a.Name || !slices.Equal(b.Shape, a.Shape) || !slices.Equal(b.Data, a.Data) {
			t.Errorf("array %q: read %v %v, wrote %v %v", a.Name, b.Shape, b.Data, a.Shape, a.Data)
		}
	}
}

func TestWriteNPZRejectsBadArrays(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		arrays []NPZArray
		want   string
	}{
		{[]NPZArray{{Name: "a", Shape: []int{2, 2}, Data: make([]float32, 3)}}, "shape (2, 2) but 3 values"},
		{[]NPZArray{{Name: "a", Shape: []int{-1}, Data: nil}}, "shape"},
		{[]NPZArray{{Name: "a", Data: []float32{1}}, {Name: "a", Data: []float32{2}}}, "unique"},
		{[]NPZArray{{Shape: []int{1}, Data: []float32{1}}}, "no name"},
	} {
		path := filepath.Join(dir, "bad.npz")
		err := WriteNPZ(path, tc.arrays)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("error %v, want one naming the file and saying %q", err, tc.want)
		}
		if _, err := os.Stat(path); err == nil {
			t.Error("a rejected archive was written")
		}
	}
	if err := WriteNPZ(filepath.Join(dir, "absent", "t.npz"), nil); err == nil || !strings.Contains(err.Error(), "does not exist; create it first") {
		t.Errorf("missing folder: error %v", err)
	}
}

func TestReadNPZRejectsCorruptFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.npz")
	if err := WriteNPZ(good, npzTestArrays()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.npz")
	os.WriteFile(cut, b[:len(b)-30], 0o644)
	for _, path := range []string{cut, filepath.Join(dir, "absent.npz")} {
		if _, err := ReadNPZ(path); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("ReadNPZ(%s): error %v, want one naming the file", path, err)
		}
	}
}

// npzTestPython returns a Python interpreter that has numpy: Debian's
// /usr/bin/python3 first, as a python3 earlier on PATH may lack it.
func npzTestPython(t *testing.T) string {
	for _, py := range []string{os.Getenv("RESTORELAB_PYTHON"), "/usr/bin/python3", "python3"} {
		if py == "" {
			continue
		}
		if exec.Command(py, "-c", "import numpy").Run() == nil {
			return py
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no python3 with numpy found; CI must install it (or set RESTORELAB_PYTHON)")
	}
	t.Skip("no python3 with numpy found; the numpy cross-check runs in CI")
	return ""
}

// TestNumpyReadsAndWritesOurFiles checks the files against numpy itself:
// numpy loads the .npz and .npy files written here, and ReadNPZ loads a
// compressed archive written by numpy.
func TestNumpyReadsAndWritesOurFiles(t *testing.T) {
	py := npzTestPython(t)
	dir := t.TempDir()
	npzPath := filepath.Join(dir, "trace.npz")
	arrays := npzTestArrays()
	if err := WriteNPZ(npzPath, arrays); err != nil {
		t.Fatal(err)
	}
	img := ioTestTensor(1, Shape{C: 3, H: 2, W: 3}, 4)
	keep := []bool{true, false, true, true, true, false}
	npyPath := filepath.Join(dir, "y.npy")
	if err := SaveImage(npyPath, img, keep); err != nil {
		t.Fatal(err)
	}
	fromNumpy := filepath.Join(dir, "numpy.npz")
	const script = `
import json, sys
import numpy as np

def describe(a):
    # Raw float32 bits, so that NaN and infinities survive JSON exactly.
    return {"dtype": str(a.dtype), "shape": list(a.shape),
            "bits": a.astype("<f4").view("<u4").ravel().tolist()}

z = np.load(sys.argv[1])
out = {k: describe(z[k]) for k in z.files}
out["y.npy"] = describe(np.load(sys.argv[2]))
np.savez_compressed(sys.argv[3], ramp=np.arange(12, dtype=np.float32).reshape(3, 4) / 7,
                    f64=np.linspace(0, 1, 5), fortran=np.asfortranarray(np.eye(3, 2, dtype=np.float32)))
print(json.dumps(out))
`
	outb, err := exec.Command(py, "-c", script, npzPath, npyPath, fromNumpy).CombinedOutput()
	if err != nil {
		t.Fatalf("numpy failed: %v\n%s", err, outb)
	}
	var got map[string]struct {
		Dtype string
		Shape []int
		Bits  []uint32
	}
	if err := json.Unmarshal(outb, &got); err != nil {
		t.Fatalf("%v\n%s", err, outb)
	}
	check := func(name string, shape []int, data []float32) {
		g, ok := got[name]
		if !ok {
			t.Errorf("numpy did not find %q", name)
			return
		}
		if g.Dtype != "float32" || !slices.Equal(g.Shape, shape) || len(g.Bits) != len(data) {
			t.Errorf("%s: numpy read %s %v with %d values, want float32 %v with %d", name, g.Dtype, g.Shape, len(g.Bits), shape, len(data))
			return
		}
		for i, v := range data {
			gv := math.Float32frombits(g.Bits[i])
			if gv != v && !(gv != gv && v != v) {
				t.Errorf("%s[%d]: numpy read %v, want %v", name, i, gv, v)
				return
			}
		}
	}
	for _, a := range arrays {
		check(a.Name, a.Shape, a.Data)
	}
	want := img.Clone()
	for j := range want.Data {
		if !keep[j%6] {
			want.Data[j] = float32(math.NaN())
		}
	}
	check("y.npy", []int{3, 2, 3}, want.Data)

	back, err := ReadNPZ(fromNumpy)
	if err != nil {
		t.Fatal(err)
	}
	ramp := make([]float32, 12)
	for i := range ramp {
		ramp[i] = float32(i) / 7
	}
	for name, w := range map[string]NPZArray{
		"ramp":    {Shape: []int{3, 4}, Data: ramp},
		"f64":     {Shape: []int{5}, Data: []float32{0, 0.25, 0.5, 0.75, 1}},
		"fortran": {Shape: []int{3, 2}, Data: []float32{1, 0, 0, 1, 0, 0}},
	} {
		if g := back[name]; !slices.Equal(g.Shape, w.Shape) || !slices.Equal(g.Data, w.Data) {
			t.Errorf("numpy's %s: read %v %v, want %v %v", name, g.Shape, g.Data, w.Shape, w.Data)
		}
	}
}

func TestNPZFloat64RoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stats.npz")
	mu := []float64{1.0 / 3, math.Pi, -1e-300}
	if err := WriteNPZ(path, []NPZArray{{Name: "mu", Shape: []int{3}, Float64: mu}, {Name: "x", Shape: []int{2}, Data: []float32{1, 2}}}); err != nil {
		t.Fatal(err)
	}
	got, err := ReadNPZ(path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got["mu"].Float64, mu) || got["mu"].Data[1] != float32(math.Pi) || got["x"].Float64 != nil {
		t.Errorf("read back %+v", got)
	}
	if _, err := exec.LookPath("/usr/bin/python3"); err == nil {
		out, err := exec.Command("/usr/bin/python3", "-c", `import sys, numpy as np
f = np.load(sys.argv[1])
print(f["mu"].dtype, repr(float(f["mu"][0])))`, path).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "float64 0.3333333333333333" {
			t.Errorf("numpy reads %q (%v)", out, err)
		}
	}
}
