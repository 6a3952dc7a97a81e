package method

import (
	"context"
	"errors"
	"fmt"

	"github.com/restorelab/restorelab/restore"
)

// Problem is a measurement to restore: the task that made it, the
// task's operator for the clean image's size, the measurement y on the
// [0, 1] scale and the noise level samplers assume for it.
type Problem struct {
	Task restore.Task
	Op   restore.Operator
	Y    *restore.Tensor
	// SigmaY is the measurement noise on the [0, 1] scale, the rounding
	// of an 8- or 16-bit file included (restore.MeasurementSigma).
	SigmaY float64
	// Keep is the inpainting mask the operator was built with; nil for
	// other tasks.
	Keep []bool
}

func (p Problem) check() error {
	switch {
	case p.Op == nil || p.Y == nil:
		return errors.New("the problem has no operator or no measurement")
	case p.Y.Shape != p.Op.OutShape():
		return fmt.Errorf("measurement of shape %v does not match the %s operator's %v", p.Y.Shape, p.Task.Name, p.Op.OutShape())
	}
	return nil
}

// Degrade makes the problem of restoring clean images (a batch in [0, 1])
// from y = H x + sigmaY z, the noise drawn from seed. keep is the
// inpainting mask (see restore.Task.Mask), nil for other tasks.
func Degrade(task restore.Task, clean *restore.Tensor, keep []bool, sigmaY float64, seed uint64) (Problem, error) {
	op, err := task.Operator(clean.Shape, keep)
	if err != nil {
		return Problem{}, err
	}
	y, err := restore.Degrade(op, clean, sigmaY, seed)
	if err != nil {
		return Problem{}, err
	}
	return Problem{Task: task, Op: op, Y: y, SigmaY: sigmaY, Keep: keep}, nil
}

// Measure makes the problem of restoring a measurement read from a file
// (restore.LoadMeasurement) that task made with noise sigmaY; the file's
// own rounding is added to it. mask, when the file marks no missing pixels,
// gives the inpainting mask (restore.Task.Mask's path).
func Measure(task restore.Task, m *restore.Measurement, sigmaY float64, mask string) (Problem, error) {
	clean, err := task.CleanShape(m.Y.Shape)
	if err != nil {
		return Problem{}, err
	}
	keep := m.Keep
	switch {
	case !task.TakesMask() && keep != nil:
		missing := 0
		for _, k := range keep {
			if !k {
				missing++
			}
		}
		return Problem{}, fmt.Errorf("the measurement marks %d pixels missing (transparent in a PNG, NaN in an .npy), but only inpaint restores missing pixels; use the inpaint task, or a measurement without them", missing)
	case !task.TakesMask():
		if _, err := task.Mask(mask, clean.H, clean.W, 0); err != nil {
			return Problem{}, err
		}
	case keep != nil && mask != "":
		return Problem{}, fmt.Errorf("the measurement already marks its missing pixels; give no mask as well")
	case keep == nil && mask == "":
		return Problem{}, fmt.Errorf("inpaint needs a mask: give a mask image (white = kept), or a measurement whose missing pixels are transparent (PNG) or NaN (.npy)")
	case keep == nil:
		if keep, err = task.Mask(mask, clean.H, clean.W, 0); err != nil {
			return Problem{}, err
		}
	}
	op, err := task.Operator(clean, keep)
	if err != nil {
		return Problem{}, err
	}
	return Problem{Task: task, Op: op, Y: m.Y, SigmaY: restore.MeasurementSigma(sigmaY, m.Quantisation), Keep: keep}, nil
}

// Models opens the networks methods need, by the names their settings
// give; "" names the default of each kind. Implementations may keep what
// they open for reuse.
type Models interface {
	// Prior opens an unconditional diffusion prior.
	Prior(name string) (restore.Denoiser, error)
	// SRLDM opens a latent-diffusion 4x super-resolution model.
	SRLDM(name string) (*SRLDMModel, error)
}

// SRLDMModel is an opened SRLDM: its conditional latent UNet and its
// autoencoder.
type SRLDMModel struct {
	// Name is the model's name.
	Name        string
	UNet        restore.Denoiser
	Autoencoder restore.Autoencoder
	// Multiple is what the output image's sides must be multiples of.
	Multiple int
	// Digest identifies the model's weights, like DenoiserInfo.Digest.
	Digest string
	// FinalAlphaOne is the DDIM convention the model was published with:
	// its last step goes to alpha_bar = 1 (diffusers' scheduler with
	// set_alpha_to_one) rather than to alpha_bar_0 (LDM's DDIMSampler).
	FinalAlphaOne bool
}

// Analytic is the Models of a process without neural networks: its only
// prior is restore's analytic Gaussian, named "gaussian", which is also its
// default, and it has no SRLDM.
type Analytic struct{}

// GaussianName is the name of the analytic Gaussian prior.
const GaussianName = "gaussian"

// Prior implements Models.
func (Analytic) Prior(name string) (restore.Denoiser, error) {
	if name != "" && name != GaussianName {
		return nil, fmt.Errorf("model %q is not available here; the only prior is %s, the analytic Gaussian", name, GaussianName)
	}
	return restore.NewGaussianDenoiser(nil), nil
}

// SRLDM implements Models.
func (Analytic) SRLDM(string) (*SRLDMModel, error) {
	return nil, errors.New("no SRLDM is available here; the ldm methods need restorelab's models (package models)")
}

// Identity describes what made a method's results: the method, its
// settings, and the digest of each network it uses, so that results made
// with other weights or settings are never mixed with these.
func (s Settings) Identity(ms Models) (map[string]string, error) {
	id := s.Values()
	id["method"] = s.m.Name
	if p, ok := s.m.ModelParam(); ok {
		switch p.Kind {
		case Prior:
			den, err := ms.Prior(s.name(p.Key))
			if err != nil {
				return nil, err
			}
			info := den.Info()
			id[p.Key], id[p.Key+"_digest"] = info.Name, info.Digest
		case SRLDM:
			l, err := ms.SRLDM(s.name(p.Key))
			if err != nil {
				return nil, err
			}
			id[p.Key], id[p.Key+"_digest"] = l.Name, l.Digest
		}
	}
	return id, nil
}

// fixed is a sampler with no steps whose result is known at once: the
// baseline's.
type fixed struct{ x *restore.Tensor }

func (f fixed) Step(context.Context) (*restore.StepInfo, error) {
	return nil, errors.New("the baseline takes no steps")
}
func (f fixed) Done() bool                       { return true }
func (f fixed) Index() int                       { return 0 }
func (f fixed) Len() int                         { return 0 }
func (f fixed) State() *restore.Tensor           { return f.x.Clone().ToSigned() }
func (f fixed) Result() (*restore.Tensor, error) { return f.x.Clone(), nil }
func (f fixed) SetState(int, *restore.Tensor) error {
	return errors.New("the baseline has no state to set")
}
