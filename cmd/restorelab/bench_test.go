package main

import (
	"context"
	"encoding/json"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/restorelab/restorelab/bench"
	"github.com/restorelab/restorelab/restore"
	"github.com/restorelab/restorelab/viz"
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
		filepath.Join(out, "figures", "sr4_compare.png"),
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
	// A chosen crop: the 32x32 images' top-left 8x8, enlarged 4 times.
	if code, _, stderr := cli(t, "figures", "--out", out, "--crop", "0,0,8,8"); code != 0 {
		t.Errorf("figures --crop: %d %q", code, stderr)
	}
	for _, tc := range []struct{ crop, want string }{{"0,0,8", "X,Y,W,H"}, {"30,30,8,8", "not inside"}} {
		if code, _, stderr := cli(t, "figures", "--out", out, "--crop", tc.crop); code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("figures --crop %s: %d %q, want %q", tc.crop, code, stderr, tc.want)
		}
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
	// Another setting, another prior or another seed under a label already
	// in the folder is refused, naming what changed; nothing is mixed.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--methods", "ddrm:gaussian", "--steps", "3"}, `steps is "2" in the folder's results but "3" now`},
		{[]string{"--methods", "ddrm:gaussian", "--steps", "2", "--eta", "0.5"}, "eta is"},
		{[]string{"--methods", "baseline", "--seed", "4"}, "--seed 0"},
	} {
		code, _, stderr = cli(t, append([]string{"bench", "--data", data, "--out", out, "--tasks", "sr4"}, tc.args...)...)
		if code != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: %d %q; want a refusal naming %q", tc.args, code, stderr, tc.want)
		}
	}
	after, _ := bench.Load(filepath.Join(out, "results.json"))
	if len(after.Results) != len(f.Results) {
		t.Errorf("a refused run changed results.json: %d results, was %d", len(after.Results), len(f.Results))
	}
	// New methods and tasks join the folder beside the old ones.
	code, _, stderr = cli(t, "bench", "--data", data, "--out", out, "--tasks", "sr4,denoise,deblur", "--methods", "baseline,ddrm:gaussian,ddnm:gaussian", "--steps", "2")
	grown, _ := bench.Load(filepath.Join(out, "results.json"))
	if code != 0 || len(grown.Results) != 3*3*3 {
		t.Errorf("adding a method and a task: %d, %d results (want 27): %s", code, len(grown.Results), stderr)
	}
}

// TestBenchRefusesAnotherPrior is the case that used to mix results: a
// folder made with one --model, rerun with another.
func TestBenchRefusesAnotherPrior(t *testing.T) {
	data, out := benchData(t), filepath.Join(t.TempDir(), "out")
	base := []string{"bench", "--data", data, "--out", out, "--tasks", "denoise", "--methods", "ddrm", "--steps", "2", "--limit", "1"}
	if code, _, stderr := cli(t, append(base, "--model", "gaussian")...); code != 0 {
		t.Fatal(stderr)
	}
	code, _, stderr := cli(t, append(base, "--model", "../../models/testdata/closed_f32")...)
	if code != 1 || !strings.Contains(stderr, "method ddrm: model") {
		t.Errorf("another prior in the same folder: %d %q", code, stderr)
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
		{[]string{"--data", sample, "--limit", "-1"}, "--limit -1"},
		{[]string{"--data", sample, "--methods", "baseline", "--lambda", "3"}, "none of the methods"},
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

// tinyInception is the random-weight FID Inception fixture of package models.
const tinyInception = "../../models/testdata/inception_tiny"

func TestBenchInceptionAddsFIDAndKID(t *testing.T) {
	data, out := benchData(t), filepath.Join(t.TempDir(), "out")
	args := []string{"bench", "--data", data, "--out", out, "--tasks", "sr4,denoise", "--methods", "baseline,ddrm:gaussian", "--steps", "2"}
	// A first run without --inception has no FID and KID columns.
	code, stdout, stderr := cli(t, args...)
	if code != 0 {
		t.Fatalf("bench failed: %s", stderr)
	}
	if strings.Contains(stdout, "FID ↓") || strings.Contains(stdout, "n/a") || !strings.Contains(stdout, "| Method | PSNR ↑ | SSIM ↑ | ‖Hx−y‖ ↓ | img/s ↑ | NFE |") {
		t.Errorf("table without --inception:\n%s", stdout)
	}
	// Resuming with --inception restores nothing again and computes FID and
	// KID from the saved images.
	code, stdout, stderr = cli(t, append(args, "--inception", tinyInception)...)
	if code != 0 || !strings.Contains(stderr, "resuming: 12") {
		t.Fatalf("bench --inception: %d %s", code, stderr)
	}
	// 3 images: KID's subsets are the whole set, so it has no spread.
	if strings.Count(stdout, "n/a") != strings.Count(stdout, "± n/a (whole set)") || !strings.Contains(stdout, "| FID ↓ | KID ↓ |") || !strings.Contains(stdout, "fewer than the 256 feature dimensions") {
		t.Errorf("table with --inception:\n%s", stdout)
	}
	f, err := bench.Load(filepath.Join(out, "results.json"))
	if err != nil || f == nil || len(f.Metrics) != 4 || f.Inception != "fid-inception-tiny" {
		t.Fatalf("results.json: %+v, %v", f, err)
	}
	for _, m := range f.Metrics {
		if m.Images != 3 || m.Features != 256 || m.FID == nil || math.IsNaN(*m.FID) || math.IsInf(*m.FID, 0) || *m.FID < 0 ||
			m.KIDMean == nil || math.IsNaN(*m.KIDMean) || m.KIDStd != nil || !m.FewImages {
			t.Errorf("metrics %+v", m)
		}
	}
	summary, err := os.ReadFile(filepath.Join(out, "summary.csv"))
	if err != nil || strings.Count(string(summary), "\n") != 5 || strings.Count(string(summary), ",n/a (whole set),true") != 4 {
		t.Errorf("summary.csv (%v):\n%s", err, summary)
	}
	// The sharded form of the same run, merged with --inception, gives the
	// same numbers, since both read the same saved images.
	shardOut := t.TempDir()
	for _, shard := range []string{"0/2", "1/2"} {
		shardArgs := []string{"bench", "--data", data, "--out", shardOut, "--tasks", "sr4,denoise", "--methods", "baseline,ddrm:gaussian", "--steps", "2", "--shard", shard}
		if code, _, stderr := cli(t, shardArgs...); code != 0 {
			t.Fatalf("shard %s: %s", shard, stderr)
		}
	}
	if code, _, stderr := cli(t, "bench", "merge", "--out", shardOut, "--inception", tinyInception); code != 0 {
		t.Fatalf("merge --inception: %s", stderr)
	}
	merged, err := bench.Load(filepath.Join(shardOut, "results.json"))
	if err != nil || merged == nil || len(merged.Metrics) != 4 {
		t.Fatalf("merged results.json: %+v, %v", merged, err)
	}
	for i, m := range merged.Metrics {
		if *m.FID != *f.Metrics[i].FID || *m.KIDMean != *f.Metrics[i].KIDMean {
			t.Errorf("%s %s: merged FID %g KID %g; single run FID %g KID %g", m.Task, m.Method, *m.FID, *m.KIDMean, *f.Metrics[i].FID, *f.Metrics[i].KIDMean)
		}
	}
}

func TestBenchInceptionBadInput(t *testing.T) {
	data, out := benchData(t), t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--inception", tinyInception, "--shard", "0/2"}, "bench merge"},
		{[]string{"--inception", "../../models/testdata/closed_f32"}, "not a feature network"},
		{[]string{"--inception", filepath.Join(out, "none")}, "no such file"},
	} {
		o := filepath.Join(out, "o")
		code, _, stderr := cli(t, append([]string{"bench", "--data", data, "--out", o, "--methods", "baseline", "--tasks", "denoise"}, tc.args...)...)
		if code != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: %d %q, want %q", tc.args, code, stderr, tc.want)
		}
		if _, err := os.Stat(o); err == nil {
			t.Errorf("%v: output folder created although the input was bad", tc.args)
		}
	}
}

// TestBenchOddCorruptAndTwinImages: a folder with an odd-sized image, a
// corrupt one and cat.png beside cat.jpg finishes, pads the odd one, reports
// the corrupt one, and keeps the two cats apart.
func TestBenchOddCorruptAndTwinImages(t *testing.T) {
	data, out := t.TempDir(), filepath.Join(t.TempDir(), "out")
	cat, err := restore.LoadImage(sample)
	if err != nil {
		t.Fatal(err)
	}
	small, err := restore.Crop(cat, 40, 40)
	if err != nil {
		t.Fatal(err)
	}
	odd, err := restore.Crop(cat, 37, 43)
	if err != nil {
		t.Fatal(err)
	}
	for name, x := range map[string]*restore.Tensor{"cat.png": small, "odd.png": odd} {
		if err := restore.SaveImage(filepath.Join(data, name), x, nil); err != nil {
			t.Fatal(err)
		}
	}
	jpg, err := os.Create(filepath.Join(data, "cat.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := viz.Image(small, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := jpeg.Encode(jpg, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	jpg.Close()
	if err := os.WriteFile(filepath.Join(data, "corrupt.png"), []byte("\x89PNG\r\n\x1a\nbroken"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := cli(t, "bench", "--data", data, "--out", out, "--tasks", "sr4,deblur,sr4", "--methods", "baseline,ddrm:gaussian,baseline", "--steps", "2")
	if code != 0 {
		t.Fatalf("bench failed: %s", stderr)
	}
	for _, want := range []string{"task sr4 is listed twice", "method baseline is listed twice", "skipped corrupt"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	for _, want := range []string{"### sr4 (3 images; 1 padded", "### deblur (3 images)", "Skipped 1 unreadable image(s)", "corrupt"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}
	f, err := bench.Load(filepath.Join(out, "results.json"))
	if err != nil || f == nil {
		t.Fatal(err)
	}
	rows := map[string]int{}
	for _, r := range f.Results {
		rows[r.Image]++
		if want := map[bool]string{true: "padded"}[r.Image == "odd" && r.Task == "sr4"]; r.Fitted != want {
			t.Errorf("%s %s %s fitted %q, want %q", r.Image, r.Task, r.Method, r.Fitted, want)
		}
	}
	if len(f.Results) != 3*2*2 || rows["cat_png"] != 4 || rows["cat_jpg"] != 4 || rows["odd"] != 4 || len(f.Skipped) != 1 {
		t.Errorf("results per image %v, %d skipped; want 4 each for cat_png, cat_jpg and odd, 1 skipped", rows, len(f.Skipped))
	}
	x, err := restore.LoadImage(bench.ImagePath(out, "sr4", "odd", "ddrm:gaussian"))
	if err != nil || x.Shape.H != 37 || x.Shape.W != 43 {
		t.Errorf("the odd image restored as %v (%v), want 43x37", x, err)
	}
	code, _, stderr = cli(t, "bench", "--data", data, "--out", out, "--tasks", "sr4", "--methods", "baseline", "--fit", "crop")
	if code != 1 || !strings.Contains(stderr, "--fit pad") || !strings.Contains(stderr, "crop") {
		t.Errorf("resuming with another --fit: %d %q", code, stderr)
	}
}

// TestMetricsEqualsBench: restorelab metrics on the sets bench writes gives
// bench's FID and KID; statistics saved by --save-stats stand in for their
// folder; the JSON carries the few-image flag and KID's spread.
func TestMetricsEqualsBench(t *testing.T) {
	data, out := benchData(t), filepath.Join(t.TempDir(), "out")
	code, _, stderr := cli(t, "bench", "--data", data, "--out", out, "--tasks", "sr4", "--methods", "baseline,ddrm:gaussian", "--steps", "2", "--inception", tinyInception)
	if code != 0 {
		t.Fatalf("bench: %s", stderr)
	}
	if !strings.Contains(stderr, "note: FID and KID here use as few as 3 images") {
		t.Errorf("no few-image note on stderr: %s", stderr)
	}
	f, err := bench.Load(filepath.Join(out, "results.json"))
	if err != nil || f == nil || len(f.Metrics) != 2 {
		t.Fatalf("results.json: %v", err)
	}
	want := f.Metrics[1] // sr4, ddrm:gaussian
	clean, restored := bench.SetPath(out, "sr4", "clean"), bench.SetPath(out, "sr4", "ddrm:gaussian")
	stats := filepath.Join(t.TempDir(), "clean.npz")
	code, stdout, stderr := cli(t, "metrics", clean, restored, "--inception", tinyInception, "--json", "--paired", "--save-stats", stats)
	if code != 0 {
		t.Fatalf("metrics: %s", stderr)
	}
	var got bench.Comparison
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	m := got.Distances
	if m == nil || *m.FID != *want.FID || *m.KIDMean != *want.KIDMean || got.Pairs != 3 || got.PSNR == nil {
		t.Fatalf("metrics %+v, bench %+v", m, want)
	}
	if !m.FewImages || m.KIDStd != nil || m.KIDSpread != bench.KIDSpreadWholeSet || !strings.Contains(stdout, `"few_images": true`) {
		t.Errorf("few-image flag and KID spread: %+v", m)
	}
	summary, err := os.ReadFile(filepath.Join(out, "summary.csv"))
	if err != nil || !strings.Contains(string(summary), ",n/a (whole set),true") {
		t.Errorf("summary.csv lacks the flags (%v):\n%s", err, summary)
	}
	// The saved statistics stand in for the clean folder.
	code, stdout, stderr = cli(t, "metrics", stats, restored, "--inception", tinyInception, "--json")
	if code != 0 {
		t.Fatalf("metrics from statistics: %s", stderr)
	}
	var fromStats bench.Comparison
	if err := json.Unmarshal([]byte(stdout), &fromStats); err != nil || math.Abs(*fromStats.Distances.FID-*want.FID) > 1e-9**want.FID {
		t.Errorf("FID from saved statistics %+v (%v), from the folder %g", fromStats.Distances, err, *want.FID)
	}
	code, stdout, _ = cli(t, "metrics", clean, restored, "--inception", tinyInception, "--bootstrap", "20")
	if code != 0 || !strings.Contains(stdout, "FID ") || !strings.Contains(stdout, "[") {
		t.Errorf("metrics --bootstrap: %d\n%s", code, stdout)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"metrics", clean}, "give two sets"},
		{[]string{"metrics", clean, filepath.Join(out, "none")}, "does not exist"},
		{[]string{"metrics", clean, data, "--paired", "--inception", tinyInception}, "--paired"},
		{[]string{"metrics", clean, restored, "--bootstrap", "1"}, "--bootstrap 1"},
	} {
		if code, _, stderr := cli(t, tc.args...); code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: %d %q, want %q", tc.args, code, stderr, tc.want)
		}
	}
}
