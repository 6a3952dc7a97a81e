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
	Params: append(append([]Param{ldmParam}, numbers(restore.DefaultDDIMConfig(),
		stepsParam(999, "DDIM steps (UNet evaluations)"),
		etaParam("DDIM eta of the latent chain (0 deterministic, 1 LDM's notebook; diffusers' pipeline uses 0)"),
	)...), finalAlphaParam),
	build: func(s Settings, ms Models, p Problem, seed uint64) (restore.Sampler, error) {
		l, low, err := srldmInput(s, ms, p)
		if err != nil {
			return nil, err
		}
		cfg := restore.DefaultDDIMConfig()
		s.fill(&cfg)
		cfg.Seed, cfg.FinalAlphaOne = seed, s.finalAlphaOne(l)
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
	Params: append(append([]Param{ldmParam}, numbers(restore.DefaultDDRMLDMConfig(),
		stepsParam(999, "DDIM steps (UNet evaluations; the corrected ones also decode and encode)"),
		etaParam("DDIM eta of the latent chain"),
		Param{Key: "eta_b", Kind: Float, Min: 0, Max: 1, Help: "weight of the correction toward y (1 makes a noiseless y hold exactly)"},
		Param{Key: "correct_every", Kind: Int, Min: 0, Max: 999, Help: "correct every n-th step (from the first; 1: every step, 0: none but the last correct_last); each correction costs a decoder and an encoder call"},
		Param{Key: "correct_last", Kind: Int, Min: 0, Max: 999, Help: "also correct the last n steps"},
	)...), finalAlphaParam),
	build: func(s Settings, ms Models, p Problem, seed uint64) (restore.Sampler, error) {
		l, low, err := srldmInput(s, ms, p)
		if err != nil {
			return nil, err
		}
		cfg := restore.DefaultDDRMLDMConfig()
		s.fill(&cfg)
		cfg.SigmaY, cfg.Seed, cfg.FinalAlphaOne = p.SigmaY, seed, s.finalAlphaOne(l)
		return restore.NewDDRMLDM(l.UNet, l.Autoencoder, low, p.Op, p.Y, cfg)
	},
}

// finalAlphaParam chooses where the latent chain's last DDIM step goes.
var finalAlphaParam = Param{Key: "final_alpha", Kind: Choice, Choices: []string{"model", "alpha_bar_0", "one"}, Default: "model",
	Help: "where the last DDIM step goes: alpha_bar_0 (LDM's DDIMSampler), one (diffusers' scheduler with set_alpha_to_one), or model: the convention the model's model.json records"}

// finalAlphaOne resolves final_alpha for the model l.
func (s Settings) finalAlphaOne(l *SRLDMModel) bool {
	switch s.values["final_alpha"] {
	case "one":
		return true
	case "alpha_bar_0":
		return false
	}
	return l.FinalAlphaOne
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
