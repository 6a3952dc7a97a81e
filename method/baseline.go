package method

import "github.com/restorelab/restorelab/restore"

// Baseline is the study's reference restoration (restore.Task.Baseline):
// bicubic upsampling for super-resolution, the measurement itself for
// deblurring and denoising, H^+ y for colourisation and inpainting. Its
// sampler takes no steps.
var Baseline = &Method{
	Name:      "baseline",
	Summary:   "the study's baseline: bicubic upsampling for SR, y itself for deblurring and denoising, H^+ y otherwise",
	Reference: "the study's baselines",
	build: func(_ Settings, _ Models, p Problem, _ uint64) (restore.Sampler, error) {
		x, err := p.Task.Baseline(p.Op, p.Y)
		if err != nil {
			return nil, err
		}
		return fixed{x}, nil
	},
}
