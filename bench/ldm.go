package bench

import (
	"context"

	"github.com/restorelab/restorelab/restore"
)

// LDM restores with latent diffusion's 4x super-resolution
// (restore.LDMSR). SRLDM only super-resolves, so every task gives it
// restore.LowResInput's low-resolution image: the measurement itself for
// sr4, otherwise the task's baseline downsampled by the autoencoder's
// factor (e.g. the blurred image, downsampled by 4, for deblur).
type LDM struct {
	// Label names the method in results; "ldm" when empty.
	Label       string
	UNet        restore.Denoiser
	Autoencoder restore.Autoencoder
	Config      restore.DDIMConfig
	// Hooks are called after every step, e.g. to show progress.
	Hooks []restore.Hook
}

// Name implements Method.
func (m LDM) Name() string { return labelOr(m.Label, "ldm") }

// Restore implements Method; NFE counts UNet evaluations.
func (m LDM) Restore(ctx context.Context, task restore.Task, op restore.Operator, y *restore.Tensor, sigmaY float64, seed uint64) (*restore.Tensor, int, error) {
	return restoreWith(ctx, m, m.Hooks, task, op, y, sigmaY, seed)
}

// Sampler implements SamplerMethod.
func (m LDM) Sampler(task restore.Task, op restore.Operator, y *restore.Tensor, _ float64, seed uint64) (restore.Sampler, error) {
	low, err := restore.LowResInput(task, op, y, m.Autoencoder.Factor())
	if err != nil {
		return nil, err
	}
	cfg := m.Config
	cfg.Seed = seed
	return restore.NewLDMSR(m.UNet, m.Autoencoder, low, cfg)
}

// DDRMLDM restores with the DDRM-LDM hybrid (restore.DDRMLDM): SRLDM's
// latent chain, given the same low-resolution image as LDM, made consistent
// with the task's own measurement at every step.
type DDRMLDM struct {
	// Label names the method in results; "ddrm-ldm" when empty.
	Label       string
	UNet        restore.Denoiser
	Autoencoder restore.Autoencoder
	// Config's SigmaY and Seed are set per measurement.
	Config restore.DDRMConfig
	// Hooks are called after every step, e.g. to show progress.
	Hooks []restore.Hook
}

// Name implements Method.
func (m DDRMLDM) Name() string { return labelOr(m.Label, "ddrm-ldm") }

// Restore implements Method; NFE counts UNet evaluations (each step also
// decodes and encodes once).
func (m DDRMLDM) Restore(ctx context.Context, task restore.Task, op restore.Operator, y *restore.Tensor, sigmaY float64, seed uint64) (*restore.Tensor, int, error) {
	return restoreWith(ctx, m, m.Hooks, task, op, y, sigmaY, seed)
}

// Sampler implements SamplerMethod.
func (m DDRMLDM) Sampler(task restore.Task, op restore.Operator, y *restore.Tensor, sigmaY float64, seed uint64) (restore.Sampler, error) {
	low, err := restore.LowResInput(task, op, y, m.Autoencoder.Factor())
	if err != nil {
		return nil, err
	}
	cfg := m.Config
	cfg.SigmaY, cfg.Seed = sigmaY, seed
	return restore.NewDDRMLDM(m.UNet, m.Autoencoder, low, op, y, cfg)
}

func labelOr(label, name string) string {
	if label == "" {
		return name
	}
	return label
}
