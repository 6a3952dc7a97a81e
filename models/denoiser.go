package models

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/restorelab/restorelab/restore"
)

// Options configures how models run.
type Options struct {
	// Library is the ONNX Runtime shared library to load; empty means look
	// it up as InitRuntime describes.
	Library string
	// Threads is the number of threads ONNX Runtime uses within one
	// operator; 0 means runtime.NumCPU(), the machine's logical CPUs (on the
	// 2-vCPU machines this project is measured on, its 2 physical cores:
	// one thread per core).
	Threads int
	// Spinning lets ONNX Runtime's threads busy-wait between operators and
	// after a run. It is off by default: between network calls the spinning
	// threads took the cores from the sampler (a 20-step DDRM restore at
	// 256x256 spent 13.4 ms per step outside the network on denoise with it
	// off, 18.7 with it on; the network's own time did not change).
	Spinning bool
	// Notify, if not nil, receives a line at each slow part of opening a
	// model file over 64 MiB (reading and hashing it, by quarters;
	// creating its session) and when it is ready, so that a front end can
	// say why nothing seems to happen for a minute. Small files say nothing.
	Notify func(line string)
	// CUDA runs the model on an NVIDIA GPU through ONNX Runtime's CUDA
	// execution provider, which needs a CUDA build of the library.
	CUDA bool
	// CUDADevice is the GPU to use when CUDA is set.
	CUDADevice int
}

// ONNXDenoiser is a restore.Denoiser backed by an eps-prediction network run
// with ONNX Runtime; Open and OpenONNX create it. It holds one session,
// created when the model is opened and reused by every call.
//
// PredictEps is safe for concurrent use: ONNX Runtime allows concurrent runs
// of one session, and every call creates and destroys its own input and
// output tensors. Close waits for running calls to finish.
type ONNXDenoiser struct {
	manifest Manifest
	io       denoiserIO
	// outChannels is what the output must have: C, or 2C with learned variance.
	outChannels int
	schedule    *restore.Schedule

	mu      sync.RWMutex // held for reading by runs, for writing by Close
	session *ort.DynamicAdvancedSession
}

// newONNXDenoiser creates the session for a model whose manifest has been
// validated and checked against the ONNX file.
func newONNXDenoiser(m *Manifest, onnx []byte, opts Options) (*ONNXDenoiser, error) {
	io, problems := findDenoiserIO(m.Role, m.CondChannels, m.Inputs, m.Outputs)
	if len(problems) > 0 {
		return nil, fmt.Errorf("model %s: %s", m.Name, problems[0])
	}
	sched, err := m.Schedule.Build()
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", m.Name, err)
	}
	so, err := sessionOptions(opts)
	if err != nil {
		return nil, err
	}
	defer so.Destroy()
	sess, err := ort.NewDynamicAdvancedSessionWithONNXData(onnx, []string{io.x.Name, io.t.Name}, []string{io.eps.Name}, so)
	if err != nil {
		return nil, fmt.Errorf("model %s: ONNX Runtime cannot load it: %w", m.Name, err)
	}
	outC := io.channels
	if m.LearnedVariance {
		outC *= 2
	}
	return &ONNXDenoiser{manifest: *m, io: io, outChannels: outC, schedule: sched, session: sess}, nil
}

// sessionOptions turns Options into ONNX Runtime session options; the caller
// destroys them once the session exists.
func sessionOptions(opts Options) (*ort.SessionOptions, error) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("ONNX Runtime session options: %w", err)
	}
	threads := opts.Threads
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	if err := so.SetIntraOpNumThreads(threads); err != nil {
		so.Destroy()
		return nil, fmt.Errorf("ONNX Runtime threads = %d: %w", threads, err)
	}
	if !opts.Spinning {
		if err := so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); err != nil {
			so.Destroy()
			return nil, fmt.Errorf("ONNX Runtime spinning option: %w", err)
		}
	}
	if opts.CUDA {
		if err := appendCUDA(so, opts.CUDADevice); err != nil {
			so.Destroy()
			path, version := RuntimeInfo()
			return nil, fmt.Errorf("CUDA was requested, but the ONNX Runtime library %s (version %s) cannot use it: %w; use a CUDA build of ONNX Runtime %s (onnxruntime-gpu, with its provider libraries, CUDA 12 and cuDNN 9) via %s, or run on the CPU", path, version, err, ORTVersion, EnvORTLib)
		}
	}
	return so, nil
}

func appendCUDA(so *ort.SessionOptions, device int) error {
	cuda, err := ort.NewCUDAProviderOptions()
	if err != nil {
		return err
	}
	defer cuda.Destroy()
	if err := cuda.Update(map[string]string{"device_id": strconv.Itoa(device)}); err != nil {
		return err
	}
	return so.AppendExecutionProviderCUDA(cuda)
}

// Manifest returns the model's manifest; for a bare .onnx file, the one
// inferred from it.
func (d *ONNXDenoiser) Manifest() Manifest { return d.manifest }

// Info describes the prior to samplers.
func (d *ONNXDenoiser) Info() restore.DenoiserInfo {
	return restore.DenoiserInfo{
		Name:         d.manifest.Name,
		Schedule:     d.schedule,
		Channels:     d.io.channels,
		CondChannels: d.io.inChannels - d.io.channels,
		SizeMultiple: d.manifest.SizeMultiple,
		Digest:       "sha256:" + d.manifest.onnxFile().SHA256,
	}
}

// Close releases the ONNX Runtime session, after running calls finish.
// Later calls to PredictEps fail.
func (d *ONNXDenoiser) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.session == nil {
		return nil
	}
	err := d.session.Destroy()
	d.session = nil
	return err
}

// PredictEps runs the network on a batch of images in [-1, 1] at time steps
// t, one per image, and returns the predicted noise. A conditional model
// (cond_channels > 0) takes x_t and its conditioning as one input and
// returns eps of x_t's channels. It checks ctx before the run and stops a
// run in progress when ctx is cancelled.
func (d *ONNXDenoiser) PredictEps(ctx context.Context, x *restore.Tensor, t []int) (*restore.Tensor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.session == nil {
		return nil, fmt.Errorf("model %s is closed", d.manifest.Name)
	}
	if err := d.checkInput(x, t); err != nil {
		return nil, err
	}
	n, c, h, w := x.N, d.io.channels, x.Shape.H, x.Shape.W

	xv, err := d.inputX(x)
	if err != nil {
		return nil, err
	}
	defer xv.Destroy()
	tv, err := d.inputT(t)
	if err != nil {
		return nil, err
	}
	defer tv.Destroy()

	want := ort.NewShape(int64(n), int64(d.outChannels), int64(h), int64(w))
	// onnxruntime_go v1.27.0 copies an output it allocated itself with one
	// byte per element when the type has no Go equivalent, which fails for
	// float16; so float16 outputs get a buffer of the expected shape, and
	// ONNX Runtime checks the shape.
	var out []float32
	if d.io.eps.DType == Float16 {
		buf := make([]byte, 2*want.FlattenedSize())
		ov, err := ort.NewCustomDataTensor(want, buf, ort.TensorElementDataTypeFloat16)
		if err != nil {
			return nil, fmt.Errorf("model %s: %w", d.manifest.Name, err)
		}
		defer ov.Destroy()
		if err := d.run(ctx, xv, tv, []ort.Value{ov}); err != nil {
			return nil, fmt.Errorf("%w (the output %s must have shape %s)", err, d.io.eps.Name, dims(want))
		}
		out = make([]float32, want.FlattenedSize())
		getFloat16s(out, buf)
	} else {
		outs := []ort.Value{nil}
		if err := d.run(ctx, xv, tv, outs); err != nil {
			return nil, err
		}
		defer outs[0].Destroy()
		ot, ok := outs[0].(*ort.Tensor[float32])
		if !ok {
			return nil, fmt.Errorf("model %s: output %s is not float32, though the model declares it so", d.manifest.Name, d.io.eps.Name)
		}
		if got := ot.GetShape(); !got.Equals(want) {
			return nil, fmt.Errorf("model %s returned output %s of shape %s; expected %s (batch, %d channels, height and width of the input); the model does not follow the %s contract", d.manifest.Name, d.io.eps.Name, dims(got), dims(want), d.outChannels, d.manifest.Role)
		}
		out = ot.GetData()
	}

	shape := restore.Shape{C: c, H: h, W: w}
	plane := shape.Len()
	var eps *restore.Tensor
	if d.outChannels == c || n == 1 {
		// eps leads the output, which is ours (a copy of ONNX Runtime's):
		// all of it, or one image's first C of 2C channels (learned
		// variance), so it needs no second copy.
		eps = &restore.Tensor{N: n, Shape: shape, Data: out[:n*plane]}
	} else {
		eps = restore.NewTensor(n, shape)
		for i := range n {
			copy(eps.Item(i), out[i*d.outChannels*h*w:][:plane])
		}
	}
	for i := range n {
		if err := d.checkFinite(eps.Item(i), i, n, t[i]); err != nil {
			return nil, err
		}
	}
	return eps, nil
}

// checkInput validates a call against the model before any tensor exists.
func (d *ONNXDenoiser) checkInput(x *restore.Tensor, t []int) error {
	name := d.manifest.Name
	if x == nil || x.N < 1 {
		return fmt.Errorf("model %s: empty batch", name)
	}
	s := x.Shape
	if s.C < 1 || s.H < 1 || s.W < 1 || len(x.Data) != x.N*s.Len() {
		return fmt.Errorf("model %s: a tensor of %d images of shape %v holds %d values; it should hold %d", name, x.N, s, len(x.Data), x.N*s.Len())
	}
	if cond := d.io.inChannels - d.io.channels; s.C != d.io.inChannels && cond > 0 {
		return fmt.Errorf("model %s takes %d-channel inputs (%d of x_t, then %d of conditioning); got %d channels", name, d.io.inChannels, d.io.channels, cond, s.C)
	} else if s.C != d.io.inChannels {
		return fmt.Errorf("model %s takes %d-channel images; got %d channels", name, d.io.inChannels, s.C)
	}
	if m := d.manifest.SizeMultiple; s.H%m != 0 || s.W%m != 0 {
		fix := fmt.Sprintf("pad to %dx%d", (s.W+m-1)/m*m, (s.H+m-1)/m*m)
		if s.W >= m && s.H >= m {
			fix += fmt.Sprintf(" or crop to %dx%d", s.W/m*m, s.H/m*m)
		}
		return fmt.Errorf("model %s needs image sides that are multiples of %d; got %dx%d (width x height): %s", name, m, s.W, s.H, fix)
	}
	got := []int{x.N, s.C, s.H, s.W}
	for i, dim := range d.io.x.Shape {
		if !dim.Dynamic() && int(dim.Size) != got[i] {
			return fmt.Errorf("model %s takes input %s of shape %v; got [%d,%d,%d,%d]", name, d.io.x.Name, d.io.x.Shape, x.N, s.C, s.H, s.W)
		}
	}
	if len(t) != x.N {
		return fmt.Errorf("model %s: %d time steps for %d images; give one per image", name, len(t), x.N)
	}
	for _, step := range t {
		if step < 0 || step >= d.schedule.T {
			return fmt.Errorf("model %s: time step %d is outside 0..%d", name, step, d.schedule.T-1)
		}
	}
	return nil
}

// inputX wraps the images as the model's x input. A float32 tensor shares
// x.Data, which ONNX Runtime only reads.
func (d *ONNXDenoiser) inputX(x *restore.Tensor) (ort.Value, error) {
	shape := ort.NewShape(int64(x.N), int64(x.Shape.C), int64(x.Shape.H), int64(x.Shape.W))
	var v ort.Value
	var err error
	if d.io.x.DType == Float16 {
		buf := make([]byte, 2*len(x.Data))
		putFloat16s(buf, x.Data)
		v, err = ort.NewCustomDataTensor(shape, buf, ort.TensorElementDataTypeFloat16)
	} else {
		v, err = ort.NewTensor(shape, x.Data)
	}
	if err != nil {
		return nil, fmt.Errorf("model %s: input %s: %w", d.manifest.Name, d.io.x.Name, err)
	}
	return v, nil
}

// inputT wraps the time steps as the model's t input.
func (d *ONNXDenoiser) inputT(t []int) (ort.Value, error) {
	shape := ort.NewShape(int64(len(t)))
	var v ort.Value
	var err error
	if d.io.t.DType == Float32 {
		ft := make([]float32, len(t))
		for i, s := range t {
			ft[i] = float32(s)
		}
		v, err = ort.NewTensor(shape, ft)
	} else {
		it := make([]int64, len(t))
		for i, s := range t {
			it[i] = int64(s)
		}
		v, err = ort.NewTensor(shape, it)
	}
	if err != nil {
		return nil, fmt.Errorf("model %s: input %s: %w", d.manifest.Name, d.io.t.Name, err)
	}
	return v, nil
}

// run runs the session; nil entries of outs are allocated by ONNX
// Runtime and must be destroyed by the caller.
func (d *ONNXDenoiser) run(ctx context.Context, x, t ort.Value, outs []ort.Value) error {
	return runSession(ctx, d.session, d.manifest.Name, []ort.Value{x, t}, outs)
}

// runSession runs sess for the model named model. Cancelling ctx during the
// run makes ONNX Runtime stop at its next operator.
func runSession(ctx context.Context, sess *ort.DynamicAdvancedSession, model string, ins, outs []ort.Value) error {
	ro, err := ort.NewRunOptions()
	if err != nil {
		return fmt.Errorf("model %s: %w", model, err)
	}
	// The cancellation callback may still be running when the run returns;
	// the lock keeps it from using ro after Destroy.
	var mu sync.Mutex
	done := false
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if !done {
			ro.Terminate()
		}
	})
	err = sess.RunWithOptions(ins, outs, ro)
	stop()
	mu.Lock()
	done = true
	mu.Unlock()
	ro.Destroy()
	if ctxErr := ctx.Err(); err != nil && ctxErr != nil {
		return ctxErr
	}
	if err != nil {
		return fmt.Errorf("model %s: ONNX Runtime failed on input of shape %s: %w", model, dims(ins[0].GetShape()), err)
	}
	return nil
}

// dims formats a tensor shape as model.json writes it, e.g. [1,3,64,64].
func dims(s ort.Shape) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = strconv.FormatInt(d, 10)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// checkFinite returns an error naming the first NaN or Inf in image i's eps.
func (d *ONNXDenoiser) checkFinite(eps []float32, i, n, step int) error {
	for _, v := range eps {
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			what := "NaN"
			if math.IsInf(f, 0) {
				what = "Inf"
			}
			return &NonFiniteError{Model: d.manifest.Name, Value: what, Step: step, Image: i, Batch: n}
		}
	}
	return nil
}

// NonFiniteError reports a NaN or Inf in a model's output.
type NonFiniteError struct {
	Model string
	Value string // "NaN" or "Inf"
	Step  int    // the time step of the image
	Image int    // the image's index in the batch
	Batch int    // the batch size
}

func (e *NonFiniteError) Error() string {
	return fmt.Sprintf("model %s produced %s at step t=%d (image %d of %d in the batch); the model file may be corrupt or incompatible", e.Model, e.Value, e.Step, e.Image+1, e.Batch)
}
