package models

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func inspect(t *testing.T, path string) *Report {
	t.Helper()
	needRuntime(t)
	r, err := Inspect(path, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestInspectGoodModels(t *testing.T) {
	tests := []struct{ path, dryRun string }{
		{fixture("closed_f32"), "x [3,3,16,16] at t=0,500,999 -> eps [3,3,16,16]"},
		{fixture("learned_var"), "x [3,3,16,16] at t=0,500,999 -> eps [3,6,16,16]"},
		{filepath.Join(fixture("closed_f16"), "model.onnx"), "sample [3,3,64,64] at t=0,500,999 -> out [3,3,64,64]"},
		{fixture("decoder"), "z [1,4,16,16] -> image [1,3,32,32]"},
	}
	for _, tc := range tests {
		r := inspect(t, tc.path)
		if !r.OK() || !strings.HasPrefix(r.DryRun, tc.dryRun) {
			t.Errorf("%s:\n%s\nwant OK and a dry run of %s", tc.path, r, tc.dryRun)
		}
		if !strings.HasSuffix(r.String(), "OK\n") {
			t.Errorf("%s: report does not end in OK:\n%s", tc.path, r)
		}
	}
	if r := inspect(t, fixture("closed_f16")); !r.HasManifest || r.Name != "fixture-closed-f16" || len(r.Inputs) != 2 || r.Inputs[0].DType != Float16 {
		t.Errorf("report fields: %+v", r)
	}
}

func wantProblem(t *testing.T, r *Report, want string) {
	t.Helper()
	for _, p := range r.Problems {
		if strings.Contains(p, want) {
			return
		}
	}
	t.Errorf("no problem contains %q in:\n%s", want, r)
}

func TestInspectBadModels(t *testing.T) {
	r := inspect(t, fixture("wrong_shape"))
	wantProblem(t, r, "returned output eps of shape [3,3,8,8]; expected [3,3,16,16]")
	if !strings.Contains(r.String(), "1 problem(s):\n  - dry run: ") {
		t.Errorf("report:\n%s", r)
	}

	wantProblem(t, inspect(t, fixture("nan")), "produced NaN at step t=0")

	dir := copyFixture(t, "closed_f32")
	m, err := LoadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	m.Files[0].SHA256 = strings.Repeat("0", 64)
	m.Outputs[0].Name = "noise"
	writeManifest(t, dir, m)
	r = inspect(t, dir)
	wantProblem(t, r, "model.onnx has sha256 ")
	wantProblem(t, r, `declares output "noise", but the ONNX file has no such output (it has eps)`)
	if len(r.Inputs) != 2 || r.DryRun != "" {
		t.Errorf("the file should be described but not run:\n%s", r)
	}

	garbage := filepath.Join(t.TempDir(), "garbage.onnx")
	if err := os.WriteFile(garbage, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	wantProblem(t, inspect(t, garbage), "not a valid ONNX model")

	if err := os.WriteFile(filepath.Join(dir, ManifestFile), []byte(`{"name": "x", "role": "ddrm-prior",`), 0o644); err != nil {
		t.Fatal(err)
	}
	wantProblem(t, inspect(t, dir), "invalid model.json")

	if _, err := Inspect(filepath.Join(dir, "nothing-here"), Options{}); err == nil {
		t.Error("no error for a missing path")
	}
}
