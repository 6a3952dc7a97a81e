package models

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/restorelab/restorelab/restore"
)

// EnvModels overrides the user models folder.
const EnvModels = "RESTORELAB_MODELS"

// DefaultPrior is the bundled DDRM prior, a small eps-prediction UNet
// trained by models/train on CPU (its model.json tells how).
const DefaultPrior = "ddrm-unet-small"

// GaussianName is the analytic prior of package restore, which needs no
// model file and no ONNX Runtime.
const GaussianName = "gaussian"

// Open returns the prior named by nameOrPath, which is, in this order of
// lookup:
//
//   - GaussianName, the analytic Gaussian prior (restore.GaussianDenoiser);
//   - the name of a bundled model (see List);
//   - the name of a model in the user models folder (see UserModelsDir):
//     a folder <name> with model.json, or a file <name>.onnx;
//   - a path to a model folder with model.json;
//   - a path to a bare .onnx file, used with defaults: role ddrm-prior,
//     DDPM's linear schedule (beta 1e-4 to 0.02 over T = 1000 steps), any
//     image size (size multiple 1), and the input and output names found in
//     the file. Write a model.json to change them.
//
// An argument that contains a slash or ends in .onnx is always a path.
// The files' hashes are checked against the manifest before the model is
// loaded. ONNX models come as an *ONNXDenoiser, which callers should Close
// when done with it.
func Open(nameOrPath string, opts Options) (restore.Denoiser, error) {
	if nameOrPath == GaussianName {
		return restore.NewGaussianDenoiser(nil), nil
	}
	d, err := OpenONNX(nameOrPath, opts)
	if err != nil {
		// A nil *ONNXDenoiser would make a non-nil Denoiser.
		return nil, err
	}
	return d, nil
}

// OpenONNX is Open for ONNX models, returning the concrete type.
func OpenONNX(nameOrPath string, opts Options) (*ONNXDenoiser, error) {
	src, err := resolve(nameOrPath)
	if err != nil {
		return nil, err
	}
	return openDenoiser(src, opts)
}

// openDenoiser opens the denoiser at src.
func openDenoiser(src source, opts Options) (*ONNXDenoiser, error) {
	m, data, o, err := src.load(opts.Notify)
	if err != nil {
		return nil, err
	}
	if m != nil && m.Role == RoleLDMSR {
		return nil, fmt.Errorf("model %s is an %s bundle (UNet, encoder and decoder), not a single denoiser; use it with the ldm or ddrm-ldm methods (--ldm-model)", m.Name, m.Role)
	}
	if m != nil && !m.Role.isDenoiser() {
		return nil, fmt.Errorf("model %s has role %s, so it is not a denoiser (%s or %s)", m.Name, m.Role, RoleDDRMPrior, RoleLDMUNet)
	}
	if err := InitRuntime(opts.Library); err != nil {
		return nil, err
	}
	ins, outs, err := graphIO(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src.where, err)
	}
	if m == nil {
		if m, err = inferManifest(src, data, ins, outs); err != nil {
			return nil, err
		}
	} else if p := fileProblems(m, ins, outs); len(p) > 0 {
		return nil, fmt.Errorf("model %s does not match its %s: %s", m.Name, ManifestFile, strings.Join(p, "; "))
	}
	o.say("creating its ONNX Runtime session")
	d, err := newONNXDenoiser(m, data, opts)
	if err == nil {
		o.ready()
	}
	return d, err
}

// graphIO reads an ONNX model's inputs and outputs.
func graphIO(data []byte) (ins, outs []TensorSpec, err error) {
	in, out, err := ort.GetInputOutputInfoWithONNXData(data)
	if err != nil {
		return nil, nil, fmt.Errorf("not a valid ONNX model (ONNX Runtime says: %w); the file may be corrupt, truncated or not ONNX at all", err)
	}
	return specsFromInfo(in), specsFromInfo(out), nil
}

// fileProblems lists how an ONNX file's inputs and outputs differ from its
// manifest and from its role's contract.
func fileProblems(m *Manifest, ins, outs []TensorSpec) []string {
	p := compareSpecs("input", m.Inputs, ins)
	p = append(p, compareSpecs("output", m.Outputs, outs)...)
	return append(p, checkContract(m.Role, m.CondChannels, ins, outs, &m.LearnedVariance)...)
}

// source is where a model's files are.
type source struct {
	name  string // the model's name when found by name, else from the path
	fsys  fs.FS  // the model folder; nil for a bare .onnx file
	bare  string // the path of a bare .onnx file
	where string // for messages
}

// resolve finds the model nameOrPath refers to, as Open describes.
func resolve(nameOrPath string) (source, error) {
	if nameOrPath == "" {
		return source{}, errors.New("no model given; name a bundled model, a model in the user models folder, or a path (see 'restorelab models list')")
	}
	if !looksLikePath(nameOrPath) {
		if isModelDir(bundled, nameOrPath) {
			sub, err := fs.Sub(bundled, nameOrPath)
			if err != nil {
				return source{}, err
			}
			return source{name: nameOrPath, fsys: sub, where: "bundled model " + nameOrPath}, nil
		}
		if dir, err := UserModelsDir(); err == nil {
			if src, ok := pathSource(nameOrPath, filepath.Join(dir, nameOrPath)); ok {
				return src, nil
			}
			if src, ok := pathSource(nameOrPath, filepath.Join(dir, nameOrPath+".onnx")); ok {
				return src, nil
			}
		}
	}
	name := strings.TrimSuffix(filepath.Base(nameOrPath), filepath.Ext(nameOrPath))
	if src, ok := pathSource(name, nameOrPath); ok {
		return src, nil
	}
	if looksLikePath(nameOrPath) {
		return source{}, fmt.Errorf("model %s: no such file or folder", nameOrPath)
	}
	userDir, _ := UserModelsDir()
	names := strings.Join(bundledNames(), ", ")
	if names == "" {
		names = "there are none"
	}
	return source{}, fmt.Errorf("model %q not found: it is not a bundled model (%s), not in the user models folder %s, and not a file or folder; see 'restorelab models list'",
		nameOrPath, names, userDir)
}

// pathSource returns the model at p, a folder or a file, if p exists.
func pathSource(name, p string) (source, bool) {
	st, err := os.Stat(p)
	switch {
	case err != nil:
		return source{}, false
	case st.IsDir():
		return source{name: name, fsys: os.DirFS(p), where: p}, true
	}
	return source{name: name, bare: p, where: p}, true
}

func looksLikePath(s string) bool {
	return strings.ContainsAny(s, `/\`) || strings.EqualFold(filepath.Ext(s), ".onnx") || s == "." || s == ".."
}

func isModelDir(fsys fs.FS, dir string) bool {
	if !fs.ValidPath(dir) {
		return false
	}
	st, err := fs.Stat(fsys, dir+"/"+ManifestFile)
	return err == nil && st.Mode().IsRegular()
}

// load reads the manifest and the .onnx file, checking every file's hash;
// the opening reports on the .onnx file's remaining steps (nil without
// one). A bare .onnx file has no manifest.
func (s source) load(notify func(string)) (*Manifest, []byte, *opening, error) {
	if s.fsys == nil {
		data, o, err := readBare(s.bare, notify)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("model %s: %w", s.where, err)
		}
		return nil, data, o, nil
	}
	raw, err := fs.ReadFile(s.fsys, ManifestFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil, fmt.Errorf("%s has no %s; pass the .onnx file itself to use it with default settings, or write a %s (see the documentation of package models)", s.where, ManifestFile, ManifestFile)
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", s.where, err)
	}
	m, err := ParseManifest(raw)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", s.where, err)
	}
	var onnx []byte
	var onnxOpening *opening
	for _, f := range m.Files {
		data, o, err := verifyFile(s.fsys, f, "model "+m.Name, notify)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("model %s (%s): %w", m.Name, s.where, err)
		}
		if f == m.onnxFile() {
			onnx, onnxOpening = data, o
		}
	}
	return m, onnx, onnxOpening, nil
}

// inferManifest describes a bare .onnx file with the defaults Open documents.
func inferManifest(src source, data []byte, ins, outs []TensorSpec) (*Manifest, error) {
	io, problems := findDenoiserIO(RoleDDRMPrior, 0, ins, outs)
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s does not look like a %s: %s; if it is one, write a %s to describe it", src.where, RoleDDRMPrior, strings.Join(problems, "; "), ManifestFile)
	}
	sum := sha256.Sum256(data)
	c := io.eps.Shape[1]
	return &Manifest{
		Name:            src.name,
		Role:            RoleDDRMPrior,
		Files:           []File{{Path: filepath.Base(src.bare), SHA256: hex.EncodeToString(sum[:])}},
		Inputs:          []TensorSpec{io.x, io.t},
		Outputs:         []TensorSpec{io.eps},
		Schedule:        &ScheduleSpec{Type: restore.Linear, BetaStart: 1e-4, BetaEnd: 0.02, T: 1000},
		SizeMultiple:    1,
		ValueRange:      [2]float64{-1, 1},
		LearnedVariance: !c.Dynamic() && int(c.Size) == 2*io.channels,
		Provenance:      Provenance{Notes: "inferred from " + src.where + ", which has no " + ManifestFile},
	}, nil
}

// UserModelsDir returns the folder for the user's own models:
// $RESTORELAB_MODELS, else restorelab/models under os.UserConfigDir().
func UserModelsDir() (string, error) {
	if d := os.Getenv(EnvModels); d != "" {
		return d, nil
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no user models folder: %w; set %s", err, EnvModels)
	}
	return filepath.Join(d, "restorelab", "models"), nil
}

// Entry is a model that Open finds by name.
type Entry struct {
	Name        string
	Source      string // "bundled" or "user"
	Path        string // the folder or file, for user models
	Role        Role
	Description string
	// Problem says why the model cannot be used, when its manifest is broken.
	Problem string
	// Unverified says the model came from a checkpoint no published hash
	// vouches for (Provenance.Verification).
	Unverified bool
}

// Catalog is a list of models, as List returns it.
type Catalog []Entry

// String formats the catalog as a table.
func (c Catalog) String() string {
	if len(c) == 0 {
		return "no models found\n"
	}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tSOURCE\tDESCRIPTION")
	for _, e := range c {
		desc := e.Description
		if e.Unverified {
			desc = "UNVERIFIED checkpoint: " + desc
		}
		if e.Problem != "" {
			desc = "BROKEN: " + e.Problem
		}
		src := e.Source
		if e.Path != "" {
			src += " (" + e.Path + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.Name, e.Role, src, desc)
	}
	tw.Flush()
	return b.String()
}

// List returns the bundled models and those in the user models folder,
// each group sorted by name. It reads manifests but no model files, and
// needs no ONNX Runtime. A missing user models folder is not an error.
func List() (Catalog, error) {
	c := Catalog{{Name: GaussianName, Source: "built-in", Role: RoleDDRMPrior, Description: "analytic Gaussian prior (exact posterior mean; no model file)"}}
	for _, name := range bundledNames() {
		c = append(c, entryFor(name, "bundled", "", bundled, name))
	}
	dir, err := UserModelsDir()
	if err != nil {
		return c, err
	}
	items, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("user models folder: %w", err)
	}
	for _, it := range items {
		p := filepath.Join(dir, it.Name())
		switch {
		case strings.HasPrefix(it.Name(), "."): // hidden, such as an import in progress
		case it.IsDir():
			c = append(c, entryFor(it.Name(), "user", p, os.DirFS(dir), it.Name()))
		case strings.EqualFold(filepath.Ext(it.Name()), ".onnx"):
			c = append(c, Entry{Name: strings.TrimSuffix(it.Name(), filepath.Ext(it.Name())), Source: "user", Path: p, Role: RoleDDRMPrior, Description: "bare ONNX file, default settings"})
		}
	}
	return c, nil
}

// entryFor describes the model folder dir of fsys from its manifest.
func entryFor(name, source, path string, fsys fs.FS, dir string) Entry {
	e := Entry{Name: name, Source: source, Path: path}
	raw, err := fs.ReadFile(fsys, dir+"/"+ManifestFile)
	if err != nil {
		e.Problem = "no readable " + ManifestFile
		return e
	}
	m, err := ParseManifest(raw)
	if err != nil {
		e.Problem = err.Error()
		return e
	}
	e.Role, e.Description, e.Unverified = m.Role, m.Description, m.Provenance.Unverified()
	return e
}

// bundledNames lists the bundled model folders, sorted.
func bundledNames() []string {
	items, err := fs.ReadDir(bundled, ".")
	if err != nil {
		return nil
	}
	var names []string
	for _, it := range items {
		if it.IsDir() && isModelDir(bundled, it.Name()) {
			names = append(names, it.Name())
		}
	}
	sort.Strings(names)
	return names
}
