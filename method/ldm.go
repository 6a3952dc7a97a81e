package method

import "github.com/restorelab/restorelab/restore"

// LDM is latent diffusion's 4x super-resolution (restore.LDMSR). SRLDM only
// super-resolves, so every task gives it restore.LowResInput's
// low-resolution image: the measurement itself for sr4, otherwise the
// task's baseline downsampled by the autoencoder's factor.
var LDM = &Method{
	Name:      "ldm",
	Summary:   "SRLDM: latent diffusion 4x super-resolution from the measurement (downsampled to 1/4 if it is not already)",
	Reference: "Rombach et al. 2022; CompVis/latent-diffusion, ldm-super-resolution-4x-openimages",
	Params: append([]Param{ldmParam}, numbers(restore.DefaultDDIMConfig(),
		stepsParam(999, "DDIM steps (UNet evaluations)"),
		etaParam("DDIM eta of the latent chain (0 deterministic, 1 LDM's notebook)"),
	)...),
	build: func(s Settings, ms Models, p Problem, seed uint64) (restore.Sampler, error) {
		l, low, err := srldmInput(s, ms, p)
		if err != nil {
			return nil, err
		}
		cfg := restore.DefaultDDIMConfig()
		s.fill(&cfg)
		cfg.Seed = seed
		return restore.NewLDMSR(l.UNet, l.Autoencoder, low, cfg)
	},
}

// DDRMLDM is the DDRM-LDM hybrid (restore.DDRMLDM): SRLDM's latent chain,
// given the same low-resolution image as LDM, made consistent with the
// task's own measurement at every step.
var DDRMLDM = &Method{
	Name:      "ddrm-ldm",
	Summary:   "DDRM-LDM: SRLDM's latent chain kept consistent with the measurement (see docs/ddrm-ldm.md)",
	Reference: "this project's hybrid of the two; docs/ddrm-ldm.md",
	Params: append([]Param{ldmParam}, numbers(restore.DefaultDDRMLDMConfig(),
		stepsParam(999, "DDIM steps (UNet evaluations; each also decodes and encodes)"),
		etaParam("DDIM eta of the latent chain"),
		Param{Key: "eta_b", Kind: Float, Min: 0, Max: 1, Help: "weight of the correction toward y (1 makes a noiseless y hold exactly)"},
		Param{Key: "correct_every", Kind: Int, Min: 0, Max: 999, Help: "correct every n-th step (from the first; 1: every step, 0: none but the last correct_last); each correction costs a decoder and an encoder call"},
		Param{Key: "correct_last", Kind: Int, Min: 0, Max: 999, Help: "also correct the last n steps"},
	)...),
	build: func(s Settings, ms Models, p Problem, seed uint64) (restore.Sampler, error) {
		l, low, err := srldmInput(s, ms, p)
		if err != nil {
			return nil, err
		}
		cfg := restore.DefaultDDRMLDMConfig()
		s.fill(&cfg)
		cfg.SigmaY, cfg.Seed = p.SigmaY, seed
		return restore.NewDDRMLDM(l.UNet, l.Autoencoder, low, p.Op, p.Y, cfg)
	},
}

func srldmInput(s Settings, ms Models, p Problem) (*SRLDMModel, *restore.Tensor, error) {
	l, err := ms.SRLDM(s.name("ldm_model"))
	if err != nil {
		return nil, nil, err
	}
	low, err := restore.LowResInput(p.Task, p.Op, p.Y, l.Autoencoder.Factor())
	if err != nil {
		return nil, nil, err
	}
	return l, low, nil
}
