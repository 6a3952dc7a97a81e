package restore

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
)

// Task is a named restoration problem: a degradation operator family and its
// default measurement noise.
type Task struct {
	Name        string
	Description string
	// SigmaY is the task's default measurement noise on the [0, 1] scale.
	SigmaY float64
	// Factor is the downsampling factor of super-resolution tasks, 1 otherwise.
	Factor int
	kind   taskKind
	newOp  func(s Shape) (Operator, error)
}

type taskKind int

const (
	kindSameSize taskKind = iota
	kindSuperRes
	kindColorize
	kindInpaint
)

// DefaultInpaintMissing is the fraction of pixels the inpaint task removes
// when no mask is given.
const DefaultInpaintMissing = 0.5

// anisoSigmaRows and anisoSigmaCols define deblur-aniso: a Gaussian that
// blurs three times more along rows (horizontally) than down columns.
const anisoSigmaRows, anisoSigmaCols = 1.0, 3.0

var tasks = map[string]Task{}

func addTask(t Task) { tasks[t.Name] = t }

func init() {
	sr := func(name string, factor int, sigma float64, desc string, avg bool) {
		addTask(Task{Name: name, Description: desc, SigmaY: sigma, Factor: factor, kind: kindSuperRes,
			newOp: func(s Shape) (Operator, error) {
				if avg {
					return NewBlockAverage(s, factor)
				}
				return NewBicubicDown(s, factor)
			}})
	}
	sr("sr4", 4, 0, "4x super-resolution, bicubic downsampling (the study's SR 64->256)", false)
	sr("sr4-noisy", 4, 0.05, "4x super-resolution, bicubic, sigma_y 0.05 (the study's noisy SR)", false)
	sr("sr2", 2, 0, "2x super-resolution, bicubic downsampling", false)
	sr("sr8", 8, 0, "8x super-resolution, bicubic downsampling", false)
	sr("sr4-avg", 4, 0, "4x super-resolution, 4x4 block average", true)
	blur := func(name, desc string, rows, cols func() ([]float64, error)) {
		addTask(Task{Name: name, Description: desc, Factor: 1, kind: kindSameSize,
			newOp: func(s Shape) (Operator, error) {
				r, err := rows()
				if err != nil {
					return nil, err
				}
				c, err := cols()
				if err != nil {
					return nil, err
				}
				return NewBlur(s, r, c)
			}})
	}
	gauss := func(sigma float64) func() ([]float64, error) {
		return func() ([]float64, error) { return GaussianKernel(sigma) }
	}
	uniform9 := func() ([]float64, error) { return UniformKernel(9) }
	blur("deblur", "deblurring, Gaussian sigma 1 px (the study's deblur)", gauss(1), gauss(1))
	blur("deblur-uniform", "deblurring, uniform 9x9 box", uniform9, uniform9)
	blur("deblur-aniso", "deblurring, anisotropic Gaussian: sigma 3 px horizontally, 1 px vertically", gauss(anisoSigmaRows), gauss(anisoSigmaCols))
	addTask(Task{Name: "denoise", Description: "denoising, sigma_y 0.1 (the study's denoise)", SigmaY: 0.1, Factor: 1, kind: kindSameSize,
		newOp: func(s Shape) (Operator, error) { return NewIdentity(s), nil }})
	addTask(Task{Name: "colorize", Description: "colourisation from the channel average", Factor: 1, kind: kindColorize,
		newOp: NewColorize})
	addTask(Task{Name: "inpaint", Description: fmt.Sprintf("inpainting; without a mask, a random %.0f%% of pixels are missing", 100*DefaultInpaintMissing), Factor: 1, kind: kindInpaint})
}

// Tasks returns every task, sorted by name.
func Tasks() []Task {
	out := make([]Task, 0, len(tasks))
	for _, t := range tasks {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// TaskNames returns the names of every task, sorted.
func TaskNames() []string {
	var names []string
	for _, t := range Tasks() {
		names = append(names, t.Name)
	}
	return names
}

// StudyTasks are the four tasks of the study, in its order.
var StudyTasks = []string{"sr4", "deblur", "denoise", "sr4-noisy"}

// LookupTask finds a task by name.
func LookupTask(name string) (Task, error) {
	t, ok := tasks[name]
	if !ok {
		return Task{}, fmt.Errorf("unknown task %q; choose one of: %s", name, strings.Join(TaskNames(), ", "))
	}
	return t, nil
}

// Operator builds the task's operator for clean images of shape s. keep is
// the inpainting mask (one entry per pixel, true where kept) and must be nil
// for other tasks.
func (t Task) Operator(s Shape, keep []bool) (Operator, error) {
	if t.kind == kindInpaint {
		if keep == nil {
			return nil, fmt.Errorf("inpaint needs a mask: give a mask image, or a measurement whose missing pixels are transparent (PNG) or NaN (.npy)")
		}
		return NewInpaint(s, keep)
	}
	if keep != nil {
		return nil, fmt.Errorf("task %s takes no mask; masks are for inpaint", t.Name)
	}
	op, err := t.newOp(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.Name, err)
	}
	return op, nil
}

// CleanShape returns the shape of the image a measurement of shape y restores to.
func (t Task) CleanShape(y Shape) (Shape, error) {
	switch t.kind {
	case kindSuperRes:
		return Shape{C: y.C, H: y.H * t.Factor, W: y.W * t.Factor}, nil
	case kindColorize:
		if y.C != 1 {
			return Shape{}, fmt.Errorf("colorize takes a 1-channel (grayscale) measurement, got %d channels; degrade with --task colorize first", y.C)
		}
		return Shape{C: 3, H: y.H, W: y.W}, nil
	}
	return y, nil
}

// RandomInpaintMask draws the default inpainting mask for an h x w image.
func RandomInpaintMask(h, w int, seed uint64) []bool {
	return RandomMask(h, w, DefaultInpaintMissing, seed)
}

// TakesMask reports whether the task's operator needs a mask of kept
// pixels: only inpainting does.
func (t Task) TakesMask() bool { return t.kind == kindInpaint }

// Mask returns the mask of kept pixels for an h x w clean image: read from
// path (see LoadMask), or, when path is empty, drawn from seed with
// RandomInpaintMask. Tasks other than inpaint get nil, and refuse a path.
func (t Task) Mask(path string, h, w int, seed uint64) ([]bool, error) {
	if !t.TakesMask() {
		if path != "" {
			return nil, fmt.Errorf("a mask is for the inpaint task, not %s", t.Name)
		}
		return nil, nil
	}
	if path == "" {
		return RandomInpaintMask(h, w, seed), nil
	}
	keep, err := LoadMask(path)
	if err != nil {
		return nil, err
	}
	if len(keep) != h*w {
		return nil, fmt.Errorf("mask %s has %d pixels but the image is %dx%d; use a mask of the image's size", path, len(keep), w, h)
	}
	return keep, nil
}

// Degrade computes y = H x + sigmaY z for a batch of clean images in [0, 1].
// The noise is drawn from seed; y is on the [0, 1] scale and, being noisy,
// may leave that range.
func Degrade(op Operator, x *Tensor, sigmaY float64, seed uint64) (*Tensor, error) {
	if x.Shape != op.InShape() {
		return nil, fmt.Errorf("image of shape %v does not match the operator's %v", x.Shape, op.InShape())
	}
	y := NewTensor(x.N, op.OutShape())
	for b := range x.N {
		yb := y.Item(b)
		ApplyH(op, yb, x.Item(b))
		if sigmaY > 0 {
			rng := rand.New(rand.NewPCG(seed, uint64(b)))
			for k := range yb {
				yb[k] += float32(sigmaY * rng.NormFloat64())
			}
		}
	}
	return y, nil
}

// Baseline is the study's reference restoration of a measurement: bicubic
// upsampling for super-resolution, the measurement itself for deblurring and
// denoising, and the pseudo-inverse H^+ y in [-1, 1] space for colourisation
// (the gray image in every channel) and inpainting (missing pixels mid-gray).
func (t Task) Baseline(op Operator, y *Tensor) (*Tensor, error) {
	in := op.InShape()
	switch t.kind {
	case kindSuperRes:
		up, err := ResizeBicubic(y, in.H, in.W)
		if err != nil {
			return nil, err
		}
		return up.Clamp(0, 1), nil
	case kindSameSize:
		return y.Clone().Clamp(0, 1), nil
	}
	out := NewTensor(y.N, in)
	ones := make([]float32, in.Len())
	for i := range ones {
		ones[i] = 1
	}
	h1 := make([]float32, op.OutShape().Len())
	ApplyH(op, h1, ones)
	signed := make([]float32, len(h1))
	for b := range y.N {
		for i, v := range y.Item(b) {
			signed[i] = 2*v - h1[i]
		}
		ApplyPinv(op, out.Item(b), signed, 0)
	}
	return out.ToUnit().Clamp(0, 1), nil
}

// QuantisationSigma is the standard deviation of rounding to 8 bits on the
// [0, 1] scale, 1/(255 sqrt 12): the noise an 8-bit measurement carries even
// when the degradation itself is noiseless.
const QuantisationSigma = 1 / (255 * 3.4641016151377544)

// QuantisationSigma16 is the standard deviation of rounding to 16 bits on
// the [0, 1] scale, 1/(65535 sqrt 12).
const QuantisationSigma16 = 1 / (65535 * 3.4641016151377544)

// MeasurementSigma is the noise level a sampler should assume for a
// measurement degraded with noise sigmaY and then stored with rounding of
// standard deviation quantisation (Measurement.Quantisation): the two add
// in quadrature.
func MeasurementSigma(sigmaY, quantisation float64) float64 {
	return math.Sqrt(sigmaY*sigmaY + quantisation*quantisation)
}
