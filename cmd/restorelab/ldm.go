package main

import (
	"flag"

	"github.com/restorelab/restorelab/models"
	"github.com/restorelab/restorelab/restore"
)

// ldmSettings are the flags of the ldm and ddrm-ldm methods.
type ldmSettings struct {
	model string
	ddim  restore.DDIMConfig
}

// ldmFlags adds the flags of the latent-diffusion methods. ddrm-ldm's
// latent chain takes --ldm-eta, as LDM's, and its correction --eta-b.
func ldmFlags(fs *flag.FlagSet) *ldmSettings {
	s := &ldmSettings{ddim: restore.DefaultDDIMConfig()}
	fs.StringVar(&s.model, "ldm-model", "", "SRLDM of the ldm and ddrm-ldm methods: a model name or an ldm-sr model folder (default: the bundled "+models.DefaultLDM+")")
	fs.IntVar(&s.ddim.Steps, "ldm-steps", s.ddim.Steps, "DDIM steps (UNet evaluations) of ldm and ddrm-ldm, 1..999")
	fs.Float64Var(&s.ddim.Eta, "ldm-eta", s.ddim.Eta, "DDIM eta of the latent chain of ldm and ddrm-ldm, in [0,1] (ddrm-ldm weighs its correction by --eta-b)")
	return s
}

// hybridConfig is the DDRM-LDM configuration from the DDRM and LDM flags.
func (s *ldmSettings) hybridConfig(ddrm restore.DDRMConfig) restore.DDRMConfig {
	ddrm.Steps, ddrm.Eta = s.ddim.Steps, s.ddim.Eta
	return ddrm
}

// openLDM opens the SRLDM named by --ldm-model, or the bundled one.
func openLDM(name string) (*models.LDM, error) {
	if name == "" {
		name = models.DefaultLDM
	}
	return models.OpenLDM(name, runtimeOptions)
}
