package models

import (
	"context"
	"math"
	"path/filepath"
	"testing"

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

// TestExportedLDM opens the latent-diffusion super-resolution export, an
// ldm-sr bundle, as 'restore --ldm-model DIR' does (Inspect, then OpenLDM),
// compares each part with PyTorch on its reference input, and runs the
// bundle end to end through LDMSR and DDRM-LDM on a 16x16 low-resolution
// image.
func TestExportedLDM(t *testing.T) {
	needRuntime(t)
	dir := exportFixture("ldm_sr")
	r, err := Inspect(dir, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() || r.Role != RoleLDMSR {
		t.Fatalf("Inspect: %s", r)
	}
	l, err := OpenLDM(dir, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	info, ae := l.UNet.Info(), l.Autoencoder
	if s := info.Schedule; info.Channels != 3 || info.CondChannels != 3 || s.Kind != restore.ScaledLinear || s.T != 1000 || info.SizeMultiple != 8 {
		t.Errorf("UNet info %+v", info)
	}
	if ae.Factor() != 4 || ae.LatentChannels() != 3 || l.Manifest.SizeMultiple != 32 {
		t.Errorf("factor %d, latent channels %d, size multiple %d", ae.Factor(), ae.LatentChannels(), l.Manifest.SizeMultiple)
	}
	checkLDMParts(t, l, dir)

	ctx := context.Background()
	t.Run("pipeline", func(t *testing.T) {
		x := catCrop(t) // 64x64
		task, _ := restore.LookupTask("sr4")
		op, err := task.Operator(x.Shape, nil)
		if err != nil {
			t.Fatal(err)
		}
		y, _ := restore.Degrade(op, x, 0, 1)
		low, err := restore.LowResInput(task, op, y, ae.Factor())
		if err != nil {
			t.Fatal(err)
		}
		if low.Shape != (restore.Shape{C: 3, H: 16, W: 16}) {
			t.Fatalf("low-resolution input of shape %v", low.Shape)
		}
		ldm, err := restore.NewLDMSR(l.UNet, ae, low, restore.DDIMConfig{Steps: 4, Eta: 1, Seed: 7})
		if err != nil {
			t.Fatal(err)
		}
		hcfg := restore.DefaultDDRMLDMConfig()
		hcfg.Steps, hcfg.Seed = 4, 7
		hybrid, err := restore.NewDDRMLDM(l.UNet, ae, low, op, y, hcfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []restore.Sampler{ldm, hybrid} {
			out, err := restore.Run(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			if out.N != 1 || out.Shape != x.Shape {
				t.Fatalf("output %dx%v; want 1x%v", out.N, out.Shape, x.Shape)
			}
			lo, hi := math.Inf(1), math.Inf(-1)
			for _, v := range out.Data {
				if math.IsNaN(float64(v)) || v < 0 || v > 1 {
					t.Fatalf("output value %g outside [0, 1]", v)
				}
				lo, hi = min(lo, float64(v)), max(hi, float64(v))
			}
			if hi-lo < 1e-3 {
				t.Errorf("output is flat: values in [%g, %g]", lo, hi)
			}
			t.Logf("%T: %v, values in [%.3f, %.3f], PSNR %.2f dB", s, out.Shape, lo, hi, restore.PSNR(out.Data, x.Data))
		}
	})
}

// checkLDMParts runs each part of an opened ldm-sr bundle on the input its
// exporter saved next to it and compares the output with PyTorch's.
func checkLDMParts(t *testing.T, l *LDM, dir string) {
	t.Helper()
	ctx, ae := context.Background(), l.Autoencoder
	t.Run("unet", func(t *testing.T) {
		ref := readReference(t, filepath.Join(dir, "unet"))
		steps := make([]int, len(ref["t"].Data))
		for i, s := range ref["t"].Data {
			steps[i] = int(s)
		}
		eps, err := l.UNet.PredictEps(ctx, refTensor(t, ref["x"]), steps)
		if err != nil {
			t.Fatal(err)
		}
		checkAgainst(t, eps, ref["eps"])
	})
	t.Run("encoder", func(t *testing.T) {
		ref := readReference(t, filepath.Join(dir, "encoder"))
		z, err := ae.Encode(ctx, refTensor(t, ref["image"]))
		if err != nil {
			t.Fatal(err)
		}
		checkAgainst(t, z, ref["z"])
	})
	t.Run("decoder", func(t *testing.T) {
		ref := readReference(t, filepath.Join(dir, "decoder"))
		img, err := ae.Decode(ctx, refTensor(t, ref["z"]))
		if err != nil {
			t.Fatal(err)
		}
		checkAgainst(t, img, ref["image"])
	})
}

// refTensor is a reference array of rank 4 as a batch of images.
func refTensor(t *testing.T, a restore.NPZArray) *restore.Tensor {
	t.Helper()
	if len(a.Shape) != 4 {
		t.Fatalf("reference array of shape %v; want rank 4", a.Shape)
	}
	x := restore.NewTensor(a.Shape[0], restore.Shape{C: a.Shape[1], H: a.Shape[2], W: a.Shape[3]})
	copy(x.Data, a.Data)
	return x
}

// checkAgainst compares an output with PyTorch's, shape and values.
func checkAgainst(t *testing.T, got *restore.Tensor, want restore.NPZArray) {
	t.Helper()
	if s := got.Shape; len(want.Shape) != 4 || want.Shape[0] != got.N || want.Shape[1] != s.C || want.Shape[2] != s.H || want.Shape[3] != s.W {
		t.Fatalf("output %dx%v; PyTorch gave %v", got.N, s, want.Shape)
	}
	compareOutput(t, got.Data, want.Data)
}
