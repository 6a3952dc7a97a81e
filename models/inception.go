package models

import (
	"context"
	"fmt"
	"math"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/restorelab/restorelab/restore"
)

// Inception is a feature network of role inception run with ONNX Runtime,
// such as the FID Inception v3 that models/export/fid_inception.py exports:
// it maps images to feature vectors for FID and KID. OpenInception creates
// it. It holds one session; Features is safe for concurrent use, and Close
// waits for running calls.
type Inception struct {
	*onnxGraph // closed by Close; runs hold its lock for reading
}

// OpenInception opens a feature network by name or path, looked up as Open
// describes. It needs a model folder with a model.json of role inception,
// since a bare .onnx file says neither its role nor its value range. The
// files' hashes and the graph's inputs and outputs are checked against the
// manifest before the session is created.
func OpenInception(nameOrPath string, opts Options) (*Inception, error) {
	src, err := resolve(nameOrPath)
	if err != nil {
		return nil, err
	}
	if src.fsys == nil {
		return nil, fmt.Errorf("%s is a bare .onnx file; a feature network needs a folder with a %s of role %s (models/export/fid_inception.py writes one)", src.where, ManifestFile, RoleInception)
	}
	m, data, o, err := src.load(opts.Notify)
	if err != nil {
		return nil, err
	}
	if m.Role != RoleInception {
		return nil, fmt.Errorf("model %s has role %s, so it is not a feature network (%s)", m.Name, m.Role, RoleInception)
	}
	g, err := newGraph(src, m, data, o, opts)
	if err != nil {
		return nil, err
	}
	return &Inception{g}, nil
}

// Manifest returns the model's manifest.
func (f *Inception) Manifest() Manifest { return f.manifest }

// Close releases the ONNX Runtime session, after running calls finish.
// Later calls to Features fail.
func (f *Inception) Close() error { return f.close() }

// Features returns one feature vector per image of x, whose values are in
// [0, 1]; gray images are repeated in every channel. The values are mapped
// linearly to the manifest's value range ([0, 1] for the exported FID
// Inception, which resizes and normalises inside its graph). A wrong output
// shape, or a NaN or Inf in it, is an error. Cancelling ctx stops a run in
// progress.
func (f *Inception) Features(ctx context.Context, x *restore.Tensor) ([][]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	name := f.manifest.Name
	if f.session == nil {
		return nil, fmt.Errorf("model %s is closed", name)
	}
	if x == nil || x.N < 1 || len(x.Data) != x.N*x.Shape.Len() || x.Shape.Len() == 0 {
		return nil, fmt.Errorf("model %s: empty batch, or data that do not match the shape", name)
	}
	x = restore.ToRGB(x)
	s := x.Shape
	if s.C != 3 {
		return nil, fmt.Errorf("model %s takes RGB images; got %d channels", name, s.C)
	}
	if m := f.manifest.SizeMultiple; s.H%m != 0 || s.W%m != 0 {
		return nil, fmt.Errorf("model %s needs image sides that are multiples of %d; got %dx%d (width x height)", name, m, s.W, s.H)
	}
	shape := ort.NewShape(int64(x.N), 3, int64(s.H), int64(s.W))
	for i, d := range f.in.Shape {
		if !d.Dynamic() && d.Size != shape[i] {
			return nil, fmt.Errorf("model %s takes input %s of shape %v; got %s", name, f.in.Name, f.in.Shape, dims(shape))
		}
	}
	lo, hi := f.manifest.ValueRange[0], f.manifest.ValueRange[1]
	data := x.Data
	if lo != 0 || hi != 1 {
		data = make([]float32, len(x.Data))
		for i, v := range x.Data {
			data[i] = float32(lo + (hi-lo)*float64(v))
		}
	}
	// ONNX Runtime only reads the input, so it may share x's data.
	xv, err := ort.NewTensor(shape, data)
	if err != nil {
		return nil, fmt.Errorf("model %s: input %s: %w", name, f.in.Name, err)
	}
	defer xv.Destroy()
	outs := []ort.Value{nil}
	if err := runSession(ctx, f.session, name, []ort.Value{xv}, outs); err != nil {
		return nil, err
	}
	defer outs[0].Destroy()
	ot, ok := outs[0].(*ort.Tensor[float32])
	if !ok {
		return nil, fmt.Errorf("model %s: output %s is not float32", name, f.out.Name)
	}
	got := ot.GetShape()
	// Features come as [B,F] or [B,F,1,1].
	if len(got) < 2 || got[0] != int64(x.N) || got.FlattenedSize() != got[0]*got[1] {
		return nil, fmt.Errorf("model %s returned %s of shape %s for %d images; a feature network returns [B,F] or [B,F,1,1]", name, f.out.Name, dims(got), x.N)
	}
	flat := ot.GetData()
	dim := int(got[1])
	feats := make([][]float32, x.N)
	for i := range feats {
		feats[i] = append([]float32(nil), flat[i*dim:(i+1)*dim]...)
		for j, v := range feats[i] {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("model %s produced %v in feature %d of image %d of %d; the model file may be corrupt or incompatible", name, v, j, i+1, x.N)
			}
		}
	}
	return feats, nil
}
