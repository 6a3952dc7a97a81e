package method

import "github.com/restorelab/restorelab/restore"

// DDRM is Denoising Diffusion Restoration Models (restore.DDRM).
var DDRM = &Method{
	Name:      "ddrm",
	Summary:   "DDRM: diffusion in the operator's spectral space, y blended in where it is informative",
	Reference: "Kawar, Elad, Ermon, Song 2022; bahjat-kawar/ddrm",
	Params: append([]Param{modelParam}, numbers(restore.DefaultDDRMConfig(),
		stepsParam(1000, "network evaluations"),
		etaParam("noise injected where y does not pin the image down (0 deterministic, 1 fully stochastic)"),
		Param{Key: "eta_b", Kind: Float, Min: 0, Max: 1, Help: "weight of y where the sample is noisier than y (1 takes y)"},
	)...),
	build: func(s Settings, ms Models, p Problem, seed uint64) (restore.Sampler, error) {
		den, err := ms.Prior(s.name("model"))
		if err != nil {
			return nil, err
		}
		cfg := restore.DefaultDDRMConfig()
		s.fill(&cfg)
		cfg.SigmaY, cfg.Seed = p.SigmaY, seed
		return restore.NewDDRM(den, p.Op, p.Y, cfg)
	},
}
