package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// binary builds restorelab into a folder of its own, outside the checkout.
func binary(t *testing.T) string {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "restorelab")
	out, err := exec.Command("go", "build", "-o", exe, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return exe
}

// runIn runs the binary in dir with a fresh user cache (XDG_CACHE_HOME) and
// no runtime override.
func runIn(t *testing.T, exe, dir, cache string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(exe, args...)
	cmd.Dir = dir
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "RESTORELAB_ORT_LIB=") && !strings.HasPrefix(kv, "RESTORELAB_CACHE=") && !strings.HasPrefix(kv, "XDG_CACHE_HOME=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "XDG_CACHE_HOME="+cache)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestRunsFromAnywhere: the binary, copied out of the checkout and run from
// another folder, restores with the bundled prior once 'restorelab setup'
// has put ONNX Runtime in the user cache; before that it says what to do.
func TestRunsFromAnywhere(t *testing.T) {
	exe := binary(t)
	away, cache := t.TempDir(), t.TempDir()
	img, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(away, "cat.png"), img, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := runIn(t, exe, away, cache, "degrade", "--task", "denoise", "--in", "cat.png", "--out", "y.npy"); err != nil {
		t.Fatalf("degrade: %v\n%s", err, out)
	}
	out, err := runIn(t, exe, away, cache, "restore", "--task", "denoise", "--in", "y.npy", "--out", "x.png", "--steps", "2")
	if err == nil && !strings.Contains(out, "wrote x.png") {
		t.Fatalf("restore without a runtime anywhere: %s", out)
	}
	if err != nil && !strings.Contains(out, "restorelab setup") {
		t.Errorf("the missing runtime is not explained: %s", out)
	}
	// setup, run from the checkout, copies its runtime into the user cache.
	if out, err := runIn(t, exe, ".", cache, "setup"); err != nil || !strings.Contains(out, "installed ONNX Runtime") {
		t.Fatalf("setup: %v\n%s", err, out)
	}
	out, err = runIn(t, exe, away, cache, "restore", "--task", "denoise", "--in", "y.npy", "--out", "x.png", "--steps", "2", "--ref", "cat.png")
	if err != nil || !strings.Contains(out, "PSNR") {
		t.Fatalf("restore from outside the checkout: %v\n%s", err, out)
	}
	if out, err := runIn(t, exe, away, cache, "--version"); err != nil || !strings.Contains(out, "ONNX Runtime 1.") {
		t.Errorf("--version: %v\n%s", err, out)
	}
}

// TestUnwritableOutputFailsAtOnce: a restore whose output cannot be written
// fails before any work, naming the user's path.
func TestUnwritableOutputFailsAtOnce(t *testing.T) {
	dir := t.TempDir()
	y := filepath.Join(dir, "y.npy")
	if code, _, errOut := cli(t, "degrade", "--task", "sr4", "--in", sample, "--out", y); code != 0 {
		t.Fatal(errOut)
	}
	file := filepath.Join(dir, "afile")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{"/proc/x.png", dir + "/", filepath.Join(file, "x.png")} {
		start := time.Now()
		code, _, errOut := cli(t, "restore", "--task", "sr4", "--in", y, "--out", out)
		if code == 0 || time.Since(start) > time.Second || strings.Contains(errOut, ".tmp") || !strings.Contains(errOut, strings.TrimSuffix(out, "/")) {
			t.Errorf("--out %s: exit %d after %v: %q", out, code, time.Since(start), errOut)
		}
	}
}
