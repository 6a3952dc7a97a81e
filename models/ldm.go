package models

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/restorelab/restorelab/restore"
)

// DefaultLDM is the name the bundled SRLDM has once there is one.
const DefaultLDM = "srldm"

// LDM is an opened ldm-sr bundle, such as SRLDM: its conditional latent UNet
// and its autoencoder, ready for restore.NewLDMSR and restore.NewDDRMLDM.
// Close releases both.
type LDM struct {
	// Manifest is the bundle's model.json.
	Manifest    Manifest
	UNet        *ONNXDenoiser
	Autoencoder *ONNXAutoencoder
}

// Close releases the parts' ONNX Runtime sessions.
func (l *LDM) Close() error {
	return errors.Join(l.UNet.Close(), l.Autoencoder.Close())
}

// OpenLDM opens an ldm-sr bundle found as Open finds models (a bundled
// name, a name in the user models folder, or a folder path). Its model.json
// names three part folders inside it, each a model with its own model.json
// and .onnx file, checked like any model:
//
//   - unet: an ldm-unet with cond_channels 3, reading z_t and the
//     low-resolution image in [-1, 1], [B,C+3,h,w] -> eps [B,C,h,w];
//   - encoder: an ldm-encoder, [B,3,H,W] in [-1, 1] -> z [B,C,H/f,W/f];
//   - decoder: an ldm-decoder, z [B,C,h,w] -> [B,3,f h,f w], quantising
//     inside its graph when the autoencoder is a VQ model.
//
// f is the bundle's factor. OpenLDM also checks that the parts agree: the
// latent channels C (a fixed size in the encoder's output), and the
// bundle's size_multiple, which the output sides must have, against the
// parts' own.
func OpenLDM(nameOrPath string, opts Options) (*LDM, error) {
	src, err := resolve(nameOrPath)
	if err != nil {
		return nil, err
	}
	if src.fsys == nil {
		return nil, fmt.Errorf("%s is a file; an %s model is a folder whose %s names its unet, encoder and decoder folders", src.where, RoleLDMSR, ManifestFile)
	}
	m, _, _, err := src.load(opts.Notify)
	if err != nil {
		return nil, err
	}
	if m.Role != RoleLDMSR {
		return nil, fmt.Errorf("model %s has role %s; the ldm methods need an %s bundle, a folder naming unet, encoder and decoder parts", m.Name, m.Role, RoleLDMSR)
	}
	return openBundle(src, m, opts)
}

// partSource is where part of the bundle at src is, if it is there.
func partSource(src source, m *Manifest, part ldmPart) (source, error) {
	if !isModelDir(src.fsys, part.dir) {
		return source{}, fmt.Errorf("%s bundle %s (%s): its %s part, the folder %s, is missing or has no %s", RoleLDMSR, m.Name, src.where, part.key, part.dir, ManifestFile)
	}
	sub, err := fs.Sub(src.fsys, part.dir)
	if err != nil {
		return source{}, err
	}
	return source{name: m.Name + "-" + part.key, fsys: sub, where: src.where + "/" + part.dir}, nil
}

func openBundle(src source, m *Manifest, opts Options) (*LDM, error) {
	var srcs [3]source
	for i, part := range m.Parts.each() {
		var err error
		if srcs[i], err = partSource(src, m, part); err != nil {
			return nil, err
		}
	}
	unet, err := openDenoiser(srcs[0], opts)
	if err != nil {
		return nil, err
	}
	l := &LDM{Manifest: *m, UNet: unet, Autoencoder: &ONNXAutoencoder{factor: m.Factor}}
	if err := l.openAutoencoder(srcs[1], srcs[2], opts); err != nil {
		l.Close()
		return nil, fmt.Errorf("%s bundle %s (%s): %w", RoleLDMSR, m.Name, src.where, err)
	}
	return l, nil
}

// openAutoencoder opens the encoder and the decoder and checks that all
// three parts fit together.
func (l *LDM) openAutoencoder(enc, dec source, opts Options) (err error) {
	if l.Autoencoder.enc, err = openGraph(enc, RoleLDMEncoder, opts); err != nil {
		return err
	}
	if l.Autoencoder.dec, err = openGraph(dec, RoleLDMDecoder, opts); err != nil {
		return err
	}
	return l.check()
}

// check makes sure that the parts fit together, and sets the latent channels.
func (l *LDM) check() error {
	um, enc, dec := l.UNet.Manifest(), l.Autoencoder.enc, l.Autoencoder.dec
	switch {
	case um.Role != RoleLDMUNet:
		return fmt.Errorf("its unet part %s has role %s; it must be an %s", um.Name, um.Role, RoleLDMUNet)
	case um.CondChannels != 3:
		return fmt.Errorf("its unet %s has cond_channels %d; a super-resolution UNet reads the 3-channel low-resolution image after z_t", um.Name, um.CondChannels)
	}
	c := enc.out.Shape[1]
	if c.Dynamic() {
		return fmt.Errorf("its encoder %s has a dynamic latent channel dimension; give it a fixed size", enc.manifest.Name)
	}
	l.Autoencoder.channels = int(c.Size)
	if dc := dec.in.Shape[1]; !dc.Dynamic() && dc.Size != c.Size {
		return fmt.Errorf("its encoder %s makes %d-channel latents but its decoder %s takes %d", enc.manifest.Name, c.Size, dec.manifest.Name, dc.Size)
	}
	if uc := l.UNet.Info().Channels; uc != int(c.Size) {
		return fmt.Errorf("its unet %s denoises %d-channel latents but its encoder %s makes %d", um.Name, uc, enc.manifest.Name, c.Size)
	}
	f, side := l.Manifest.Factor, l.Manifest.SizeMultiple
	for _, need := range []struct {
		what     string
		multiple int
	}{{"the unet's size multiple times the factor", f * um.SizeMultiple}, {"the encoder's size multiple", enc.manifest.SizeMultiple}, {"the decoder's size multiple times the factor", f * dec.manifest.SizeMultiple}} {
		if side%need.multiple != 0 {
			return fmt.Errorf("size_multiple %d is not a multiple of %s, %d", side, need.what, need.multiple)
		}
	}
	return nil
}

// ONNXAutoencoder is a restore.Autoencoder run with ONNX Runtime, the first
// stage of an ldm-sr bundle; OpenLDM creates it. Encode and Decode are safe
// for concurrent use.
type ONNXAutoencoder struct {
	enc, dec         *onnxGraph
	factor, channels int
}

var _ restore.Autoencoder = (*ONNXAutoencoder)(nil)

// Factor implements restore.Autoencoder.
func (a *ONNXAutoencoder) Factor() int { return a.factor }

// LatentChannels implements restore.Autoencoder.
func (a *ONNXAutoencoder) LatentChannels() int { return a.channels }

// Encode maps images [B,3,H,W] in [-1, 1] to latents [B,C,H/f,W/f].
func (a *ONNXAutoencoder) Encode(ctx context.Context, x *restore.Tensor) (*restore.Tensor, error) {
	if x == nil || x.Shape.C != 3 {
		return nil, fmt.Errorf("encoder %s takes RGB images, 3 channels", a.enc.manifest.Name)
	}
	f, s := a.factor, x.Shape
	if s.H%f != 0 || s.W%f != 0 {
		return nil, fmt.Errorf("encoder %s needs image sides that are multiples of %d; got %dx%d (width x height)", a.enc.manifest.Name, f, s.W, s.H)
	}
	return a.enc.run(ctx, x, restore.Shape{C: a.channels, H: s.H / f, W: s.W / f})
}

// Decode maps latents [B,C,h,w] to images [B,3,f h,f w], nominally in [-1, 1].
func (a *ONNXAutoencoder) Decode(ctx context.Context, z *restore.Tensor) (*restore.Tensor, error) {
	if z == nil || z.Shape.C != a.channels {
		return nil, fmt.Errorf("decoder %s takes %d-channel latents", a.dec.manifest.Name, a.channels)
	}
	return a.dec.run(ctx, z, restore.Shape{C: 3, H: z.Shape.H * a.factor, W: z.Shape.W * a.factor})
}

// Close releases both sessions, after running calls finish.
func (a *ONNXAutoencoder) Close() error {
	var errs []error
	for _, g := range []*onnxGraph{a.enc, a.dec} {
		if g != nil {
			errs = append(errs, g.close())
		}
	}
	return errors.Join(errs...)
}

// onnxGraph is a model with one float32 image input and one float32 image
// output, such as an ldm-encoder or ldm-decoder, with its session. Runs may
// be concurrent; close waits for them.
type onnxGraph struct {
	manifest Manifest
	in, out  TensorSpec
	mu       sync.RWMutex
	session  *ort.DynamicAdvancedSession
}

// openGraph opens the model of role at src, checked against its manifest.
func openGraph(src source, role Role, opts Options) (*onnxGraph, error) {
	m, data, o, err := src.load(opts.Notify)
	if err != nil {
		return nil, err
	}
	if m.Role != role {
		return nil, fmt.Errorf("model %s (%s) has role %s; it must be an %s", m.Name, src.where, m.Role, role)
	}
	return newGraph(src, m, data, o, opts)
}

// newGraph creates the session of a loaded one-input model whose graph
// must match its manifest m, reporting on it through o.
func newGraph(src source, m *Manifest, data []byte, o *opening, opts Options) (*onnxGraph, error) {
	if err := InitRuntime(opts.Library); err != nil {
		return nil, err
	}
	ins, outs, err := graphIO(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src.where, err)
	}
	if p := fileProblems(m, ins, outs); len(p) > 0 {
		return nil, fmt.Errorf("model %s does not match its %s: %s", m.Name, ManifestFile, strings.Join(p, "; "))
	}
	so, err := sessionOptions(opts)
	if err != nil {
		return nil, err
	}
	defer so.Destroy()
	// The contract allows one input; the first output is the result.
	in, out := ins[0], outs[0]
	o.say("creating its ONNX Runtime session")
	sess, err := ort.NewDynamicAdvancedSessionWithONNXData(data, []string{in.Name}, []string{out.Name}, so)
	if err != nil {
		return nil, fmt.Errorf("model %s: ONNX Runtime cannot load it: %w", m.Name, err)
	}
	o.ready()
	return &onnxGraph{manifest: *m, in: in, out: out, session: sess}, nil
}

func (g *onnxGraph) close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.session == nil {
		return nil
	}
	err := g.session.Destroy()
	g.session = nil
	return err
}

// run maps x through the graph; the output must be N images of shape want.
func (g *onnxGraph) run(ctx context.Context, x *restore.Tensor, want restore.Shape) (*restore.Tensor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	name := g.manifest.Name
	if g.session == nil {
		return nil, fmt.Errorf("model %s is closed", name)
	}
	s := x.Shape
	if x.N < 1 || s.H < 1 || s.W < 1 || len(x.Data) != x.N*s.Len() {
		return nil, fmt.Errorf("model %s: %d inputs of shape %v holding %d values", name, x.N, s, len(x.Data))
	}
	if m := g.manifest.SizeMultiple; s.H%m != 0 || s.W%m != 0 {
		return nil, fmt.Errorf("model %s needs input sides that are multiples of %d; got %dx%d (width x height)", name, m, s.W, s.H)
	}
	got := []int{x.N, s.C, s.H, s.W}
	for i, dim := range g.in.Shape {
		if !dim.Dynamic() && int(dim.Size) != got[i] {
			return nil, fmt.Errorf("model %s takes input %s of shape %v; got [%d,%d,%d,%d]", name, g.in.Name, g.in.Shape, x.N, s.C, s.H, s.W)
		}
	}
	xv, err := ort.NewTensor(ort.NewShape(int64(x.N), int64(s.C), int64(s.H), int64(s.W)), x.Data)
	if err != nil {
		return nil, fmt.Errorf("model %s: input %s: %w", name, g.in.Name, err)
	}
	defer xv.Destroy()
	outs := []ort.Value{nil}
	if err := runSession(ctx, g.session, name, []ort.Value{xv}, outs); err != nil {
		return nil, err
	}
	defer outs[0].Destroy()
	wantShape := ort.NewShape(int64(x.N), int64(want.C), int64(want.H), int64(want.W))
	ot, ok := outs[0].(*ort.Tensor[float32])
	if !ok || !ot.GetShape().Equals(wantShape) {
		return nil, fmt.Errorf("model %s returned output %s of shape %s for input %s; expected float32 %s: the model does not follow the %s contract",
			name, g.out.Name, dims(outs[0].GetShape()), dims(xv.GetShape()), dims(wantShape), g.manifest.Role)
	}
	out := restore.NewTensor(x.N, want)
	for i, v := range ot.GetData() {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("model %s produced NaN or Inf (image %d of %d); the model file may be corrupt or incompatible", name, i/want.Len()+1, x.N)
		}
		out.Data[i] = v
	}
	return out, nil
}
