package restore

import "context"

// Denoiser is a diffusion prior that predicts the noise eps in
// x_t = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps, for images in [-1, 1].
//
// PredictEps takes a batch and one integer time step per image, and returns a
// new tensor of the same shape. Implementations must honour ctx cancellation
// between network calls and return an error, never NaN or Inf values.
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
	// Channels is the number of image channels the model takes (3 for RGB).
	Channels int
	// SizeMultiple is the number both image sides must be divisible by.
	SizeMultiple int
}
