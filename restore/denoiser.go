package restore

import "context"

// Denoiser is a diffusion prior that predicts the noise eps in
// x_t = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps, for images in [-1, 1].
//
// PredictEps takes a batch and one integer time step per image, and returns a
// new tensor of the same shape. A conditional prior (CondChannels > 0) takes
// its conditioning channels after those of x_t and returns eps of x_t's
// Channels only. Implementations must honour ctx cancellation between network
// calls and return an error, never NaN or Inf values.
type Denoiser interface {
	PredictEps(ctx context.Context, x *Tensor, t []int) (*Tensor, error)
	Info() DenoiserInfo
}

// DenoiserInfo is what a sampler needs to know about a prior.
type DenoiserInfo struct {
	// Name identifies the model, as given to --model.
	Name string
	// Schedule is the noise schedule the model was trained with.
	Schedule *Schedule
	// Channels is the number of channels of x_t and eps (3 for RGB; the
	// latent channels of a latent-diffusion UNet).
	Channels int
	// CondChannels is the number of conditioning channels the model takes
	// after x_t's (3 for an SRLDM UNet, which reads the low-resolution
	// image); 0 for an unconditional prior. Conditioned binds them.
	CondChannels int
	// SizeMultiple is the number both image sides must be divisible by.
	SizeMultiple int
	// Digest identifies the weights, so that results made with different
	// weights are never taken for one another: "sha256:" and the hash of
	// the model file for networks, "analytic" for priors in closed form.
	Digest string
}
