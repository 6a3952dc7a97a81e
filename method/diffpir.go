package method

import "github.com/restorelab/restorelab/restore"

// DiffPIR is Denoising Diffusion models for Plug-and-play Image
// Restoration (restore.DiffPIR).
var DiffPIR = &Method{
	Name:      "diffpir",
	Summary:   "DiffPIR: a closed-form proximal data step in the spectral space, then a zeta-mixed move",
	Reference: "Zhu et al., CVPRW 2023; yuanzhi-zhu/DiffPIR",
	Params: append([]Param{modelParam}, numbers(restore.DefaultDiffPIRConfig(),
		stepsParam(500, "network evaluations, on DiffPIR's quadratic time steps"),
		Param{Key: "lambda", Kind: Float, Min: 0, MinOpen: true, Max: 1e6, Help: "weight of the prior in the data step (larger trusts the prior more)"},
		Param{Key: "zeta", Kind: Float, Min: 0, Max: 1, Help: "share of fresh noise in each move"},
	)...),
	build: func(s Settings, ms Models, p Problem, seed uint64) (restore.Sampler, error) {
		den, err := ms.Prior(s.name("model"))
		if err != nil {
			return nil, err
		}
		cfg := restore.DefaultDiffPIRConfig()
		s.fill(&cfg)
		cfg.SigmaY, cfg.Seed = p.SigmaY, seed
		return restore.NewDiffPIR(den, p.Op, p.Y, cfg)
	},
}
