package models

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// openWithLines opens the model at path with a Notify that records its
// lines, treating files over large bytes as large.
func openWithLines(t *testing.T, path string, large int64) []string {
	t.Helper()
	needRuntime(t)
	old := largeModelBytes
	largeModelBytes = large
	defer func() { largeModelBytes = old }()
	var lines []string
	d, err := OpenONNX(path, Options{Threads: 1, Notify: func(l string) { lines = append(lines, l) }})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	return lines
}

func TestOpeningALargeModelSaysWhatItDoes(t *testing.T) {
	lines := openWithLines(t, fixture("closed_f32"), 0)
	want := []string{
		"model fixture-closed-f32: reading model.onnx (", ") and checking its SHA-256",
		"model fixture-closed-f32: 25% read",
		"model fixture-closed-f32: 50% read",
		"model fixture-closed-f32: 75% read",
		"model fixture-closed-f32: creating its ONNX Runtime session",
		"model fixture-closed-f32: ready in ",
	}
	text := strings.Join(lines, "\n")
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("the lines lack %q:\n%s", w, text)
		}
	}
	if len(lines) != 6 {
		t.Errorf("want 6 lines, got %d:\n%s", len(lines), text)
	}
}

func TestOpeningASmallModelSaysNothing(t *testing.T) {
	if lines := openWithLines(t, fixture("closed_f32"), largeModelBytes); len(lines) != 0 {
		t.Errorf("a small model said %q", lines)
	}
}

func TestOpeningABareLargeFileSaysWhatItDoes(t *testing.T) {
	path := filepath.Join(fixture("closed_f32"), "model.onnx")
	lines := openWithLines(t, path, 0)
	if len(lines) == 0 || !strings.HasPrefix(lines[0], path+": reading it (") || !strings.Contains(lines[len(lines)-1], "ready in") {
		t.Errorf("lines for a bare file: %q", lines)
	}
}

// A corrupt large file is refused after it is read, with the hash error.
func TestOpeningALargeCorruptModelFails(t *testing.T) {
	needRuntime(t)
	dir := t.TempDir()
	for _, f := range []string{ManifestFile, "model.onnx"} {
		data, err := os.ReadFile(filepath.Join(fixture("closed_f32"), f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "model.onnx" {
			data[len(data)/2] ^= 1
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := largeModelBytes
	largeModelBytes = 0
	defer func() { largeModelBytes = old }()
	var lines []string
	_, err := OpenONNX(dir, Options{Threads: 1, Notify: func(l string) { lines = append(lines, l) }})
	if err == nil || !strings.Contains(err.Error(), "the file is corrupt or was replaced") {
		t.Fatalf("a corrupt file: %v", err)
	}
	if strings.Contains(strings.Join(lines, "\n"), "ready") {
		t.Errorf("a corrupt file was reported ready: %q", lines)
	}
}

func TestInspectingALargeModelSaysWhatItDoes(t *testing.T) {
	needRuntime(t)
	old := largeModelBytes
	largeModelBytes = 0
	defer func() { largeModelBytes = old }()
	for _, path := range []string{fixture("closed_f32"), filepath.Join(fixture("closed_f32"), "model.onnx")} {
		var lines []string
		r, err := Inspect(path, Options{Threads: 1, Notify: func(l string) { lines = append(lines, l) }})
		if err != nil || !r.OK() {
			t.Fatalf("Inspect %s: %v %v", path, err, r)
		}
		if len(lines) == 0 || !strings.Contains(lines[0], "reading") {
			t.Errorf("Inspect %s said %q", path, lines)
		}
	}
}
