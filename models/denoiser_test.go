package models

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/restorelab/restorelab/restore"
)

// The tests in this file run the fixture models with ONNX Runtime.

func openFixture(t testing.TB, path string) *ONNXDenoiser {
	t.Helper()
	needRuntime(t)
	d, err := OpenONNX(path, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// checkClosedForm compares eps with the fixtures' closed form, to within
// tol relative to the size of the terms.
func checkClosedForm(t *testing.T, x *restore.Tensor, steps []int, eps *restore.Tensor, tol float64) {
	t.Helper()
	want := closedForm(x, steps)
	if eps.N != x.N || eps.Shape != x.Shape {
		t.Fatalf("eps is %d x %v; want %d x %v", eps.N, eps.Shape, x.N, x.Shape)
	}
	plane := x.Shape.H * x.Shape.W
	for i := range eps.Data {
		b, c := i/x.Shape.Len(), i%x.Shape.Len()/plane
		scale := math.Abs(fixtureA*float64(x.Data[i])) + math.Abs(fixtureK[c]*float64(steps[b])/1000) + 1e-3
		if d := math.Abs(float64(eps.Data[i] - want.Data[i])); d > tol*scale {
			t.Fatalf("eps[%d] (image %d, channel %d) = %g; want %g (x = %g, t = %d)", i, b, c, eps.Data[i], want.Data[i], x.Data[i], steps[b])
		}
	}
}

func TestPredictEpsClosedForm(t *testing.T) {
	models := []struct {
		path string
		tol  float64
	}{
		{fixture("closed_f32"), 1e-6},
		{filepath.Join(fixture("closed_f32"), "model.onnx"), 1e-6}, // bare file
		// float16 keeps 11 significant bits; a few roundings stay within 2^-8.
		{fixture("closed_f16"), 1.0 / 256},
		{filepath.Join(fixture("closed_f16"), "model.onnx"), 1.0 / 256},
		{fixture("learned_var"), 1e-6},
	}
	sizes := []restore.Shape{{C: 3, H: 8, W: 8}, {C: 3, H: 16, W: 40}, {C: 3, H: 64, W: 64}}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, m := range models {
		d := openFixture(t, m.path)
		for _, s := range sizes {
			for _, n := range []int{1, 3} {
				t.Run(fmt.Sprintf("%s/%v/batch%d", m.path, s, n), func(t *testing.T) {
					x, steps := randomBatch(rng, n, s)
					steps[0] = 999
					eps, err := d.PredictEps(context.Background(), x, steps)
					if err != nil {
						t.Fatal(err)
					}
					checkClosedForm(t, x, steps, eps, m.tol)
				})
			}
		}
	}
}

func TestInfo(t *testing.T) {
	d := openFixture(t, fixture("closed_f16"))
	info := d.Info()
	if info.Name != "fixture-closed-f16" || info.Channels != 3 || info.SizeMultiple != 8 || info.Schedule.T != 1000 {
		t.Errorf("got %+v", info)
	}
	if ab := info.Schedule.AlphaBar(0); math.Abs(ab-(1-1e-4)) > 1e-12 {
		t.Errorf("alpha_bar_0 = %g; want 1 - 1e-4", ab)
	}
	bare := openFixture(t, filepath.Join(fixture("closed_f16"), "model.onnx"))
	m := bare.Manifest()
	if m.Name != "model" || m.SizeMultiple != 1 || m.Inputs[0].Name != "sample" || m.Inputs[1].Name != "timestep" || m.Outputs[0].Name != "out" || m.LearnedVariance {
		t.Errorf("inferred manifest: %+v", m)
	}
	lv := openFixture(t, filepath.Join(fixture("learned_var"), "model.onnx"))
	if !lv.Manifest().LearnedVariance {
		t.Error("learned variance not inferred from 6 output channels")
	}
}

func TestPredictEpsNaN(t *testing.T) {
	d := openFixture(t, fixture("nan"))
	x := restore.NewTensor(2, restore.Shape{C: 3, H: 8, W: 8})
	if _, err := d.PredictEps(context.Background(), x, []int{700, 999}); err != nil {
		t.Fatalf("t >= 500 gives finite output, but: %v", err)
	}
	_, err := d.PredictEps(context.Background(), x, []int{700, 100})
	var nf *NonFiniteError
	if !errors.As(err, &nf) || nf.Step != 100 || nf.Image != 1 || nf.Value != "NaN" {
		t.Fatalf("got %v; want a NaN error for image 1 at t = 100", err)
	}
	want := "model fixture-nan produced NaN at step t=100 (image 2 of 2 in the batch); the model file may be corrupt or incompatible"
	if err.Error() != want {
		t.Errorf("message %q\nwant %q", err, want)
	}
}

func TestPredictEpsWrongShape(t *testing.T) {
	d := openFixture(t, fixture("wrong_shape"))
	x := restore.NewTensor(2, restore.Shape{C: 3, H: 8, W: 16})
	_, err := d.PredictEps(context.Background(), x, []int{1, 2})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"returned output eps of shape [2,3,4,8]", "expected [2,3,8,16]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestPredictEpsBadInput(t *testing.T) {
	d := openFixture(t, fixture("closed_f32"))
	ctx := context.Background()
	s := restore.Shape{C: 3, H: 16, W: 16}
	tests := []struct {
		name  string
		x     *restore.Tensor
		steps []int
		want  string
	}{
		{"size", restore.NewTensor(1, restore.Shape{C: 3, H: 12, W: 20}), []int{1}, "multiples of 8; got 20x12 (width x height): pad to 24x16 or crop to 16x8"},
		{"channels", restore.NewTensor(1, restore.Shape{C: 1, H: 16, W: 16}), []int{1}, "takes 3-channel images; got 1"},
		{"steps count", restore.NewTensor(2, s), []int{1}, "1 time steps for 2 images"},
		{"step range", restore.NewTensor(1, s), []int{1000}, "time step 1000 is outside 0..999"},
		{"negative step", restore.NewTensor(1, s), []int{-1}, "time step -1 is outside"},
		{"empty", restore.NewTensor(0, s), nil, "empty batch"},
		{"nil", nil, nil, "empty batch"},
		{"short data", &restore.Tensor{N: 1, Shape: s, Data: make([]float32, 10)}, []int{1}, "holds 10 values; it should hold 768"},
	}
	for _, tc := range tests {
		_, err := d.PredictEps(ctx, tc.x, tc.steps)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v; want an error containing %q", tc.name, err, tc.want)
		}
	}
	// An image smaller than the multiple can only be padded.
	_, err := d.PredictEps(ctx, restore.NewTensor(1, restore.Shape{C: 3, H: 4, W: 16}), []int{1})
	if err == nil || !strings.HasSuffix(err.Error(), "got 16x4 (width x height): pad to 16x8") {
		t.Errorf("tiny image: got %v", err)
	}
}

func TestPredictEpsCancelled(t *testing.T) {
	d := openFixture(t, fixture("closed_f32"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	x := restore.NewTensor(1, restore.Shape{C: 3, H: 8, W: 8})
	if _, err := d.PredictEps(ctx, x, []int{1}); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v; want context.Canceled", err)
	}
}

func TestClose(t *testing.T) {
	d := openFixture(t, fixture("closed_f32"))
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	x := restore.NewTensor(1, restore.Shape{C: 3, H: 8, W: 8})
	if _, err := d.PredictEps(context.Background(), x, []int{1}); err == nil || !strings.Contains(err.Error(), "is closed") {
		t.Errorf("after Close: got %v", err)
	}
}

// Several goroutines share one denoiser, each with its own sizes and batches.
func TestPredictEpsConcurrent(t *testing.T) {
	for _, name := range []string{"closed_f32", "closed_f16"} {
		d := openFixture(t, fixture(name))
		tol := 1e-6
		if name == "closed_f16" {
			tol = 1.0 / 256
		}
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for g := range 8 {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(g), 7))
				for range 10 {
					n := 1 + rng.IntN(3)
					s := restore.Shape{C: 3, H: 8 * (1 + rng.IntN(4)), W: 8 * (1 + rng.IntN(4))}
					x, steps := randomBatch(rng, n, s)
					eps, err := d.PredictEps(context.Background(), x, steps)
					if err != nil {
						errs <- err
						return
					}
					want := closedForm(x, steps)
					for i := range want.Data {
						if math.Abs(float64(eps.Data[i]-want.Data[i])) > tol*8 {
							errs <- fmt.Errorf("goroutine %d: eps[%d] = %g; want %g", g, i, eps.Data[i], want.Data[i])
							return
						}
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestOpenCorruptONNX(t *testing.T) {
	needRuntime(t)
	p := filepath.Join(t.TempDir(), "garbage.onnx")
	if err := os.WriteFile(p, []byte("these bytes are not a protobuf, let alone an ONNX model"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(p, Options{})
	if err == nil || !strings.Contains(err.Error(), "not a valid ONNX model") || !strings.Contains(err.Error(), p) {
		t.Errorf("got %v", err)
	}
	// The same garbage behind a manifest whose hash matches it.
	dir := copyFixture(t, "closed_f32")
	m, err := LoadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	garbage, _ := os.ReadFile(p)
	os.WriteFile(filepath.Join(dir, "model.onnx"), garbage, 0o644)
	m.Files[0].SHA256 = sha256Hex(garbage)
	writeManifest(t, dir, m)
	if _, err := Open(dir, Options{}); err == nil || !strings.Contains(err.Error(), "not a valid ONNX model") {
		t.Errorf("behind a manifest: got %v", err)
	}
}

func TestOpenManifestMismatch(t *testing.T) {
	needRuntime(t)
	dir := copyFixture(t, "closed_f32")
	m, err := LoadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	m.Inputs[0].Name = "image"
	m.Inputs[1].DType = Float32
	writeManifest(t, dir, m)
	_, err = Open(dir, Options{})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`declares input "image", but the ONNX file has no such input (it has x, t)`,
		"input t is float32 in model.json but int64 in the ONNX file",
		"the ONNX file has input x float32 [?,3,?,?], which model.json does not declare",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestOpenCUDAWithoutCUDA(t *testing.T) {
	needRuntime(t)
	d, err := OpenONNX(fixture("closed_f32"), Options{CUDA: true})
	if err == nil {
		d.Close()
		t.Skip("this ONNX Runtime runs CUDA here")
	}
	if !strings.Contains(err.Error(), "CUDA was requested, but the ONNX Runtime library") || !strings.Contains(err.Error(), EnvORTLib) {
		t.Errorf("got %v", err)
	}
}

// cancelledLater is a context that reports no error when PredictEps first
// checks it, but whose Done channel is closed, so that it is cancelled
// while the network runs.
type cancelledLater struct {
	context.Context
	checks atomic.Int32
}

func (c *cancelledLater) Done() <-chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}

func (c *cancelledLater) Err() error {
	if c.checks.Add(1) == 1 {
		return nil
	}
	return context.Canceled
}

func TestPredictEpsCancelledDuringRun(t *testing.T) {
	d := openFixture(t, fixture("closed_f16"))
	// Large enough that the run takes many milliseconds, so that the
	// cancellation, which runs in its own goroutine, lands during it.
	x := restore.NewTensor(8, restore.Shape{C: 3, H: 512, W: 512})
	steps := make([]int, 8)
	for range 5 {
		_, err := d.PredictEps(&cancelledLater{Context: context.Background()}, x, steps)
		if errors.Is(err, context.Canceled) {
			return
		}
		if err != nil {
			t.Fatalf("got %v; want context.Canceled", err)
		}
	}
	t.Error("five runs finished despite cancellation")
}

func TestZeroDenoiser(t *testing.T) {
	var d ONNXDenoiser
	x := restore.NewTensor(1, restore.Shape{C: 3, H: 8, W: 8})
	if _, err := d.PredictEps(context.Background(), x, []int{1}); err == nil || !strings.Contains(err.Error(), "is closed") {
		t.Errorf("got %v", err)
	}
}

// PredictEps allocates one image of output per call, the copy
// onnxruntime_go makes of what ONNX Runtime allocated; eps is that copy,
// not a second one.
func TestPredictEpsAllocatesOneOutput(t *testing.T) {
	d := openFixture(t, fixture("closed_f32"))
	x, steps := randomBatch(rand.New(rand.NewPCG(3, 4)), 1, restore.Shape{C: 3, H: 128, W: 128})
	call := func() {
		if _, err := d.PredictEps(context.Background(), x, steps); err != nil {
			t.Fatal(err)
		}
	}
	call()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const calls = 10
	for range calls {
		call()
	}
	runtime.ReadMemStats(&after)
	perCall := float64(after.TotalAlloc-before.TotalAlloc) / calls
	image := float64(4 * len(x.Data))
	if perCall > 1.5*image {
		t.Errorf("PredictEps allocates %.0f bytes per call; one output image is %.0f", perCall, image)
	}
}
