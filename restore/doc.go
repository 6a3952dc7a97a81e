// Package restore is the core of restorelab: float32 image tensors, linear
// degradation operators with an exact singular value decomposition, noise
// schedules, the Denoiser and Autoencoder interfaces that diffusion priors
// implement, the samplers with step hooks and one-step-at-a-time iteration
// (DDRM; DDIM; latent diffusion's 4x super-resolution, LDMSR; and the
// DDRM-LDM hybrid, DDRMLDM, see docs/ddrm-ldm.md), and the PSNR and SSIM
// metrics.
//
// Images live in [0, 1] on disk and in the API; samplers work in [-1, 1], the
// space diffusion priors are trained in. Measurement noise levels (sigma_y)
// are always given on the [0, 1] scale.
//
// The package uses no cgo: neural priors are provided by package models,
// which implements Denoiser with ONNX Runtime.
package restore
