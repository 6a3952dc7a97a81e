package models

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/restorelab/restorelab/restore"
)

// ManifestFile is the name of the manifest in a model folder.
const ManifestFile = "model.json"

// Role says what a model does, and so which contract its inputs and outputs
// must meet.
type Role string

// The roles a model can have.
const (
	// RoleDDRMPrior is a pixel-space eps-prediction UNet: inputs x
	// [B,3,H,W] (float32 or float16) and t [B] (int64 or float32), output
	// eps [B,3,H,W], or [B,6,H,W] with learned variance.
	RoleDDRMPrior Role = "ddrm-prior"
	// RoleLDMUNet is a latent-space eps-prediction UNet, with the same
	// contract as RoleDDRMPrior but any fixed number of channels C (4 for
	// Stable-Diffusion-style autoencoders, 3 for SRLDM's VQ-f4), and
	// outputs of C or 2C channels. A conditional UNet takes cond_channels
	// more input channels after the latent's: SRLDM's reads the
	// low-resolution image, [B,3+3,h,w] in, [B,3,h,w] out.
	RoleLDMUNet Role = "ldm-unet"
	// RoleLDMEncoder maps an image [B,3,H,W] to a latent [B,C,h,w], float32.
	RoleLDMEncoder Role = "ldm-encoder"
	// RoleLDMDecoder maps a latent [B,C,h,w] to an image [B,3,H,W],
	// float32; a VQ decoder quantises inside its graph.
	RoleLDMDecoder Role = "ldm-decoder"
	// RoleLDMSR is a latent-diffusion super-resolution model such as
	// SRLDM: a bundle whose model.json lists no files of its own but names,
	// in parts, three folders inside it, each a model with its own
	// model.json: an ldm-unet, an ldm-encoder and an ldm-decoder. OpenLDM
	// opens it.
	RoleLDMSR Role = "ldm-sr"
	// RoleInception maps an image [B,3,H,W] to features [B,F] or
	// [B,F,1,1], for FID.
	RoleInception Role = "inception"
)

var roles = []Role{RoleDDRMPrior, RoleLDMUNet, RoleLDMEncoder, RoleLDMDecoder, RoleLDMSR, RoleInception}

// isDenoiser reports whether models of role r predict noise, and so can be
// opened as a restore.Denoiser.
func (r Role) isDenoiser() bool { return r == RoleDDRMPrior || r == RoleLDMUNet }

// DType is the element type of a model input or output.
type DType string

// The element types models may use.
const (
	Float32 DType = "float32"
	Float16 DType = "float16"
	Int64   DType = "int64"
)

// Dim is one dimension of a tensor shape: a fixed size, or a dynamic one,
// written in model.json as -1 or as a name such as "B" or "height".
type Dim struct {
	Size int64  // the size, or -1 when dynamic
	Name string // the name of a dynamic dimension, if it has one
}

// Dynamic reports whether the dimension's size is set per call.
func (d Dim) Dynamic() bool { return d.Size < 0 }

func (d Dim) String() string {
	switch {
	case d.Name != "":
		return d.Name
	case d.Dynamic():
		return "?"
	}
	return strconv.FormatInt(d.Size, 10)
}

// MarshalJSON writes a fixed size as a number, a dynamic one as its name or -1.
func (d Dim) MarshalJSON() ([]byte, error) {
	if d.Dynamic() && d.Name != "" {
		return json.Marshal(d.Name)
	}
	return json.Marshal(d.Size)
}

// UnmarshalJSON reads a positive size, -1, or a name.
func (d *Dim) UnmarshalJSON(b []byte) error {
	var name string
	if err := json.Unmarshal(b, &name); err == nil {
		if name == "" {
			return errors.New("a dimension name must not be empty")
		}
		*d = Dim{Size: -1, Name: name}
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil || (n < 1 && n != -1) {
		return fmt.Errorf("dimension %s is not a positive size, -1 or a name", b)
	}
	*d = Dim{Size: n}
	return nil
}

// Shape is a tensor shape with possibly dynamic dimensions.
type Shape []Dim

func (s Shape) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = d.String()
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// TensorSpec describes one input or output of a model.
type TensorSpec struct {
	Name  string `json:"name"`
	DType DType  `json:"dtype"`
	Shape Shape  `json:"shape"`
}

func (t TensorSpec) String() string { return fmt.Sprintf("%s %s %s", t.Name, t.DType, t.Shape) }

// File is one file of a model, with the SHA-256 of its contents in lowercase hex.
type File struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// ScheduleSpec is the noise schedule a model was trained with.
type ScheduleSpec struct {
	Type      restore.ScheduleKind `json:"type"`
	BetaStart float64              `json:"beta_start"`
	BetaEnd   float64              `json:"beta_end"`
	T         int                  `json:"T"`
}

// DDIMSpec is the DDIM convention of a latent UNet's publisher.
type DDIMSpec struct {
	// FinalAlpha is where the last step goes: "alpha_bar_0", 1 - beta_0,
	// as LDM's DDIMSampler, or "one", as diffusers' DDIMScheduler with
	// set_alpha_to_one (the scheduler_config.json of its published
	// super-resolution model).
	FinalAlpha string `json:"final_alpha"`
	// StepsOffset is added to the evenly spaced time steps; both LDM and
	// diffusers' published scheduler use 1, the only value supported.
	StepsOffset int `json:"steps_offset"`
}

// FinalAlphaOne reports whether the last step goes to alpha_bar = 1.
func (d *DDIMSpec) FinalAlphaOne() bool { return d != nil && d.FinalAlpha == "one" }

// Build returns the schedule.
func (s ScheduleSpec) Build() (*restore.Schedule, error) {
	return restore.NewSchedule(s.Type, s.BetaStart, s.BetaEnd, s.T)
}

// Provenance records where a model came from. Fields beyond the known ones
// are kept in Extra, so that training scripts may record more without a
// schema change.
type Provenance struct {
	Data            string  `json:"data,omitempty"`
	Steps           int     `json:"steps,omitempty"`
	WallTimeMinutes float64 `json:"wall_time_minutes,omitempty"`
	FinalLoss       float64 `json:"final_loss,omitempty"`
	Licence         string  `json:"licence,omitempty"`
	Hardware        string  `json:"hardware,omitempty"`
	SourceURL       string  `json:"source_url,omitempty"`
	Checkpoint      string  `json:"checkpoint,omitempty"`
	Created         string  `json:"created,omitempty"`
	Notes           string  `json:"notes,omitempty"`
	// Verification says how the checkpoint a model was exported from was
	// checked against its publisher's hashes, "verified: ..." or
	// "unverified: ..." (see models/export/common.py, verify_checkpoint).
	Verification string         `json:"verification,omitempty"`
	Extra        map[string]any `json:"-"`
}

// Unverified reports whether the model was exported from a checkpoint no
// published hash vouches for.
func (p Provenance) Unverified() bool { return strings.HasPrefix(p.Verification, "unverified") }

// provenanceFields lets (Un)MarshalJSON use the default encoding of the
// known fields without recursing.
type provenanceFields Provenance

// UnmarshalJSON reads the known fields and keeps the rest in Extra.
func (p *Provenance) UnmarshalJSON(b []byte) error {
	var known provenanceFields
	if err := json.Unmarshal(b, &known); err != nil {
		return err
	}
	var all map[string]any
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	for _, k := range provenanceKeys() {
		delete(all, k)
	}
	*p = Provenance(known)
	if len(all) > 0 {
		p.Extra = all
	}
	return nil
}

// MarshalJSON writes the known fields and those in Extra.
func (p Provenance) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(provenanceFields(p))
	if err != nil || len(p.Extra) == 0 {
		return b, err
	}
	var all map[string]any
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, err
	}
	for k, v := range p.Extra {
		if _, known := all[k]; !known {
			all[k] = v
		}
	}
	return json.Marshal(all)
}

// provenanceKeys are the JSON names of Provenance's known fields.
func provenanceKeys() []string {
	return []string{"data", "steps", "wall_time_minutes", "final_loss", "licence", "hardware", "source_url", "checkpoint", "created", "notes", "verification"}
}

// Manifest describes a model folder: what the model is, its files and their
// hashes, its inputs and outputs, and how it was made. It is stored as
// model.json next to the model's .onnx file.
type Manifest struct {
	Name        string `json:"name"`
	Role        Role   `json:"role"`
	Description string `json:"description,omitempty"`
	// Files lists the model's files, relative to the folder. Exactly one is
	// the .onnx model, which must be self-contained (no external data).
	Files []File `json:"files"`
	// Inputs and Outputs are the tensors of the ONNX graph. A denoiser's
	// image input is the one of rank 4 and its time input the one of rank 1.
	Inputs  []TensorSpec `json:"inputs"`
	Outputs []TensorSpec `json:"outputs"`
	// Schedule is required for denoisers.
	Schedule *ScheduleSpec `json:"schedule,omitempty"`
	// DDIM records the DDIM convention an ldm-unet was published with; nil
	// is LDM's own.
	DDIM *DDIMSpec `json:"ddim,omitempty"`
	// SizeMultiple is the number both image sides must be divisible by.
	SizeMultiple int `json:"size_multiple"`
	// ValueRange is the range of pixel values the model works in; [-1, 1]
	// for denoisers.
	ValueRange [2]float64 `json:"value_range"`
	// LearnedVariance says that a denoiser outputs 2C channels, eps then
	// the variance, of which only eps is used.
	LearnedVariance bool `json:"learned_variance,omitempty"`
	// CondChannels is, for an ldm-unet, the number of conditioning
	// channels its image input has after the latent's (3 for SRLDM).
	CondChannels int `json:"cond_channels,omitempty"`
	// Parts names the part folders of an ldm-sr bundle, relative to its
	// folder.
	Parts *LDMParts `json:"parts,omitempty"`
	// Factor is an ldm-sr bundle's super-resolution factor: its
	// autoencoder's downsampling from image to latent (4 for VQ-f4).
	Factor     int        `json:"factor,omitempty"`
	Provenance Provenance `json:"provenance"`
}

// LDMParts are the folders of an ldm-sr bundle's three models. For a
// bundle, size_multiple is the multiple the output image sides must have.
type LDMParts struct {
	UNet    string `json:"unet"`
	Encoder string `json:"encoder"`
	Decoder string `json:"decoder"`
}

// each lists the parts with their roles, in a fixed order.
func (p *LDMParts) each() []ldmPart {
	return []ldmPart{{"unet", p.UNet, RoleLDMUNet}, {"encoder", p.Encoder, RoleLDMEncoder}, {"decoder", p.Decoder, RoleLDMDecoder}}
}

// ldmPart is one part of an ldm-sr bundle: its key in parts, its folder and
// the role its model must have.
type ldmPart struct {
	key, dir string
	role     Role
}

// ParseManifest decodes and validates a model.json. Unknown fields are
// errors, so that a misspelt key does not go unnoticed; Provenance is the
// exception.
func ParseManifest(data []byte) (*Manifest, error) {
	m, err := decodeManifest(data)
	if err != nil {
		return nil, err
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// LoadManifest reads and validates dir/model.json.
func LoadManifest(dir string) (*Manifest, error) {
	data, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, err
	}
	m, err := ParseManifest(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ManifestFile), err)
	}
	return m, nil
}

func decodeManifest(data []byte) (*Manifest, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("invalid %s: %w", ManifestFile, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("invalid %s: more than one JSON value", ManifestFile)
	}
	return &m, nil
}

// Validate checks the manifest on its own, without the model file: required
// fields, hashes, schedule, and the role's contract for the declared inputs
// and outputs; for an ldm-sr bundle, its parts and factor (OpenLDM checks
// the parts themselves). It reports every problem at once.
func (m *Manifest) Validate() error {
	var p []string
	if m.Name == "" || strings.ContainsAny(m.Name, `/\ `) {
		p = append(p, fmt.Sprintf("name %q must be non-empty, without spaces or slashes", m.Name))
	}
	knownRole := false
	for _, r := range roles {
		knownRole = knownRole || m.Role == r
	}
	if !knownRole {
		p = append(p, fmt.Sprintf("role %q is unknown; use one of %s", m.Role, roleList()))
	}
	if m.Role == RoleLDMSR {
		p = append(p, m.bundleProblems()...)
	} else if m.Parts != nil || m.Factor != 0 {
		p = append(p, fmt.Sprintf("parts and factor are for %s bundles, not a %s", RoleLDMSR, m.Role))
	}
	if d := m.DDIM; d != nil {
		switch {
		case m.Role != RoleLDMUNet:
			p = append(p, fmt.Sprintf("ddim is for an %s, not a %s", RoleLDMUNet, m.Role))
		case d.FinalAlpha != "alpha_bar_0" && d.FinalAlpha != "one":
			p = append(p, fmt.Sprintf("ddim.final_alpha %q must be alpha_bar_0 (LDM's DDIMSampler) or one (diffusers' set_alpha_to_one)", d.FinalAlpha))
		case d.StepsOffset != 1:
			p = append(p, fmt.Sprintf("ddim.steps_offset %d: only 1 (LDM's and diffusers' published scheduler) is supported", d.StepsOffset))
		}
	}
	if m.CondChannels != 0 && (m.Role != RoleLDMUNet || m.CondChannels < 0) {
		p = append(p, fmt.Sprintf("cond_channels %d: only an %s has conditioning channels, at least 1", m.CondChannels, RoleLDMUNet))
	}
	if m.SizeMultiple < 1 {
		p = append(p, fmt.Sprintf("size_multiple %d must be at least 1", m.SizeMultiple))
	}
	if !(m.ValueRange[0] < m.ValueRange[1]) {
		p = append(p, fmt.Sprintf("value_range %v must be [lo, hi] with lo < hi", m.ValueRange))
	}
	if m.Role == RoleLDMSR {
		return joinProblems(p)
	}
	onnxFiles := 0
	for _, f := range m.Files {
		if !fs.ValidPath(f.Path) || f.Path == "." {
			p = append(p, fmt.Sprintf("file path %q must be relative to the model folder, with / separators and no ..", f.Path))
		}
		if !isSHA256(f.SHA256) {
			p = append(p, fmt.Sprintf("file %s: sha256 %q is not 64 lowercase hex digits", f.Path, f.SHA256))
		}
		if strings.EqualFold(path.Ext(f.Path), ".onnx") {
			onnxFiles++
		}
	}
	if onnxFiles != 1 {
		p = append(p, fmt.Sprintf("files must list exactly one .onnx file; found %d", onnxFiles))
	}
	p = append(p, checkSpecs("input", m.Inputs)...)
	p = append(p, checkSpecs("output", m.Outputs)...)
	if m.Role.isDenoiser() {
		if m.Schedule == nil {
			p = append(p, "a denoiser needs a schedule, e.g. {\"type\": \"linear\", \"beta_start\": 0.0001, \"beta_end\": 0.02, \"T\": 1000}")
		} else if _, err := m.Schedule.Build(); err != nil {
			p = append(p, err.Error())
		}
		if m.ValueRange != [2]float64{-1, 1} {
			p = append(p, fmt.Sprintf("value_range %v: a denoiser must work in [-1, 1]", m.ValueRange))
		}
	}
	if knownRole && len(m.Inputs) > 0 && len(m.Outputs) > 0 {
		p = append(p, checkContract(m.Role, m.CondChannels, m.Inputs, m.Outputs, &m.LearnedVariance)...)
	}
	return joinProblems(p)
}

func joinProblems(p []string) error {
	if len(p) > 0 {
		return errors.New(strings.Join(p, "; "))
	}
	return nil
}

// bundleProblems checks what is particular to an ldm-sr bundle's manifest:
// its parts and factor, and that it declares nothing its parts declare.
func (m *Manifest) bundleProblems() []string {
	var p []string
	if m.Parts == nil {
		p = append(p, `an ldm-sr bundle needs parts, e.g. {"unet": "unet", "encoder": "encoder", "decoder": "decoder"}: folders inside it, each with its own model.json`)
	} else {
		seen := map[string]string{}
		for _, part := range m.Parts.each() {
			if !fs.ValidPath(part.dir) || part.dir == "." {
				p = append(p, fmt.Sprintf("parts.%s %q must be a folder inside the bundle, with / separators and no ..", part.key, part.dir))
			} else if other, dup := seen[part.dir]; dup {
				p = append(p, fmt.Sprintf("parts.%s and parts.%s are both %q; each part needs its own folder", other, part.key, part.dir))
			}
			seen[part.dir] = part.key
		}
	}
	if m.Factor < 1 {
		p = append(p, fmt.Sprintf("factor %d: an ldm-sr bundle needs its autoencoder's downsampling factor, at least 1 (4 for VQ-f4)", m.Factor))
	}
	if len(m.Files) > 0 || len(m.Inputs) > 0 || len(m.Outputs) > 0 || m.Schedule != nil || m.LearnedVariance {
		p = append(p, "an ldm-sr bundle declares no files, inputs, outputs, schedule or learned_variance; its parts' model.json files do")
	}
	return p
}

// onnxFile returns the manifest's .onnx file entry; Validate ensures there is one.
func (m *Manifest) onnxFile() File {
	for _, f := range m.Files {
		if strings.EqualFold(path.Ext(f.Path), ".onnx") {
			return f
		}
	}
	return File{}
}

func checkSpecs(kind string, specs []TensorSpec) []string {
	if len(specs) == 0 {
		return []string{fmt.Sprintf("no %ss are declared", kind)}
	}
	var p []string
	seen := map[string]bool{}
	for _, s := range specs {
		if s.Name == "" {
			p = append(p, fmt.Sprintf("an %s has no name", kind))
		} else if seen[s.Name] {
			p = append(p, fmt.Sprintf("%s %q is declared twice", kind, s.Name))
		}
		seen[s.Name] = true
		switch s.DType {
		case Float32, Float16, Int64:
		default:
			p = append(p, fmt.Sprintf("%s %q: dtype %q is not float32, float16 or int64", kind, s.Name, s.DType))
		}
		if len(s.Shape) == 0 {
			p = append(p, fmt.Sprintf("%s %q has no shape", kind, s.Name))
		}
	}
	return p
}

func isSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func roleList() string {
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	return strings.Join(names, ", ")
}
