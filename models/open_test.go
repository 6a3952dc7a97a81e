package models

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// The tests in this file need no ONNX Runtime: everything they check
// happens before the runtime is loaded.

func TestOpenHashMismatch(t *testing.T) {
	dir := copyFixture(t, "closed_f32")
	onnx := filepath.Join(dir, "model.onnx")
	data, err := os.ReadFile(onnx)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-1] ^= 1
	if err := os.WriteFile(onnx, data, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := LoadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(dir, Options{})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"model.onnx has sha256 ", "expects " + m.Files[0].SHA256, "corrupt"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestOpenMissingFiles(t *testing.T) {
	dir := copyFixture(t, "closed_f32")
	if err := os.Remove(filepath.Join(dir, "model.onnx")); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, Options{}); err == nil || !strings.Contains(err.Error(), "lists model.onnx, which is missing") {
		t.Errorf("missing .onnx: got %v", err)
	}
	if err := os.Remove(filepath.Join(dir, ManifestFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, Options{}); err == nil || !strings.Contains(err.Error(), "has no model.json; pass the .onnx file itself") {
		t.Errorf("missing model.json: got %v", err)
	}
	if _, err := Open(filepath.Join(dir, "gone.onnx"), Options{}); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing bare file: got %v", err)
	}
	t.Setenv(EnvModels, t.TempDir())
	if _, err := Open("no-such-model", Options{}); err == nil || !strings.Contains(err.Error(), `model "no-such-model" not found`) {
		t.Errorf("unknown name: got %v", err)
	}
	if _, err := Open("", Options{}); err == nil || !strings.Contains(err.Error(), "no model given") {
		t.Errorf("empty name: got %v", err)
	}
}

func TestOpenRejectsOtherRoles(t *testing.T) {
	_, err := Open(fixture("decoder"), Options{})
	if err == nil || !strings.Contains(err.Error(), "role ldm-decoder, so it is not a denoiser") {
		t.Errorf("got %v", err)
	}
}

// useBundled points the bundled models at fixture folders for one test.
func useBundled(t *testing.T, names ...string) {
	t.Helper()
	fsys := fstest.MapFS{"README.md": {Data: []byte("not a model")}}
	for _, n := range names {
		for _, f := range []string{ManifestFile, "model.onnx"} {
			data, err := os.ReadFile(filepath.Join(fixture(n), f))
			if err != nil {
				t.Fatal(err)
			}
			fsys[n+"/"+f] = &fstest.MapFile{Data: data}
		}
	}
	saved := bundled
	bundled = fsys
	t.Cleanup(func() { bundled = saved })
}

func TestList(t *testing.T) {
	useBundled(t, "closed_f32", "decoder")
	user := t.TempDir()
	t.Setenv(EnvModels, user)
	if err := os.CopyFS(filepath.Join(user, "mine"), os.DirFS(fixture("closed_f16"))); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(fixture("closed_f32"), "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(user, "bare.onnx"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(user, "broken"), 0o755); err != nil {
		t.Fatal(err)
	}
	bad, _ := json.Marshal(map[string]any{"name": "broken", "role": "prior"})
	if err := os.WriteFile(filepath.Join(user, "broken", ManifestFile), bad, 0o644); err != nil {
		t.Fatal(err)
	}

	c, err := List()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range c {
		got = append(got, e.Name+"/"+e.Source+"/"+string(e.Role))
	}
	want := []string{"gaussian/built-in/ddrm-prior", "closed_f32/bundled/ddrm-prior", "decoder/bundled/ldm-decoder", "bare/user/ddrm-prior", "broken/user/", "mine/user/ddrm-prior"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got %v\nwant %v", got, want)
	}
	if c[4].Problem == "" || !strings.Contains(c.String(), "BROKEN: ") {
		t.Errorf("the broken manifest is not reported:\n%s", c)
	}
	if !strings.Contains(c.String(), "NAME") || !strings.Contains(c.String(), filepath.Join(user, "mine")) {
		t.Errorf("table:\n%s", c)
	}

	t.Setenv(EnvModels, filepath.Join(user, "does-not-exist"))
	if c, err := List(); err != nil || len(c) != 3 {
		t.Errorf("without a user folder: %v, %v", c, err)
	}
}

func TestResolveOrder(t *testing.T) {
	useBundled(t, "closed_f32")
	user := t.TempDir()
	t.Setenv(EnvModels, user)
	if err := os.CopyFS(filepath.Join(user, "closed_f32"), os.DirFS(fixture("closed_f16"))); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(user, "mine"), os.DirFS(fixture("closed_f16"))); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ arg, where string }{
		{"closed_f32", "bundled model closed_f32"},             // bundled before user
		{"mine", filepath.Join(user, "mine")},                  // user model
		{fixture("nan"), fixture("nan")},                       // a folder
		{"testdata/nan/model.onnx", "testdata/nan/model.onnx"}, // a file
	}
	for _, tc := range tests {
		src, err := resolve(tc.arg)
		if err != nil || src.where != tc.where {
			t.Errorf("%s: got %q, %v; want %q", tc.arg, src.where, err, tc.where)
		}
	}
}

func TestOpenErrorGivesNilDenoiser(t *testing.T) {
	d, err := Open(filepath.Join(t.TempDir(), "gone.onnx"), Options{})
	if err == nil || d != nil {
		t.Errorf("got %v, %v; want a nil Denoiser and an error", d, err)
	}
}
