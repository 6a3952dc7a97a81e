package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/restorelab/restorelab/restore"
)

// cli runs one command line and returns its exit status and output.
func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

const sample = "../../samples/cat.png"

func TestDegradeRestoreRoundTrip(t *testing.T) {
	dir := t.TempDir()
	y := filepath.Join(dir, "y.npy")
	if code, _, errOut := cli(t, "degrade", "--task", "sr4", "--in", sample, "--out", y); code != 0 {
		t.Fatalf("degrade failed: %s", errOut)
	}
	x := filepath.Join(dir, "x.png")
	trace := filepath.Join(dir, "trace.npz")
	code, out, errOut := cli(t, "restore", "--task", "sr4", "--in", y, "--out", x, "--model", "gaussian", "--steps", "3", "--trace", trace, "--ref", sample)
	if code != 0 {
		t.Fatalf("restore failed: %s", errOut)
	}
	if !strings.Contains(out, "PSNR") {
		t.Errorf("no metrics printed: %q", out)
	}
	for _, f := range []string{x, trace} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("%s not written: %v", f, err)
		}
	}
}

func TestBadInputFailsClearlyAndWritesNothing(t *testing.T) {
	dir := t.TempDir()
	truncated := filepath.Join(dir, "truncated.png")
	data, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(truncated, data[:len(data)/3], 0o644); err != nil {
		t.Fatal(err)
	}
	odd := filepath.Join(dir, "odd.npy")
	if code, _, errOut := cli(t, "degrade", "--task", "denoise", "--in", sample, "--out", odd); code != 0 {
		t.Fatal(errOut)
	}
	// A 256x256 measurement restored as sr8 needs no divisibility, so make an
	// odd-sized clean image for the divisibility check instead.
	oddClean := filepath.Join(dir, "odd_clean.npy")
	writeOddImage(t, oddClean)
	out := filepath.Join(dir, "out.png")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unreadable", []string{"restore", "--task", "denoise", "--in", filepath.Join(dir, "none.png"), "--out", out}, 1, "none.png"},
		{"truncated", []string{"restore", "--task", "denoise", "--in", truncated, "--out", out}, 1, "truncated.png"},
		{"not divisible", []string{"degrade", "--task", "sr4", "--in", oddClean, "--out", out, "--fit", "error"}, 1, "multiples of 4"},
		{"bad fit", []string{"degrade", "--task", "sr4", "--in", oddClean, "--out", out, "--fit", "stretch"}, 2, "--fit"},
		{"unknown task", []string{"restore", "--task", "sr3", "--in", odd, "--out", out}, 1, "unknown task \"sr3\""},
		{"steps", []string{"restore", "--task", "denoise", "--in", odd, "--out", out, "--steps", "0"}, 1, "steps = 0"},
		{"steps high", []string{"restore", "--task", "denoise", "--in", odd, "--out", out, "--steps", "1001"}, 1, "1..1000"},
		{"eta", []string{"restore", "--task", "denoise", "--in", odd, "--out", out, "--eta", "1.5"}, 1, "eta = 1.5"},
		{"missing folder", []string{"restore", "--task", "denoise", "--in", odd, "--out", filepath.Join(dir, "no", "x.png")}, 1, "does not exist"},
		{"bad extension", []string{"restore", "--task", "denoise", "--in", odd, "--out", filepath.Join(dir, "x.gif")}, 1, "unsupported extension"},
		{"NaN model", []string{"restore", "--task", "denoise", "--in", odd, "--out", out, "--model", "../../models/testdata/nan", "--steps", "2"}, 1, "NaN"},
		{"unknown model", []string{"restore", "--task", "denoise", "--in", odd, "--out", out, "--model", "nope"}, 1, "nope"},
		{"missing flag", []string{"restore", "--task", "denoise", "--out", out}, 2, "missing --in"},
		{"stray argument", []string{"restore", "extra"}, 2, "unexpected argument"},
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
		{"sigma", []string{"degrade", "--task", "denoise", "--in", sample, "--out", out, "--sigma-y", "-3"}, 1, "--sigma-y"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := cli(t, tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d naming %q", code, errOut, tc.code, tc.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("output file written despite the error")
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if strings.Contains(e.Name(), ".tmp") {
					t.Errorf("temporary file %s left behind", e.Name())
				}
			}
		})
	}
}

func TestSpectrumCSV(t *testing.T) {
	out := filepath.Join(t.TempDir(), "s.csv")
	if code, _, errOut := cli(t, "spectrum", "--task", "sr4-avg", "--size", "8x4", "--out", out); code != 0 {
		t.Fatal(errOut)
	}
	data, _ := os.ReadFile(out)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if lines[0] != "rank,component,singular_value" || len(lines) != 1+3*8*4 {
		t.Fatalf("csv has %d lines, header %q", len(lines), lines[0])
	}
	// Block average x4: one value 1/4 per block and channel (3*2*1), zeros after.
	if !strings.HasSuffix(lines[1], ",0.25") || !strings.HasSuffix(lines[6], ",0.25") || !strings.HasSuffix(lines[7], ",0") {
		t.Errorf("unexpected spectrum head: %v", lines[1:8])
	}
	if code, _, _ := cli(t, "spectrum", "--task", "sr4", "--size", "ax4", "--out", out); code != 1 {
		t.Errorf("bad size accepted")
	}
}

func TestHelp(t *testing.T) {
	code, out, _ := cli(t, "help")
	if code != 0 || !strings.Contains(out, "restore") || !strings.Contains(out, "degrade") {
		t.Errorf("help: %d %q", code, out)
	}
	if code, _, _ := cli(t, "restore", "-h"); code != 0 {
		t.Errorf("restore -h exit %d", code)
	}
}

// writeOddImage saves a 3x10x9 image, whose sides no SR factor divides.
func writeOddImage(t *testing.T, path string) {
	t.Helper()
	x := restore.NewTensor(1, restore.Shape{C: 3, H: 10, W: 9})
	for i := range x.Data {
		x.Data[i] = float32(i%11) / 10
	}
	if err := restore.SaveImage(path, x, nil); err != nil {
		t.Fatal(err)
	}
}

func TestModelsCommand(t *testing.T) {
	code, out, _ := cli(t, "models", "list")
	if code != 0 || !strings.Contains(out, "gaussian") {
		t.Errorf("models list: %d %q", code, out)
	}
	code, _, errOut := cli(t, "models", "inspect", filepath.Join(t.TempDir(), "missing.onnx"))
	if code != 1 || !strings.Contains(errOut, "missing.onnx") {
		t.Errorf("inspect of a missing file: %d %q", code, errOut)
	}
	if code, _, _ := cli(t, "models", "frob"); code != 2 {
		t.Errorf("unknown subcommand exit %d", code)
	}
}
