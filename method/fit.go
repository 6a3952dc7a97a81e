package method

import (
	"fmt"

	"github.com/restorelab/restorelab/restore"
)

// Fit says what to do with an image whose sides the task's operator or the
// method's network do not take (a 4x downsampling takes multiples of 4, the
// bundled prior multiples of 8).
type Fit string

const (
	// FitPad reflects the image about its bottom and right edges up to the
	// next sides they take, restores that, and crops the result back: the
	// output has the input's size.
	FitPad Fit = "pad"
	// FitCrop cuts the image down to the largest sides they take; the
	// output is that much smaller.
	FitCrop Fit = "crop"
	// FitError refuses the image, saying which sides would do.
	FitError Fit = "error"
)

// ParseFit reads a Fit from its name.
func ParseFit(s string) (Fit, error) {
	switch f := Fit(s); f {
	case FitPad, FitCrop, FitError:
		return f, nil
	}
	return "", fmt.Errorf("fit %q is not pad, crop or error", s)
}

// Multiple returns what the clean image's sides must be multiples of for
// the task's operator and the network the settings name.
func (s Settings) Multiple(ms Models, task restore.Task) (int, error) {
	m := max(task.Factor, 1)
	p, ok := s.m.ModelParam()
	if !ok {
		return m, nil
	}
	switch p.Kind {
	case Prior:
		den, err := ms.Prior(s.name(p.Key))
		if err != nil {
			return 0, err
		}
		return lcm(m, max(den.Info().SizeMultiple, 1)), nil
	default:
		l, err := ms.SRLDM(s.name(p.Key))
		if err != nil {
			return 0, err
		}
		return lcm(m, max(l.Multiple, l.Autoencoder.Factor())), nil
	}
}

// CommonMultiple returns what the clean image's sides must be multiples of
// for the task and every one of the settings' networks, so that several
// methods restore one measurement. Settings whose network cannot be opened
// are left out: they fail on their own when built.
func CommonMultiple(ms Models, task restore.Task, settings ...Settings) int {
	m := max(task.Factor, 1)
	for _, s := range settings {
		if k, err := s.Multiple(ms, task); err == nil {
			m = lcm(m, k)
		}
	}
	return m
}

func lcm(a, b int) int {
	g, h := a, b
	for h != 0 {
		g, h = h, g%h
	}
	return a / g * b
}

// fitSide is the side a fit turns n into, for multiples of m.
func fitSide(n, m int, f Fit) int {
	if f == FitCrop {
		return n / m * m
	}
	return (n + m - 1) / m * m
}

// FitClean pads or crops clean images (see Fit) so that their sides are
// multiples of m, and returns them with the rows and columns added at the
// bottom and right (0 when cropping).
func FitClean(clean *restore.Tensor, f Fit, m int) (x *restore.Tensor, padBottom, padRight int, err error) {
	s := clean.Shape
	h, w := fitSide(s.H, m, f), fitSide(s.W, m, f)
	switch {
	case h == s.H && w == s.W:
		return clean, 0, 0, nil
	case f == FitError:
		return nil, 0, 0, sizeError(s.W, s.H, m)
	case h < 1 || w < 1:
		return nil, 0, 0, fmt.Errorf("the image is %dx%d, smaller than %d, the least side that fits; pad it instead (fit pad: --fit pad on the command line, set fit pad in the REPL)", s.W, s.H, m)
	case f == FitCrop:
		x, err = restore.Crop(clean, h, w)
		return x, 0, 0, err
	}
	x, err = restore.PadReflect(clean, h, w)
	return x, h - s.H, w - s.W, err
}

func sizeError(w, h, m int) error {
	fix := fmt.Sprintf("pad to %dx%d", (w+m-1)/m*m, (h+m-1)/m*m)
	if w >= m && h >= m {
		fix += fmt.Sprintf(" or crop to %dx%d", w/m*m, h/m*m)
	}
	return fmt.Errorf("the image is %dx%d but this task and network take sides that are multiples of %d: %s (fit pad or fit crop does it: --fit on the command line, set fit in the REPL)", w, h, m, fix)
}

// Fitting is how a measurement was fitted: the restoration is cropped to
// Height x Width, the clean image's size.
type Fitting struct {
	Height, Width int
	// Padded and Cropped say whether the measurement was made larger or
	// smaller to fit.
	Padded, Cropped bool
}

// Crop returns the top-left Height x Width of restored images.
func (f Fitting) Crop(x *restore.Tensor) (*restore.Tensor, error) {
	if x.Shape.H == f.Height && x.Shape.W == f.Width {
		return x, nil
	}
	return restore.Crop(x, f.Height, f.Width)
}

// FitMeasurement pads or crops a measurement of task (see Fit) so that the
// clean image it restores to has sides that are multiples of m, and returns
// it with the size to crop the restoration to: the clean image's recorded
// size when the file has one (a measurement 'restorelab degrade' padded),
// otherwise the size the measurement restores to as it was.
func FitMeasurement(task restore.Task, meas *restore.Measurement, f Fit, m int) (*restore.Measurement, Fitting, error) {
	clean, err := task.CleanShape(meas.Y.Shape)
	if err != nil {
		return nil, Fitting{}, err
	}
	fit := Fitting{Height: clean.H, Width: clean.W}
	if i := meas.Info; i != nil {
		if i.Height+i.PadBottom != clean.H || i.Width+i.PadRight != clean.W {
			return nil, Fitting{}, fmt.Errorf("the measurement restores to %dx%d, but its info says the clean image was %dx%d padded by %d columns and %d rows; the file is inconsistent",
				clean.W, clean.H, i.Width, i.Height, i.PadRight, i.PadBottom)
		}
		fit.Height, fit.Width = i.Height, i.Width
	}
	h, w := fitSide(clean.H, m, f), fitSide(clean.W, m, f)
	if h == clean.H && w == clean.W {
		return meas, fit, nil
	}
	if f == FitError {
		return nil, Fitting{}, sizeError(clean.W, clean.H, m)
	}
	if h < 1 || w < 1 {
		return nil, Fitting{}, fmt.Errorf("the image is %dx%d, smaller than %d, the least side that fits; pad it instead (fit pad: --fit pad on the command line, set fit pad in the REPL)", clean.W, clean.H, m)
	}
	// The measurement's own sides scale like the clean image's.
	r := max(task.Factor, 1)
	yh, yw := h/r, w/r
	out := *meas
	y0 := meas.Y.Shape
	if f == FitCrop {
		if out.Y, err = restore.Crop(meas.Y, yh, yw); err != nil {
			return nil, Fitting{}, err
		}
		out.Keep = restore.CropMask(meas.Keep, y0.W, yh, yw)
		fit.Height, fit.Width, fit.Cropped = min(fit.Height, h), min(fit.Width, w), true
		return &out, fit, nil
	}
	if out.Y, err = restore.PadReflect(meas.Y, yh, yw); err != nil {
		return nil, Fitting{}, err
	}
	out.Keep = restore.PadMask(meas.Keep, y0.H, y0.W, yh, yw)
	fit.Padded = true
	return &out, fit, nil
}

// Input is a measurement made ready for a method: in colour, fitted to the
// sides the method takes, as a Problem.
type Input struct {
	Problem
	Fitting
	// Gray says the measurement was gray and was restored as three equal
	// channels; Output averages them back.
	Gray bool
}

// Prepare makes a measurement file's content ready for a method that needs
// sides that are multiples of m (Settings.Multiple): a gray measurement of a
// task other than colorize becomes three equal channels, the sides are
// fitted as f says (FitMeasurement), and the problem is built as Measure
// builds it.
func Prepare(task restore.Task, meas *restore.Measurement, sigmaY float64, mask string, f Fit, m int) (Input, error) {
	var in Input
	if meas.Y.Shape.C == 1 && task.Name != "colorize" {
		c := *meas
		c.Y = restore.ToRGB(meas.Y)
		meas, in.Gray = &c, true
	}
	if mask != "" && task.TakesMask() && meas.Keep == nil {
		// The mask is read at the measurement's size, then fitted with it.
		clean, err := task.CleanShape(meas.Y.Shape)
		if err != nil {
			return Input{}, err
		}
		c := *meas
		if c.Keep, err = task.Mask(mask, clean.H, clean.W, 0); err != nil {
			return Input{}, err
		}
		meas, mask = &c, ""
	}
	fitted, fitting, err := FitMeasurement(task, meas, f, m)
	if err != nil {
		return Input{}, err
	}
	clean, err := task.CleanShape(fitted.Y.Shape)
	if err != nil {
		return Input{}, err
	}
	if err := restore.CheckPixels("the restored image", clean.H, clean.W); err != nil {
		return Input{}, err
	}
	if in.Problem, err = Measure(task, fitted, sigmaY, mask); err != nil {
		return Input{}, err
	}
	in.Fitting = fitting
	return in, nil
}

// Output turns restored images of the prepared problem into the user's:
// cropped to the clean image's size, and gray again for a gray measurement.
func (in Input) Output(x *restore.Tensor) (*restore.Tensor, error) {
	x, err := in.Crop(x)
	if err != nil || !in.Gray {
		return x, err
	}
	g := restore.NewTensor(x.N, restore.Shape{C: 1, H: x.Shape.H, W: x.Shape.W})
	plane := x.Shape.H * x.Shape.W
	for b := range x.N {
		src, dst := x.Item(b), g.Item(b)
		for i := range dst {
			dst[i] = (src[i] + src[plane+i] + src[2*plane+i]) / 3
		}
	}
	return g, nil
}

// DegradeFitted fits a clean image to sides that are multiples of m (see
// Fit; the task's factor at least), draws or reads the task's mask at the
// image's own size and fits it with the image, and degrades the result. The
// info records the task, the noise, the seed and the size a restoration is
// cropped back to: the clean image's, or the cropped size when cropping.
func DegradeFitted(task restore.Task, clean *restore.Tensor, mask string, sigmaY float64, seed uint64, f Fit, m int) (Problem, restore.MeasurementInfo, error) {
	s := clean.Shape
	keep, err := task.Mask(mask, s.H, s.W, seed)
	if err != nil {
		return Problem{}, restore.MeasurementInfo{}, err
	}
	fitted, padBottom, padRight, err := FitClean(clean, f, lcm(max(task.Factor, 1), max(m, 1)))
	if err != nil {
		return Problem{}, restore.MeasurementInfo{}, err
	}
	fs := fitted.Shape
	switch {
	case padBottom+padRight > 0:
		keep = restore.PadMask(keep, s.H, s.W, fs.H, fs.W)
	case fitted != clean:
		keep = restore.CropMask(keep, s.W, fs.H, fs.W)
	}
	p, err := Degrade(task, fitted, keep, sigmaY, seed)
	info := restore.MeasurementInfo{Task: task.Name, Operator: task.Description, SigmaY: sigmaY, Seed: seed,
		Height: fs.H - padBottom, Width: fs.W - padRight, PadBottom: padBottom, PadRight: padRight}
	return p, info, err
}
