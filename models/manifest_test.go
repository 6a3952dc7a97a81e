package models

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFixtureManifestsAreValid(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "*", ManifestFile))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no fixture manifests: %v", err)
	}
	for _, p := range dirs {
		if _, err := LoadManifest(filepath.Dir(p)); err != nil {
			t.Errorf("%v", err)
		}
	}
}

func TestManifestFields(t *testing.T) {
	m, err := LoadManifest(fixture("learned_var"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Role != RoleDDRMPrior || !m.LearnedVariance || m.SizeMultiple != 8 || m.Schedule.T != 1000 {
		t.Errorf("got %+v", m)
	}
	if got := m.Outputs[0].Shape.String(); got != "[B,6,H,W]" {
		t.Errorf("output shape %s, want [B,6,H,W]", got)
	}
	if d := m.Inputs[0].Shape[0]; !d.Dynamic() || d.Name != "B" {
		t.Errorf("batch dimension %+v, want dynamic B", d)
	}
}

func TestDimJSON(t *testing.T) {
	var s Shape
	if err := json.Unmarshal([]byte(`[-1, 3, "H", 256]`), &s); err != nil {
		t.Fatal(err)
	}
	if s.String() != "[?,3,H,256]" || !s[0].Dynamic() || !s[2].Dynamic() || s[3].Size != 256 {
		t.Errorf("got %s %+v", s, s)
	}
	b, err := json.Marshal(s)
	if err != nil || string(b) != `[-1,3,"H",256]` {
		t.Errorf("marshal: %s, %v", b, err)
	}
	for _, bad := range []string{`[0]`, `[-2]`, `[""]`, `[1.5]`, `[true]`} {
		if err := json.Unmarshal([]byte(bad), &s); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestProvenanceKeepsExtraFields(t *testing.T) {
	in := `{"data": "FFHQ 64x64", "steps": 20000, "ema": 0.9999, "architecture": {"channels": 64}}`
	var p Provenance
	if err := json.Unmarshal([]byte(in), &p); err != nil {
		t.Fatal(err)
	}
	if p.Data != "FFHQ 64x64" || p.Steps != 20000 || p.Extra["ema"] != 0.9999 || len(p.Extra) != 2 {
		t.Errorf("got %+v", p)
	}
	out, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	if back["ema"] != 0.9999 || back["data"] != "FFHQ 64x64" || back["architecture"] == nil {
		t.Errorf("round trip lost fields: %s", out)
	}
}

// manifestJSON is a valid ddrm-prior manifest, edited by the tests below.
func manifestJSON(t *testing.T) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(fixture("closed_f32"), ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestManifestValidation(t *testing.T) {
	tests := []struct {
		name string
		edit func(m map[string]any)
		want string
	}{
		{"unknown field", func(m map[string]any) { m["sizemultiple"] = 8 }, `unknown field "sizemultiple"`},
		{"unknown role", func(m map[string]any) { m["role"] = "prior" }, `role "prior" is unknown`},
		{"no name", func(m map[string]any) { m["name"] = "" }, "name"},
		{"bad hash", func(m map[string]any) {
			m["files"] = []any{map[string]any{"path": "model.onnx", "sha256": "abc"}}
		}, "not 64 lowercase hex digits"},
		{"escaping path", func(m map[string]any) {
			m["files"] = []any{map[string]any{"path": "../model.onnx", "sha256": strings.Repeat("0", 64)}}
		}, "relative to the model folder"},
		{"no onnx", func(m map[string]any) {
			m["files"] = []any{map[string]any{"path": "weights.bin", "sha256": strings.Repeat("0", 64)}}
		}, "exactly one .onnx file; found 0"},
		{"no schedule", func(m map[string]any) { delete(m, "schedule") }, "needs a schedule"},
		{"bad schedule", func(m map[string]any) {
			m["schedule"] = map[string]any{"type": "linear", "beta_start": 0.1, "beta_end": 0.01, "T": 1000}
		}, "beta range"},
		{"size multiple", func(m map[string]any) { m["size_multiple"] = 0 }, "size_multiple 0"},
		{"value range", func(m map[string]any) { m["value_range"] = []any{0, 1} }, "must work in [-1, 1]"},
		{"learned variance without 6 channels", func(m map[string]any) { m["learned_variance"] = true }, "learned_variance is true, which means 6"},
		{"t dtype", func(m map[string]any) {
			m["inputs"].([]any)[1].(map[string]any)["dtype"] = "float16"
		}, "takes time steps as int64 or float32"},
		{"unknown dtype", func(m map[string]any) {
			m["inputs"].([]any)[1].(map[string]any)["dtype"] = "int32"
		}, `dtype "int32" is not float32, float16 or int64`},
		{"no time input", func(m map[string]any) {
			m["inputs"] = m["inputs"].([]any)[:1]
		}, "exactly one time-step input"},
		{"grey images", func(m map[string]any) {
			m["inputs"].([]any)[0].(map[string]any)["shape"] = []any{"B", 1, "H", "W"}
		}, "3 channels"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := manifestJSON(t)
			tc.edit(m)
			raw, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			_, err = ParseManifest(raw)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v; want an error containing %q", err, tc.want)
			}
		})
	}
}

func ExampleParseManifest() {
	m, err := ParseManifest([]byte(`{
		"name": "ffhq64",
		"role": "ddrm-prior",
		"files": [{"path": "ffhq64.onnx", "sha256": "` + strings.Repeat("ab", 32) + `"}],
		"inputs": [
			{"name": "x", "dtype": "float32", "shape": ["B", 3, "H", "W"]},
			{"name": "t", "dtype": "int64", "shape": ["B"]}
		],
		"outputs": [{"name": "eps", "dtype": "float32", "shape": ["B", 3, "H", "W"]}],
		"schedule": {"type": "linear", "beta_start": 0.0001, "beta_end": 0.02, "T": 1000},
		"size_multiple": 8,
		"value_range": [-1, 1],
		"provenance": {"data": "FFHQ thumbnails", "steps": 20000, "licence": "CC BY-NC-SA 4.0"}
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	s, _ := m.Schedule.Build()
	fmt.Println(m.Name, m.Role, m.Inputs[0], m.Outputs[0])
	fmt.Printf("alpha_bar at t=999: %.2e\n", s.AlphaBar(999))
	fmt.Println(m.Provenance.Data, m.Provenance.Steps)
	// Output:
	// ffhq64 ddrm-prior x float32 [B,3,H,W] eps float32 [B,3,H,W]
	// alpha_bar at t=999: 4.04e-05
	// FFHQ thumbnails 20000
}
