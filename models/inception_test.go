package models

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/restorelab/restorelab/restore"
)

// envFIDInception names a model folder written by
// models/export/fid_inception.py with real weights; when set, the tests
// also compare it with its reference.npz.
const envFIDInception = "RESTORELAB_FID_INCEPTION"

func openInception(t *testing.T, path string) *Inception {
	t.Helper()
	needRuntime(t)
	f, err := OpenInception(path, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// largeReference is the 320 x 336 image that fid_inception.py's
// reference_large() defines.
func largeReference() *restore.Tensor {
	x := restore.NewTensor(1, restore.Shape{C: 3, H: 320, W: 336})
	for c := range 3 {
		for h := range 320 {
			for w := range 336 {
				x.Data[(c*320+h)*336+w] = float32(0.5 + 0.5*math.Sin(0.05*float64(h*(c+1))+0.07*float64(w)))
			}
		}
	}
	return x
}

// checkFeatures compares features with PyTorch's to within 1e-3, relative
// to each value plus the mean magnitude (features near 0 make a plain
// relative error meaningless).
func checkFeatures(t *testing.T, what string, got [][]float32, want restore.NPZArray) {
	t.Helper()
	n, dim := want.Shape[0], want.Shape[1]
	if len(got) != n {
		t.Fatalf("%s: %d feature vectors; want %d", what, len(got), n)
	}
	var scale float64
	for _, v := range want.Data {
		scale += math.Abs(float64(v)) / float64(len(want.Data))
	}
	var worst float64
	for i := range n {
		if len(got[i]) != dim {
			t.Fatalf("%s: image %d has %d features; want %d", what, i, len(got[i]), dim)
		}
		for j, g := range got[i] {
			w := float64(want.Data[i*dim+j])
			worst = max(worst, math.Abs(float64(g)-w)/(math.Abs(w)+scale))
		}
	}
	if worst > 1e-3 {
		t.Errorf("%s: features differ from PyTorch's by up to %.2g (relative); want 1e-3", what, worst)
	}
	t.Logf("%s: %d x %d features, largest relative difference from PyTorch %.2g", what, n, dim, worst)
}

func TestInceptionMatchesPyTorch(t *testing.T) {
	dirs := []string{fixture("inception_tiny")}
	if d := os.Getenv(envFIDInception); d != "" {
		dirs = append(dirs, d)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			f := openInception(t, dir)
			ref, err := restore.ReadNPZ(filepath.Join(dir, "reference.npz"))
			if err != nil {
				t.Fatal(err)
			}
			in := ref["input"]
			x := &restore.Tensor{N: in.Shape[0], Shape: restore.Shape{C: in.Shape[1], H: in.Shape[2], W: in.Shape[3]}, Data: in.Data}
			got, err := f.Features(context.Background(), x)
			if err != nil {
				t.Fatal(err)
			}
			checkFeatures(t, "40x56 batch of 2", got, ref["features"])
			large, err := f.Features(context.Background(), largeReference())
			if err != nil {
				t.Fatal(err)
			}
			checkFeatures(t, "320x336", large, ref["features_large"])
			// One image at a time gives what the batch gave.
			one, err := f.Features(context.Background(), &restore.Tensor{N: 1, Shape: x.Shape, Data: x.Item(1)})
			if err != nil {
				t.Fatal(err)
			}
			for j := range one[0] {
				if math.Abs(float64(one[0][j]-got[1][j])) > 1e-5*(1+math.Abs(float64(got[1][j]))) {
					t.Fatalf("feature %d of image 2: %g alone, %g in the batch", j, one[0][j], got[1][j])
				}
			}
		})
	}
}

func TestInceptionGrayIsRepeatedRGB(t *testing.T) {
	f := openInception(t, fixture("inception_tiny"))
	g := restore.NewTensor(1, restore.Shape{C: 1, H: 24, W: 20})
	for i := range g.Data {
		g.Data[i] = float32(i%17) / 16
	}
	a, err := f.Features(context.Background(), g)
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.Features(context.Background(), restore.ToRGB(g))
	if err != nil {
		t.Fatal(err)
	}
	for j := range a[0] {
		if a[0][j] != b[0][j] {
			t.Fatalf("feature %d: gray %g, RGB %g", j, a[0][j], b[0][j])
		}
	}
}

func TestInceptionErrors(t *testing.T) {
	needRuntime(t)
	for _, tc := range []struct {
		path, want string
	}{
		{fixture("closed_f32"), "not a feature network"},
		{filepath.Join(fixture("inception_tiny"), "model.onnx"), "bare .onnx"},
		{fixture("nope"), "no such file"},
	} {
		if _, err := OpenInception(tc.path, Options{Threads: 1}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want %q", tc.path, err, tc.want)
		}
	}
	if _, err := OpenONNX(fixture("inception_tiny"), Options{Threads: 1}); err == nil || !strings.Contains(err.Error(), "not a denoiser") {
		t.Errorf("inception opened as a denoiser: %v", err)
	}

	dir := copyFixture(t, "inception_tiny")
	m, err := LoadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	m.Outputs[0].Shape[1].Size = 2048
	writeManifest(t, dir, m)
	if _, err := OpenInception(dir, Options{Threads: 1}); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("wrong feature size in the manifest: %v", err)
	}

	f := openInception(t, fixture("inception_tiny"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	x := restore.NewTensor(1, restore.Shape{C: 3, H: 8, W: 8})
	if _, err := f.Features(ctx, x); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if _, err := f.Features(context.Background(), restore.NewTensor(1, restore.Shape{C: 2, H: 8, W: 8})); err == nil || !strings.Contains(err.Error(), "RGB") {
		t.Errorf("2 channels: %v", err)
	}
	f.Close()
	if _, err := f.Features(context.Background(), x); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("closed: %v", err)
	}
}

func TestInspectInception(t *testing.T) {
	needRuntime(t)
	r, err := Inspect(fixture("inception_tiny"), Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() || r.Role != RoleInception || !strings.Contains(r.DryRun, "features [1,256]") {
		t.Errorf("report:\n%s", r)
	}
}
