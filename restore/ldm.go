package restore

import (
	"context"
	"fmt"
	"sync"
)

// Autoencoder maps images to a latent-diffusion model's latent space and
// back, like the VQ-f4 first stage of LDM's 4x super-resolution model.
// Images are in [-1, 1] with 3 channels; a latent has LatentChannels
// channels and sides Factor times smaller. Encode returns the continuous
// latent (before any quantisation); Decode quantises when the model does (a
// VQ decoder snaps each latent vector to its codebook) and returns images
// that may leave [-1, 1]. Both must honour ctx and return errors, never NaN
// or Inf values.
type Autoencoder interface {
	Encode(ctx context.Context, x *Tensor) (*Tensor, error)
	Decode(ctx context.Context, z *Tensor) (*Tensor, error)
	// Factor is the downsampling factor from image to latent (4 for VQ-f4).
	Factor() int
	// LatentChannels is the number of latent channels (3 for VQ-f4).
	LatentChannels() int
}

// Conditioned binds a conditional prior (CondChannels > 0, such as an SRLDM
// UNet, which reads the low-resolution image next to z_t) to its
// conditioning: the result is an unconditional Denoiser on x_t alone that
// appends cond's channels to every input. cond holds one image per batch
// item, of x_t's height and width, in the model's value range ([-1, 1]).
func Conditioned(den Denoiser, cond *Tensor) (Denoiser, error) {
	info := den.Info()
	if info.CondChannels < 1 {
		return nil, fmt.Errorf("model %q takes no conditioning image", info.Name)
	}
	if cond == nil || cond.Shape.C != info.CondChannels {
		c := 0
		if cond != nil {
			c = cond.Shape.C
		}
		return nil, fmt.Errorf("model %q takes a %d-channel conditioning image; got %d channels", info.Name, info.CondChannels, c)
	}
	if cond.N < 1 || len(cond.Data) != cond.N*cond.Shape.Len() {
		return nil, fmt.Errorf("conditioning for model %q: %d images of %v hold %d values", info.Name, cond.N, cond.Shape, len(cond.Data))
	}
	if err := checkFinite(cond.Data, "the conditioning image"); err != nil {
		return nil, err
	}
	return &conditioned{den: den, cond: cond}, nil
}

// conditioned is a conditional prior with its conditioning bound.
type conditioned struct {
	den  Denoiser
	cond *Tensor
}

func (c *conditioned) Info() DenoiserInfo {
	info := c.den.Info()
	info.CondChannels = 0
	return info
}

func (c *conditioned) PredictEps(ctx context.Context, x *Tensor, t []int) (*Tensor, error) {
	info := c.den.Info()
	cs := c.cond.Shape
	if x.N != c.cond.N || x.Shape.H != cs.H || x.Shape.W != cs.W || x.Shape.C != info.Channels {
		return nil, fmt.Errorf("model %q: input %dx%v does not fit the conditioning %dx%v (want %d images of %dx%dx%d)",
			info.Name, x.N, x.Shape, c.cond.N, cs, c.cond.N, info.Channels, cs.H, cs.W)
	}
	joint := NewTensor(x.N, Shape{C: x.Shape.C + cs.C, H: cs.H, W: cs.W})
	for b := range x.N {
		n := copy(joint.Item(b), x.Item(b))
		copy(joint.Item(b)[n:], c.cond.Item(b))
	}
	eps, err := c.den.PredictEps(ctx, joint, t)
	if err != nil {
		return nil, err
	}
	if eps.N != x.N || eps.Shape != x.Shape {
		return nil, fmt.Errorf("model %q returned shape %dx%v for x_t of %dx%v", info.Name, eps.N, eps.Shape, x.N, x.Shape)
	}
	return eps, nil
}

// LowResInput returns the low-resolution image in [0, 1] that a 4x (in
// general, factor f) super-resolution model such as SRLDM restores the
// measurement y of task from, so that SRLDM serves every task: y itself
// when it already is the clean image downsampled f times (sr4 with f = 4),
// otherwise the task's baseline (see Task.Baseline: y for deblurring and
// denoising, bicubic upsampling for other SR factors, H^+ y for
// colourisation and inpainting) downsampled f times with the antialiased
// bicubic kernel, which also averages measurement noise down. Values are
// clamped to [0, 1], the range of the model's training inputs.
func LowResInput(task Task, op Operator, y *Tensor, f int) (*Tensor, error) {
	in, out := op.InShape(), op.OutShape()
	if y == nil || y.Shape != out {
		return nil, fmt.Errorf("measurement does not match the %s operator's %v", task.Name, out)
	}
	if f < 1 {
		return nil, fmt.Errorf("super-resolution factor %d must be at least 1", f)
	}
	if in.H%f != 0 || in.W%f != 0 {
		return nil, fmt.Errorf("the restored image, %dx%d, is not a multiple of the autoencoder's factor %d; crop the image to %dx%d",
			in.W, in.H, f, in.W/f*f, in.H/f*f)
	}
	low := Shape{C: 3, H: in.H / f, W: in.W / f}
	if out == low {
		return y.Clone().Clamp(0, 1), nil
	}
	base, err := task.Baseline(op, y)
	if err != nil {
		return nil, err
	}
	small, err := ResizeBicubic(ToRGB(base), low.H, low.W)
	if err != nil {
		return nil, err
	}
	return small.Clamp(0, 1), nil
}

// LDMSR is latent diffusion's 4x super-resolution (Rombach et al. 2022,
// CompVis ldm-super-resolution-4x-openimages): a DDIM run in the latent space
// of an autoencoder, with a UNet that reads z_t next to the low-resolution
// image, whose size the latent has. It implements Sampler; State and the
// StepInfo tensors Xt, X0Hat and XNext are latents, and StepInfo.PixelX0Hat
// decodes X0Hat on demand.
//
// The output is decode(z_0) mapped from [-1, 1] to [0, 1] and clamped, f
// times the size of the low-resolution image (f = 4 for VQ-f4). There is no
// latent scale factor: SRLDM's VQ-f4 latents are used as they are.
type LDMSR struct {
	*DDIM
	ae    Autoencoder
	cond  *Tensor    // the low-resolution image in [-1, 1]
	out   Shape      // the output image's shape
	last  *lazyImage // the latest x0_hat, decoded on demand
	final *Tensor    // the decoded output once done, in [-1, 1]
}

// NewLDMSR prepares an LDM super-resolution run. unet is the conditional
// latent UNet (CondChannels 3, Channels the autoencoder's latent channels),
// low the batch of low-resolution images in [0, 1] (see LowResInput), and
// cfg the DDIM settings (DefaultDDIMConfig is the reference's).
func NewLDMSR(unet Denoiser, ae Autoencoder, low *Tensor, cfg DDIMConfig) (*LDMSR, error) {
	den, cond, err := ldmPrepare(unet, ae, low)
	if err != nil {
		return nil, err
	}
	d, err := newDDIM("ldm", den, low.N, latentShape(ae, low), cfg)
	if err != nil {
		return nil, err
	}
	return &LDMSR{DDIM: d, ae: ae, cond: cond, out: outputShape(ae, low)}, nil
}

// latentShape is the shape of SRLDM's latent for low-resolution images low:
// as large as they are.
func latentShape(ae Autoencoder, low *Tensor) Shape {
	return Shape{C: ae.LatentChannels(), H: low.Shape.H, W: low.Shape.W}
}

// outputShape is the shape of SRLDM's output for low-resolution images low.
func outputShape(ae Autoencoder, low *Tensor) Shape {
	f := ae.Factor()
	return Shape{C: 3, H: low.Shape.H * f, W: low.Shape.W * f}
}

// ldmPrepare checks an SRLDM's parts against a batch of low-resolution
// images in [0, 1], and returns the UNet bound to them and the conditioning
// it reads, the images mapped to [-1, 1].
func ldmPrepare(unet Denoiser, ae Autoencoder, low *Tensor) (Denoiser, *Tensor, error) {
	info := unet.Info()
	if low == nil || low.N < 1 {
		return nil, nil, fmt.Errorf("no low-resolution images")
	}
	if low.Shape.C != 3 || low.Shape.H < 1 || low.Shape.W < 1 {
		return nil, nil, fmt.Errorf("low-resolution images of shape %v; SRLDM takes RGB images (3 channels)", low.Shape)
	}
	if f := ae.Factor(); f < 1 {
		return nil, nil, fmt.Errorf("autoencoder factor %d must be at least 1", f)
	}
	if info.CondChannels != 3 || info.Channels != ae.LatentChannels() {
		return nil, nil, fmt.Errorf("model %q takes %d latent and %d conditioning channels; an SRLDM UNet takes the autoencoder's %d latent channels and the 3-channel low-resolution image",
			info.Name, info.Channels, info.CondChannels, ae.LatentChannels())
	}
	if m := info.SizeMultiple; m > 1 && (low.Shape.H%m != 0 || low.Shape.W%m != 0) {
		return nil, nil, fmt.Errorf("model %q needs low-resolution sides divisible by %d (output sides by %d), got %dx%d; crop the image",
			info.Name, m, m*ae.Factor(), low.Shape.W, low.Shape.H)
	}
	if err := checkFinite(low.Data, "the low-resolution image"); err != nil {
		return nil, nil, err
	}
	cond := low.Clone().Clamp(0, 1).ToSigned()
	den, err := Conditioned(unet, cond)
	if err != nil {
		return nil, nil, err
	}
	return den, cond, nil
}

// decodeChecked runs the decoder and checks its output.
func decodeChecked(ctx context.Context, ae Autoencoder, z *Tensor, want Shape) (*Tensor, error) {
	x, err := ae.Decode(ctx, z)
	if err != nil {
		return nil, err
	}
	if x.N != z.N || x.Shape != want {
		return nil, fmt.Errorf("the decoder returned %dx%v for latents %dx%v; expected images of %v", x.N, x.Shape, z.N, z.Shape, want)
	}
	return x, checkFinite(x.Data, "the decoded image")
}

// lazyImage decodes a latent the first time it is asked for.
type lazyImage struct {
	once sync.Once
	get  func() (*Tensor, error)
	img  *Tensor
	err  error
}

func newLazyImage(ctx context.Context, ae Autoencoder, z *Tensor, want Shape) *lazyImage {
	l := &lazyImage{}
	l.get = func() (*Tensor, error) {
		l.once.Do(func() { l.img, l.err = decodeChecked(ctx, ae, z, want) })
		return l.img, l.err
	}
	return l
}

// Step implements Sampler. The last step also decodes the output, with ctx.
func (l *LDMSR) Step(ctx context.Context) (*StepInfo, error) {
	info, err := l.DDIM.Step(ctx)
	if err != nil {
		return nil, err
	}
	l.last = newLazyImage(ctx, l.ae, info.X0Hat, l.out)
	info.PixelX0Hat = l.last.get
	if l.Done() {
		if l.final, err = decodeChecked(ctx, l.ae, l.x, l.out); err != nil {
			return nil, err
		}
	}
	return info, nil
}

// SetState implements Sampler; x is a latent.
func (l *LDMSR) SetState(index int, x *Tensor) error {
	if err := l.DDIM.SetState(index, x); err != nil {
		return err
	}
	l.last, l.final = nil, nil
	return nil
}

// LowRes returns the conditioning image in [-1, 1]. It is shared: do not
// modify it.
func (l *LDMSR) LowRes() *Tensor { return l.cond }

// Result implements Sampler: decode(z_0) in [0, 1] when done, else the
// latest x0_hat decoded. Decoding that Step has not done already runs
// without a context.
func (l *LDMSR) Result() (*Tensor, error) {
	switch {
	case l.Done() && l.final == nil:
		x, err := decodeChecked(context.Background(), l.ae, l.x, l.out)
		if err != nil {
			return nil, err
		}
		l.final = x
		fallthrough
	case l.Done():
		return unitImage(l.final), nil
	case l.last == nil:
		return nil, fmt.Errorf("ldm: no estimate yet; take a step first")
	}
	x, err := l.last.get()
	if err != nil {
		return nil, err
	}
	return unitImage(x), nil
}
