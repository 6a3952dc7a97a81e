package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/restorelab/restorelab/bench"
	"github.com/restorelab/restorelab/restore"
)

// benchData makes a folder of three small images and one broken file.
func benchData(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for i, name := range []string{"a.png", "b.png", "c.png"} {
		x := restore.NewTensor(1, restore.Shape{C: 3, H: 32, W: 32})
		for k := range x.Data {
			x.Data[k] = float32((k*(i+3))%64) / 63
		}
		if err := restore.SaveImage(filepath.Join(dir, name), x, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "broken.png"), []byte("not a png"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestBenchSkipsResumesAndCompares(t *testing.T) {
	data, out := benchData(t), filepath.Join(t.TempDir(), "out")
	args := []string{"bench", "--data", data, "--out", out, "--tasks", "sr4,denoise", "--methods", "baseline,ddrm:gaussian", "--steps", "2"}
	code, stdout, stderr := cli(t, args...)
	if code != 0 {
		t.Fatalf("bench failed: %s", stderr)
	}
	if !strings.Contains(stderr, "skipped") || !strings.Contains(stderr, "broken.png") {
		t.Errorf("broken image not reported: %q", stderr)
	}
	if !strings.Contains(stdout, "| ddrm:gaussian |") {
		t.Errorf("table lacks the labelled method:\n%s", stdout)
	}
	f, err := bench.Load(filepath.Join(out, "results.json"))
	if err != nil || f == nil || len(f.Results) != 3*2*2 || len(f.Skipped) != 1 {
		t.Fatalf("results.json: %+v, %v", f, err)
	}
	for _, p := range []string{
		bench.ImagePath(out, "sr4", "a", "ddrm:gaussian"),
		bench.StepGridPath(out, "sr4", "a", "ddrm:gaussian"),
		filepath.Join(out, "figures", "psnr_bars.png"),
		filepath.Join(out, "figures", "sr4_examples.png"),
		filepath.Join(out, "figures", "denoise_throughput.png"),
	} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("not written: %v", err)
		}
	}
	if _, err := os.Stat(bench.StepGridPath(out, "sr4", "b", "ddrm:gaussian")); err == nil {
		t.Error("a step grid was saved for the second image; --step-grids is 1")
	}
	if err := os.RemoveAll(filepath.Join(out, "figures")); err != nil {
		t.Fatal(err)
	}
	if code, stdout, stderr := cli(t, "figures", "--out", out); code != 0 || !strings.Contains(stdout, "sr4_examples.png") {
		t.Errorf("figures: %d %q %q", code, stdout, stderr)
	}
	if code, _, stderr := cli(t, "figures", "--out", t.TempDir()); code != 1 || !strings.Contains(stderr, "no results.json") {
		t.Errorf("figures without results: %d %q", code, stderr)
	}
	// Rerunning resumes: nothing is recomputed, so the timings are kept.
	code, _, stderr = cli(t, args...)
	again, _ := bench.Load(filepath.Join(out, "results.json"))
	if code != 0 || !strings.Contains(stderr, "resuming: 12") || again.Results[0].Seconds != f.Results[0].Seconds {
		t.Errorf("rerun did not resume: %d %q", code, stderr)
	}
	// Other settings in the same folder are refused.
	code, _, stderr = cli(t, "bench", "--data", data, "--out", out, "--tasks", "sr4", "--steps", "2", "--methods", "baseline")
	if code != 1 || !strings.Contains(stderr, "other settings") {
		t.Errorf("mismatched settings: %d %q", code, stderr)
	}
}

func TestBenchShardsAndMerge(t *testing.T) {
	data, out := benchData(t), t.TempDir()
	for _, shard := range []string{"0/2", "1/2"} {
		code, stdout, stderr := cli(t, "bench", "--data", data, "--out", out, "--tasks", "denoise", "--methods", "baseline", "--shard", shard)
		if code != 0 || !strings.Contains(stdout, "bench merge") {
			t.Fatalf("shard %s: %d %s", shard, code, stderr)
		}
	}
	code, stdout, stderr := cli(t, "bench", "merge", "--out", out)
	if code != 0 || !strings.Contains(stdout, "### denoise (3 images)") {
		t.Fatalf("merge: %d %q %q", code, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "results.csv")); err != nil {
		t.Error(err)
	}
	if code, _, stderr := cli(t, "bench", "merge", "--out", t.TempDir()); code != 1 || !strings.Contains(stderr, "no shard results") {
		t.Errorf("merge of an empty folder: %d %q", code, stderr)
	}
}

func TestBenchBadInput(t *testing.T) {
	out := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--data", filepath.Join(out, "none")}, "does not exist"},
		{[]string{"--data", out}, "no PNG or JPEG"},
		{[]string{"--data", sample, "--methods", "ldm2"}, "unknown method"},
		{[]string{"--data", sample, "--methods", "ddrm:nope"}, "nope"},
		{[]string{"--data", sample, "--tasks", "sr3"}, "unknown task"},
		{[]string{"--data", sample, "--shard", "2/2"}, "--shard"},
	} {
		code, _, stderr := cli(t, append([]string{"bench", "--out", filepath.Join(out, "o")}, tc.args...)...)
		if code != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: %d %q, want %q", tc.args, code, stderr, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "o")); err == nil {
		t.Error("output folder created although the input was bad")
	}
}

func TestBenchInterruptKeepsResults(t *testing.T) {
	data, out := benchData(t), t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var so, se strings.Builder
	code := run(ctx, []string{"bench", "--data", data, "--out", out, "--methods", "baseline", "--tasks", "denoise"}, &so, &se)
	if code != 130 || !strings.Contains(se.String(), "rerun the same command") {
		t.Fatalf("interrupted bench: %d %q", code, se.String())
	}
	if f, err := bench.Load(filepath.Join(out, "results.json")); err != nil || f == nil {
		t.Errorf("no valid results.json after interruption: %v", err)
	}
}
