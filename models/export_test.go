package models

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/restorelab/restorelab/restore"
)

// The export scripts of models/export turn the papers' published checkpoints
// into ONNX models. They are tested on tiny random-weight instances of the
// same architectures, written by models/export/test_exports.sh into
// testdata/export: each folder holds model.onnx, model.json and
// reference.npz, an input and PyTorch's output for it. The tests here run
// the ONNX files with ONNX Runtime and compare with PyTorch.

// exportTol bounds the largest difference from PyTorch's output, relative
// to the largest value of that output.
const exportTol = 1e-3

func exportFixture(name string) string { return filepath.Join("testdata", "export", name) }

func readReference(t *testing.T, dir string) map[string]restore.NPZArray {
	t.Helper()
	ref, err := restore.ReadNPZ(filepath.Join(dir, "reference.npz"))
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// compareOutput checks got against want to within exportTol.
func compareOutput(t *testing.T, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d values; PyTorch gave %d", len(got), len(want))
	}
	var maxWant, maxDiff float64
	worst := 0
	for i := range want {
		maxWant = math.Max(maxWant, math.Abs(float64(want[i])))
		if d := math.Abs(float64(got[i] - want[i])); d > maxDiff || math.IsNaN(d) {
			maxDiff, worst = d, i
		}
	}
	if !(maxDiff <= exportTol*maxWant) {
		t.Fatalf("ONNX Runtime differs from PyTorch by up to %g (at %d: %g, want %g), over %g x the largest value %g", maxDiff, worst, got[worst], want[worst], exportTol, maxWant)
	}
	t.Logf("largest difference %.3g, %.2g of the largest value %.3g", maxDiff, maxDiff/maxWant, maxWant)
}

// TestExportedPriors runs the guided-diffusion and DDPM exports as DDRM
// priors, through Open, on a batch and image size other than the ones the
// graphs were traced with.
func TestExportedPriors(t *testing.T) {
	for _, name := range []string{"guided_diffusion", "guided_diffusion_f16", "ddpm"} {
		t.Run(name, func(t *testing.T) {
			dir := exportFixture(name)
			d := openFixture(t, dir)
			ref := readReference(t, dir)
			x, steps, eps := ref["x"], ref["t"], ref["eps"]
			if len(x.Shape) != 4 || len(eps.Shape) != 4 {
				t.Fatalf("reference x %v and eps %v should have rank 4", x.Shape, eps.Shape)
			}
			n, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
			in := restore.NewTensor(n, restore.Shape{C: c, H: h, W: w})
			copy(in.Data, x.Data)
			ts := make([]int, n)
			for i, s := range steps.Data {
				ts[i] = int(s)
			}
			got, err := d.PredictEps(context.Background(), in, ts)
			if err != nil {
				t.Fatal(err)
			}
			// PredictEps keeps eps, the first c channels of each image;
			// guided diffusion's learned variance follows them.
			outC := eps.Shape[1]
			if d.Manifest().LearnedVariance != (outC == 2*c) {
				t.Fatalf("learned_variance is %t, but PyTorch's output has %d channels", d.Manifest().LearnedVariance, outC)
			}
			want := make([]float32, 0, len(got.Data))
			for i := range n {
				want = append(want, eps.Data[i*outC*h*w:][:c*h*w]...)
			}
			compareOutput(t, got.Data, want)
		})
	}
}

// TestExportedLDM runs the three parts of the latent-diffusion
// super-resolution export with plain ONNX Runtime sessions, as package
// models has no latent-diffusion pipeline yet. The encoder and decoder are
// also inspected against their roles' contracts. The UNet is not: it takes
// concat(z_t, low-res image), 6 channels, and returns eps of the latent's 3,
// while the ldm-unet contract wants as many output channels as input ones
// (or twice as many); its manifest is checked against the ONNX file only.
func TestExportedLDM(t *testing.T) {
	needRuntime(t)
	parts := []struct {
		name    string
		inputs  []string
		output  string
		inspect bool
		scale   int // output height and width over the first input's
	}{
		{"encoder", []string{"image"}, "z", true, 0},
		{"decoder", []string{"z"}, "image", true, 4},
		{"unet", []string{"x", "t"}, "eps", false, 1},
	}
	for _, p := range parts {
		t.Run(p.name, func(t *testing.T) {
			dir := exportFixture(filepath.Join("ldm_sr", p.name))
			if p.inspect {
				r, err := Inspect(dir, Options{Threads: 1})
				if err != nil {
					t.Fatal(err)
				}
				if !r.OK() {
					t.Fatalf("Inspect: %s", r)
				}
			}
			data := checkDeclared(t, dir)
			ref := readReference(t, dir)
			got, shape := runGraph(t, data, p.inputs, p.output, ref)
			want := ref[p.output]
			if fmt.Sprint(shape) != fmt.Sprint(want.Shape) {
				t.Fatalf("output %s has shape %v; PyTorch gave %v", p.output, shape, want.Shape)
			}
			if in := ref[p.inputs[0]].Shape; p.scale > 0 && (shape[2] != p.scale*in[2] || shape[3] != p.scale*in[3]) {
				t.Fatalf("output %v is not %d times the input %v in height and width", shape, p.scale, in)
			}
			compareOutput(t, got, want.Data)
		})
	}
}

// checkDeclared reads a model folder's ONNX file, checks its hash, and
// checks the inputs and outputs model.json declares against the file. It
// returns the ONNX data.
func checkDeclared(t *testing.T, dir string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	f := m.onnxFile()
	data, err := os.ReadFile(filepath.Join(dir, f.Path))
	if err != nil {
		t.Fatal(err)
	}
	if got := sha256Hex(data); got != f.SHA256 {
		t.Fatalf("%s has sha256 %s; model.json says %s", f.Path, got, f.SHA256)
	}
	ins, outs, err := graphIO(data)
	if err != nil {
		t.Fatal(err)
	}
	if p := append(compareSpecs("input", m.Inputs, ins), compareSpecs("output", m.Outputs, outs)...); len(p) > 0 {
		t.Fatalf("model.json does not match the ONNX file: %v", p)
	}
	return data
}

// runGraph runs an ONNX graph on reference inputs (float32, and int64 for
// t) and returns its float32 output and that output's shape.
func runGraph(t *testing.T, data []byte, inputs []string, output string, ref map[string]restore.NPZArray) ([]float32, []int) {
	t.Helper()
	so, err := sessionOptions(Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer so.Destroy()
	sess, err := ort.NewDynamicAdvancedSessionWithONNXData(data, inputs, []string{output}, so)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Destroy()
	var values []ort.Value
	for _, name := range inputs {
		a, ok := ref[name]
		if !ok {
			t.Fatalf("reference.npz has no %s", name)
		}
		shape := make([]int64, len(a.Shape))
		for i, s := range a.Shape {
			shape[i] = int64(s)
		}
		var v ort.Value
		if name == "t" {
			steps := make([]int64, len(a.Data))
			for i, s := range a.Data {
				steps[i] = int64(s)
			}
			v, err = ort.NewTensor(ort.NewShape(shape...), steps)
		} else {
			v, err = ort.NewTensor(ort.NewShape(shape...), a.Data)
		}
		if err != nil {
			t.Fatal(err)
		}
		defer v.Destroy()
		values = append(values, v)
	}
	outs := []ort.Value{nil}
	if err := sess.Run(values, outs); err != nil {
		t.Fatal(err)
	}
	defer outs[0].Destroy()
	out, ok := outs[0].(*ort.Tensor[float32])
	if !ok {
		t.Fatalf("output %s is not float32", output)
	}
	shape := make([]int, len(out.GetShape()))
	for i, d := range out.GetShape() {
		shape[i] = int(d)
	}
	return append([]float32(nil), out.GetData()...), shape
}
