package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/restorelab/restorelab/restore"
)

// hugePicture is a valid 20000x20000 PNG of 389 KB (see package restore).
const hugePicture = "../../restore/testdata/huge_20000x20000.png"

// TestHugePictureRefused: the binary refuses a 400-megapixel PNG with one
// clear line (no stack trace, no out-of-memory), and the limit is
// configurable.
func TestHugePictureRefused(t *testing.T) {
	exe := binary(t)
	huge, err := filepath.Abs(hugePicture)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, args := range [][]string{
		{"degrade", "--task", "denoise", "--in", huge, "--out", "y.npz"},
		{"restore", "--task", "denoise", "--in", huge, "--out", "x.png"},
	} {
		out, err := runIn(t, exe, dir, t.TempDir(), args...)
		if err == nil || !strings.Contains(out, "20000x20000 pixels") || !strings.Contains(out, restore.MaxPixelsEnv) {
			t.Errorf("%s: %v\n%s", args[0], err, out)
		}
		if strings.Contains(out, "goroutine") || strings.Count(strings.TrimSpace(out), "\n") > 0 {
			t.Errorf("%s: more than one line:\n%s", args[0], out)
		}
	}
	defer func(limit int) { restore.MaxPixels = limit }(restore.MaxPixels)
	t.Setenv(restore.MaxPixelsEnv, "1000")
	cat, err := filepath.Abs(sample)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := runIn(t, exe, dir, t.TempDir(), "degrade", "--task", "denoise", "--in", cat, "--out", "y.npz"); err == nil || !strings.Contains(out, "over the limit of 1000 pixels") {
		t.Errorf("the binary with a limit of 1000 pixels: %v %s", err, out)
	}
	if code, _, stderr := cli(t, "degrade", "--task", "denoise", "--in", sample, "--out", filepath.Join(dir, "y.npz")); code == 0 || !strings.Contains(stderr, "256x256 pixels") {
		t.Errorf("limit of 1000 pixels: %d %s", code, stderr)
	}
	t.Setenv(restore.MaxPixelsEnv, "many")
	if code, _, stderr := cli(t, "degrade", "--task", "denoise", "--in", sample, "--out", filepath.Join(dir, "y.npz")); code != 2 || !strings.Contains(stderr, `"many"`) {
		t.Errorf("a bad limit: %d %s", code, stderr)
	}
}

// TestMeasurementRoundTripNeedsNoFlags: sr4-noisy degraded to .npz restores
// without --task or --sigma-y to exactly what the bare .npy gives with them
// by hand; a flag that contradicts the file is refused, naming both values.
func TestMeasurementRoundTripNeedsNoFlags(t *testing.T) {
	dir := t.TempDir()
	npz, npy := filepath.Join(dir, "y.npz"), filepath.Join(dir, "y.npy")
	for _, y := range []string{npz, npy} {
		if code, _, errOut := cli(t, "degrade", "--task", "sr4-noisy", "--in", sample, "--out", y, "--seed", "3"); code != 0 {
			t.Fatal(errOut)
		}
	}
	fromFile, byHand := filepath.Join(dir, "a.npy"), filepath.Join(dir, "b.npy")
	code, outFile, errOut := cli(t, "restore", "--in", npz, "--out", fromFile, "--steps", "4", "--ref", sample)
	if code != 0 {
		t.Fatal(errOut)
	}
	code, outHand, errOut := cli(t, "restore", "--in", npy, "--task", "sr4-noisy", "--sigma-y", "0.05", "--out", byHand, "--steps", "4", "--ref", sample)
	if code != 0 {
		t.Fatal(errOut)
	}
	a, errA := restore.LoadImage(fromFile)
	b, errB := restore.LoadImage(byHand)
	if errA != nil || errB != nil || !slices.Equal(a.Data, b.Data) {
		t.Errorf("the .npz restores to another image than the .npy with flags (%v, %v)\n%s\n%s", errA, errB, outFile, outHand)
	}
	if pa, pb := psnrOf(t, outFile), psnrOf(t, outHand); pa != pb {
		t.Errorf("PSNR %.2f from the file, %.2f by hand", pa, pb)
	}
	for _, tc := range []struct{ flag, value, want string }{
		{"--sigma-y", "0.1", "sigma_y 0.05"},
		{"--task", "sr4", "made with sr4-noisy"},
	} {
		code, _, stderr := cli(t, "restore", "--in", npz, "--out", filepath.Join(dir, "c.png"), tc.flag, tc.value)
		if code != 1 || !strings.Contains(stderr, tc.flag+" "+tc.value) || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s %s: %d %q", tc.flag, tc.value, code, stderr)
		}
	}
}

// TestPosteriorSamples: --samples writes the mean, the standard deviation
// and each sample; the first sample is the single restoration of the same
// seed, and the mean scores above the samples on sr4.
func TestPosteriorSamples(t *testing.T) {
	dir := t.TempDir()
	y := filepath.Join(dir, "y.npz")
	if code, _, errOut := cli(t, "degrade", "--task", "sr4", "--in", sample, "--out", y); code != 0 {
		t.Fatal(errOut)
	}
	single := filepath.Join(dir, "single.npy")
	if code, _, errOut := cli(t, "restore", "--in", y, "--out", single, "--steps", "4", "--seed", "5"); code != 0 {
		t.Fatal(errOut)
	}
	mean := filepath.Join(dir, "mean.npy")
	code, stdout, errOut := cli(t, "restore", "--in", y, "--out", mean, "--steps", "4", "--seed", "5", "--samples", "3", "--ref", sample)
	if code != 0 {
		t.Fatal(errOut)
	}
	for _, f := range []string{"mean_std.npy", "mean_sample1.npy", "mean_sample2.npy", "mean_sample3.npy"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("not written: %v", err)
		}
	}
	a, errA := restore.LoadImage(single)
	b, errB := restore.LoadImage(filepath.Join(dir, "mean_sample1.npy"))
	if errA != nil || errB != nil || !slices.Equal(a.Data, b.Data) {
		t.Errorf("sample 1 is not the single restoration of the same seed (%v, %v)", errA, errB)
	}
	_, after, _ := strings.Cut(stdout, "samples: mean PSNR ")
	var samplesPSNR float64
	if _, err := fmt.Sscanf(after, "%f dB", &samplesPSNR); err != nil {
		t.Fatalf("no samples' PSNR in %q", stdout)
	}
	if meanPSNR := psnrOf(t, after); meanPSNR <= samplesPSNR {
		t.Errorf("the mean scores %.2f dB, the samples %.2f on average; the mean should be closer", meanPSNR, samplesPSNR)
	}
	if code, _, stderr := cli(t, "restore", "--in", y, "--out", mean, "--samples", "2", "--trace", filepath.Join(dir, "t.npz")); code != 2 || !strings.Contains(stderr, "--trace") {
		t.Errorf("--trace with --samples: %d %q", code, stderr)
	}
}
