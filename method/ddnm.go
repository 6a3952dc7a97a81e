package method

import "github.com/restorelab/restorelab/restore"

// DDNM is the Denoising Diffusion Null-space Model for noiseless
// measurements (restore.NewDDNM).
var DDNM = &Method{
	Name:      "ddnm",
	Summary:   "DDNM: the range of H from y, the null space from the prior, then a DDIM move (noiseless y)",
	Reference: "Wang, Yu, Zhang, ICLR 2023; wyhuai/DDNM",
	Params: append([]Param{modelParam}, numbers(restore.DefaultDDNMConfig(),
		stepsParam(1000, "network evaluations"),
		etaParam("share of fresh noise in each move (the rest follows the model's eps)"),
	)...),
	build: func(s Settings, ms Models, p Problem, seed uint64) (restore.Sampler, error) {
		return newDDNM(restore.NewDDNM, s, ms, p, seed)
	},
}

// DDNMPlus is DDNM+, DDNM for noisy measurements, with time travel
// (restore.NewDDNMPlus).
var DDNMPlus = &Method{
	Name:      "ddnm+",
	Summary:   "DDNM+: DDNM with the correction and the noise scaled to sigma_y, and optional time travel",
	Reference: "Wang, Yu, Zhang, ICLR 2023; wyhuai/DDNM",
	Params: append([]Param{modelParam}, numbers(restore.DefaultDDNMConfig(),
		stepsParam(1000, "descending steps; time travel adds network evaluations"),
		etaParam("share of fresh noise in each move (the rest follows the model's eps)"),
		Param{Key: "travel_length", Kind: Int, Min: 1, Max: 1000, Help: "time travel: steps gone back at each jump (1 with travel_repeat 1: none)"},
		Param{Key: "travel_repeat", Kind: Int, Min: 1, Max: 100, Help: "time travel: passes over each stretch (1: none)"},
	)...),
	build: func(s Settings, ms Models, p Problem, seed uint64) (restore.Sampler, error) {
		return newDDNM(restore.NewDDNMPlus, s, ms, p, seed)
	},
}

func newDDNM(mk func(restore.Denoiser, restore.Operator, *restore.Tensor, restore.DDNMConfig) (*restore.DDNM, error), s Settings, ms Models, p Problem, seed uint64) (restore.Sampler, error) {
	den, err := ms.Prior(s.name("model"))
	if err != nil {
		return nil, err
	}
	cfg := restore.DefaultDDNMConfig()
	s.fill(&cfg)
	cfg.SigmaY, cfg.Seed = p.SigmaY, seed
	return mk(den, p.Op, p.Y, cfg)
}
