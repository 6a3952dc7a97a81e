package models

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"strconv"
	"strings"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/restorelab/restorelab/restore"
)

// Report is what Inspect found out about a model.
type Report struct {
	// Where is the model, as resolved from Inspect's argument.
	Where string
	Name  string
	Role  Role
	// HasManifest says whether the model has a model.json; without one,
	// Inspect checks the file as a ddrm-prior with Open's defaults.
	HasManifest bool
	// Inputs and Outputs are what the ONNX file declares.
	Inputs, Outputs []TensorSpec
	// DryRun describes the dry run and its result, if it ran.
	DryRun string
	// Verification is how the checkpoint was checked when the model was
	// exported (Provenance.Verification), if recorded.
	Verification string
	// Problems lists every way the model fails its manifest or its role's
	// contract; empty when the model is usable.
	Problems []string
}

// OK reports whether Inspect found no problem.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// String formats the report for people.
func (r *Report) String() string {
	var b strings.Builder
	manifest := "with " + ManifestFile
	if !r.HasManifest {
		manifest = "without " + ManifestFile + " (defaults apply)"
	}
	fmt.Fprintf(&b, "model %s, role %s, at %s, %s\n", r.Name, r.Role, r.Where, manifest)
	for _, group := range []struct {
		title string
		specs []TensorSpec
	}{{"inputs", r.Inputs}, {"outputs", r.Outputs}} {
		if len(group.specs) == 0 {
			continue
		}
		fmt.Fprintf(&b, "%s:\n", group.title)
		for _, s := range group.specs {
			fmt.Fprintf(&b, "  %s\n", s)
		}
	}
	if r.Verification != "" {
		fmt.Fprintf(&b, "checkpoint: %s\n", r.Verification)
	}
	if r.DryRun != "" {
		fmt.Fprintf(&b, "dry run: %s\n", r.DryRun)
	}
	if r.OK() {
		b.WriteString("OK\n")
		return b.String()
	}
	fmt.Fprintf(&b, "%d problem(s):\n", len(r.Problems))
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "  - %s\n", p)
	}
	return b.String()
}

// Inspect checks a model (a name or a path, as for Open, of any role)
// against its manifest and its role's contract: the files' hashes, the
// names, ranks, dtypes and fixed sizes of the inputs and outputs, and a dry
// run on a small input (one image, sides twice the size multiple). An ldm-sr
// bundle's parts are inspected each, and then checked against each other as
// OpenLDM does. Problems with the model go into the report; the error is
// for when the model cannot be found or ONNX Runtime cannot be loaded.
func Inspect(nameOrPath string, opts Options) (*Report, error) {
	src, err := resolve(nameOrPath)
	if err != nil {
		return nil, err
	}
	return inspectSource(src, opts)
}

func inspectSource(src source, opts Options) (*Report, error) {
	r := &Report{Where: src.where, Name: src.name, Role: RoleDDRMPrior}
	m, data, ok := inspectFiles(src, r, opts.Notify)
	if ok && m != nil && m.Role == RoleLDMSR {
		return r, inspectBundle(src, m, r, opts)
	}
	if !ok {
		return r, nil
	}
	if err := InitRuntime(opts.Library); err != nil {
		return nil, err
	}
	ins, outs, err := graphIO(data)
	if err != nil {
		r.Problems = append(r.Problems, err.Error())
		return r, nil
	}
	r.Inputs, r.Outputs = ins, outs
	if m != nil {
		r.Problems = append(r.Problems, fileProblems(m, ins, outs)...)
	} else {
		r.Problems = append(r.Problems, checkContract(RoleDDRMPrior, 0, ins, outs, nil)...)
	}
	if !r.OK() {
		return r, nil
	}
	if m == nil {
		if m, err = inferManifest(src, data, ins, outs); err != nil {
			r.Problems = append(r.Problems, err.Error())
			return r, nil
		}
	}
	if m.Role.isDenoiser() {
		// A bare file's size multiple is unknown; 64 suits UNets with up to
		// six halvings.
		side := 64
		if r.HasManifest {
			side = 2 * m.SizeMultiple
		}
		r.DryRun, err = dryRunDenoiser(m, data, side, opts)
	} else {
		r.DryRun, err = dryRunGraph(m, data, opts)
	}
	if err != nil {
		r.Problems = append(r.Problems, "dry run: "+err.Error())
	}
	return r, nil
}

// inspectFiles reads the manifest and files into r, recording problems. It
// returns the manifest (nil for a bare file), the ONNX data, and whether
// there is enough to go on with. A large file reports to notify.
func inspectFiles(src source, r *Report, notify func(string)) (*Manifest, []byte, bool) {
	if src.fsys == nil {
		data, _, err := readBare(src.bare, notify)
		if err != nil {
			r.Problems = append(r.Problems, err.Error())
			return nil, nil, false
		}
		return nil, data, true
	}
	raw, err := fs.ReadFile(src.fsys, ManifestFile)
	if err != nil {
		r.Problems = append(r.Problems, fmt.Sprintf("cannot read %s: %v", ManifestFile, err))
		return nil, nil, false
	}
	r.HasManifest = true
	m, err := decodeManifest(raw)
	if err != nil {
		r.Problems = append(r.Problems, err.Error())
		return nil, nil, false
	}
	if m.Name != "" {
		r.Name = m.Name
	}
	r.Role, r.Verification = m.Role, m.Provenance.Verification
	valid := true
	if err := m.Validate(); err != nil {
		r.Problems = append(r.Problems, ManifestFile+": "+err.Error())
		valid = false
	}
	if m.Role == RoleLDMSR {
		return m, nil, valid
	}
	var data []byte
	for _, f := range m.Files {
		d, _, err := verifyFile(src.fsys, f, "model "+r.Name, notify)
		if err != nil {
			r.Problems = append(r.Problems, err.Error())
		}
		if f == m.onnxFile() {
			data = d
		}
	}
	if data == nil {
		// A model file with the wrong hash can still be examined.
		var err error
		if data, err = fs.ReadFile(src.fsys, m.onnxFile().Path); err != nil {
			return m, nil, false
		}
	}
	return m, data, valid
}

// inspectBundle inspects the parts of an ldm-sr bundle into r, prefixing
// their problems with the part's name, then opens the bundle to check that
// the parts fit together.
func inspectBundle(src source, m *Manifest, r *Report, opts Options) error {
	var runs []string
	for _, part := range m.Parts.each() {
		ps, err := partSource(src, m, part)
		if err != nil {
			r.Problems = append(r.Problems, err.Error())
			continue
		}
		pr, err := inspectSource(ps, opts)
		if err != nil {
			return err
		}
		if pr.Role != part.role {
			r.Problems = append(r.Problems, fmt.Sprintf("%s: the model has role %s; it must be an %s", part.key, pr.Role, part.role))
		}
		for _, p := range pr.Problems {
			r.Problems = append(r.Problems, part.key+": "+p)
		}
		if pr.DryRun != "" {
			runs = append(runs, part.key+" "+pr.DryRun)
		}
	}
	r.DryRun = strings.Join(runs, "; ")
	if !r.OK() {
		return nil
	}
	l, err := openBundle(src, m, opts)
	if err != nil {
		r.Problems = append(r.Problems, err.Error())
		return nil
	}
	return l.Close()
}

// dryRunDenoiser runs the denoiser once on zeros, at the first, middle and
// last time steps when the batch size is free. side is the images' size
// unless the model fixes it.
func dryRunDenoiser(m *Manifest, data []byte, side int, opts Options) (string, error) {
	d, err := newONNXDenoiser(m, data, opts)
	if err != nil {
		return "", err
	}
	defer d.Close()
	s := restore.Shape{C: d.io.inChannels, H: side, W: side}
	if dim := d.io.x.Shape[2]; !dim.Dynamic() {
		s.H = int(dim.Size)
	}
	if dim := d.io.x.Shape[3]; !dim.Dynamic() {
		s.W = int(dim.Size)
	}
	T := d.schedule.T
	t := []int{0, T / 2, T - 1}
	if dim := d.io.x.Shape[0]; !dim.Dynamic() {
		t = make([]int, dim.Size)
		for i := range t {
			t[i] = T / 2
		}
	}
	x := restore.NewTensor(len(t), s)
	start := time.Now()
	if _, err := d.PredictEps(context.Background(), x, t); err != nil {
		return "", err
	}
	steps := make([]string, len(t))
	for i, v := range t {
		steps[i] = strconv.Itoa(v)
	}
	n, c, h, w := int64(len(t)), int64(s.C), int64(s.H), int64(s.W)
	return fmt.Sprintf("%s %s at t=%s -> %s %s in %v, all finite",
		d.io.x.Name, dims(ort.NewShape(n, c, h, w)), strings.Join(steps, ","), d.io.eps.Name, dims(ort.NewShape(n, int64(d.outChannels), h, w)), time.Since(start).Round(time.Microsecond)), nil
}

// dryRunGraph runs a model of another role once on zeros, with dynamic
// dimensions set to 1, or to twice the size multiple for the sides of images.
func dryRunGraph(m *Manifest, data []byte, opts Options) (string, error) {
	so, err := sessionOptions(opts)
	if err != nil {
		return "", err
	}
	defer so.Destroy()
	in, out := m.Inputs[0], m.Outputs[0]
	sess, err := ort.NewDynamicAdvancedSessionWithONNXData(data, []string{in.Name}, []string{out.Name}, so)
	if err != nil {
		return "", err
	}
	defer sess.Destroy()
	shape := make(ort.Shape, len(in.Shape))
	for i, d := range in.Shape {
		switch {
		case !d.Dynamic():
			shape[i] = d.Size
		case len(in.Shape) == 4 && i >= 2:
			shape[i] = int64(2 * m.SizeMultiple)
		default:
			shape[i] = 1
		}
	}
	// checkContract has made sure that the input is float32.
	xv, err := ort.NewTensor(shape, make([]float32, shape.FlattenedSize()))
	if err != nil {
		return "", err
	}
	defer xv.Destroy()
	outs := []ort.Value{nil}
	start := time.Now()
	if err := sess.Run([]ort.Value{xv}, outs); err != nil {
		return "", err
	}
	elapsed := time.Since(start)
	defer outs[0].Destroy()
	got := outs[0].GetShape()
	if len(got) != len(out.Shape) {
		return "", fmt.Errorf("output %s has shape %s, of rank %d; %s declares rank %d", out.Name, dims(got), len(got), ManifestFile, len(out.Shape))
	}
	ot, ok := outs[0].(*ort.Tensor[float32])
	if !ok {
		return "", fmt.Errorf("output %s is not float32", out.Name)
	}
	for _, v := range ot.GetData() {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return "", errors.New("the output holds NaN or Inf for an input of zeros; the model file may be corrupt or incompatible")
		}
	}
	return fmt.Sprintf("%s %s -> %s %s in %v, all finite", in.Name, dims(shape), out.Name, dims(got), elapsed.Round(time.Microsecond)), nil
}
