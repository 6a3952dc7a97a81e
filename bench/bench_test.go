package bench

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/restorelab/restorelab/method"
	"github.com/restorelab/restorelab/restore"
)

// entry is a method with settings given as key=value, labelled by its name.
func entry(t *testing.T, name string, settings ...string) Entry {
	t.Helper()
	m, err := method.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	s := m.Defaults()
	for _, kv := range settings {
		k, v, _ := strings.Cut(kv, "=")
		if err := s.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	return Entry{Label: name, Settings: s}
}

func TestRunWritesImagesAndScores(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "img.png")
	x := restore.NewTensor(1, restore.Shape{C: 3, H: 32, W: 32})
	for i := range x.Data {
		x.Data[i] = float32((i*7)%64) / 63
	}
	if err := restore.SaveImage(img, x, nil); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	results, _, err := Run(context.Background(), Config{
		Images: []string{img}, Tasks: []string{"sr4", "denoise"}, Out: out, Models: method.Analytic{},
		Methods: []Entry{entry(t, "baseline"), entry(t, "ddrm", "steps=3")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 4 {
		t.Fatalf("%d results, want 4", len(results))
	}
	for _, r := range results {
		if math.IsNaN(r.PSNR) || r.PSNR < 5 || r.SSIM <= 0 || r.SSIM > 1 {
			t.Errorf("implausible scores %+v", r)
		}
		if (r.Method == "ddrm") != (r.NFE == 3) {
			t.Errorf("%s: NFE %d", r.Method, r.NFE)
		}
	}
	// Bicubic upsampling does not invert bicubic downsampling, while DDRM
	// pins the observed components to y on a noiseless task.
	if results[0].Task != "sr4" || results[1].Consistency >= results[0].Consistency {
		t.Errorf("sr4 consistency: baseline %g, ddrm %g", results[0].Consistency, results[1].Consistency)
	}
	for _, f := range []string{"sr4/img_clean.png", "sr4/img_degraded.png", "sr4/img_baseline.png", "denoise/img_ddrm.png"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
	if err := WriteCSV(out, results); err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdown(out, Summarise(results), nil); err != nil {
		t.Fatal(err)
	}
	md, _ := os.ReadFile(filepath.Join(out, "results.md"))
	for _, want := range []string{"### sr4 (1 images)", "| baseline |", "| ddrm |"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("results.md lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(string(md), "FID") {
		t.Errorf("results.md has FID columns though none were computed:\n%s", md)
	}
}

func TestSummariseAverages(t *testing.T) {
	s := Summarise([]Result{
		{Task: "a", Method: "m", PSNR: 10, SSIM: 0.5, Seconds: 1, NFE: 20},
		{Task: "a", Method: "m", PSNR: 20, SSIM: 0.7, Seconds: 3, NFE: 20},
		{Task: "a", Method: "b", PSNR: 5},
	})
	if len(s) != 2 || s[0].Method != "m" || s[1].Method != "b" {
		t.Fatalf("summaries %+v", s)
	}
	if s[0].PSNR != 15 || math.Abs(s[0].SSIM-0.6) > 1e-12 || s[0].ImagesPerSecond != 0.5 || s[0].Images != 2 {
		t.Errorf("summary %+v", s[0])
	}
}

func TestRunRejectsBadInput(t *testing.T) {
	if _, _, err := Run(context.Background(), Config{Tasks: []string{"sr4"}}); err == nil || !strings.Contains(err.Error(), "no images") {
		t.Errorf("empty image list: %v", err)
	}
	if _, _, err := Run(context.Background(), Config{Images: []string{"x.png"}, Tasks: []string{"sr3"}}); err == nil || !strings.Contains(err.Error(), "unknown task") {
		t.Errorf("unknown task: %v", err)
	}
}

// TestRunRecordsFailuresAndGoesOn: an unreadable image, an image the task
// does not fit (with Fit error) and a method that fails are skipped and
// reported; the other results are all there. By default the odd image is
// padded, restored and cropped back; with Fit crop it is cropped.
func TestRunRecordsFailuresAndGoesOn(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.png")
	odd := filepath.Join(dir, "odd.png")
	bad := filepath.Join(dir, "bad.png")
	for path, side := range map[string]int{good: 32, odd: 30} {
		x := restore.NewTensor(1, restore.Shape{C: 3, H: side, W: side})
		for i := range x.Data {
			x.Data[i] = float32(i%7) / 7
		}
		if err := restore.SaveImage(path, x, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(bad, []byte("not a png"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, fit := range []method.Fit{"", method.FitCrop, method.FitError} {
		out := filepath.Join(dir, "out-"+string(fit))
		results, skipped, err := Run(context.Background(), Config{
			Images: []string{bad, good, odd}, Tasks: []string{"sr4", "denoise"}, Out: out, Models: method.Analytic{}, Fit: fit,
			Methods: []Entry{entry(t, "baseline"), entry(t, "ddrm", "steps=2", "model=missing")},
		})
		if err != nil {
			t.Fatal(err)
		}
		var reasons []string
		for _, s := range skipped {
			reasons = append(reasons, s.Image+" "+s.Task+" "+s.Method+": "+s.Reason)
		}
		all := strings.Join(reasons, "\n")
		wants := []string{"bad  : ", "good sr4 ddrm: ", "not available"}
		results4 := 4 // baseline on good and odd, sr4 and denoise
		if fit == method.FitError {
			wants, results4 = append(wants, "odd sr4 : ", "fit pad or fit crop"), 3
		}
		for _, want := range wants {
			if !strings.Contains(all, want) {
				t.Errorf("fit %q: skips lack %q:\n%s", fit, want, all)
			}
		}
		if len(results) != results4 {
			t.Errorf("fit %q: %d results, want %d: %+v", fit, len(results), results4, results)
		}
		if fit == method.FitError {
			continue
		}
		wantFitted, wantSide := "padded", 30
		if fit == method.FitCrop {
			wantFitted, wantSide = "cropped", 28
		}
		for _, r := range results {
			if want := map[bool]string{true: wantFitted}[r.Image == "odd" && r.Task == "sr4"]; r.Fitted != want {
				t.Errorf("fit %q: %s %s fitted %q, want %q", fit, r.Image, r.Task, r.Fitted, want)
			}
		}
		for _, label := range []string{"clean", "baseline"} {
			x, err := restore.LoadImage(ImagePath(out, "sr4", "odd", label))
			if err != nil || x.Shape.H != wantSide || x.Shape.W != wantSide {
				t.Errorf("fit %q: odd %s saved as %v (%v), want %dx%d", fit, label, x, err, wantSide, wantSide)
			}
		}
		md := Markdown(Summarise(results), skipped)
		if !strings.Contains(md, "1 "+wantFitted+" to the sides the methods take") || !strings.Contains(md, "Skipped 1 unreadable image(s)") || !strings.Contains(md, "Skipped 2 restoration(s) on sr4") {
			t.Errorf("fit %q: the table does not say what was fitted and skipped:\n%s", fit, md)
		}
	}
}

func TestImageNamesAreUnique(t *testing.T) {
	got := ImageNames([]string{"a/cat.png", "b/cat.jpg", "c/dog.png", "d/cat.png"})
	want := []string{"cat_png", "cat_jpg", "dog", "cat_png_2"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("ImageNames = %v, want %v", got, want)
		}
	}
}

// TestCompatibleNamesWhatChanged checks the resume rule: the same settings
// resume, new methods and images join, and another prior, setting or file
// under an existing name is refused with a message naming it.
func TestCompatibleNamesWhatChanged(t *testing.T) {
	ddrm, _ := entry(t, "ddrm").Settings.Identity(method.Analytic{})
	f := &File{Settings: Settings{Seed: 1, Methods: map[string]map[string]string{"ddrm": ddrm}, Images: map[string]string{"cat": "aaa"}}}
	same := Settings{Seed: 1, Methods: map[string]map[string]string{"ddrm": ddrm}, Images: map[string]string{"cat": "aaa", "dog": "bbb"}}
	if err := f.Compatible(same); err != nil {
		t.Errorf("a run adding an image: %v", err)
	}
	other := map[string]string{}
	for k, v := range ddrm {
		other[k] = v
	}
	other["model_digest"] = "sha256:ffff"
	for _, tc := range []struct {
		s    Settings
		want string
	}{
		{Settings{Seed: 2}, "--seed 1"},
		{Settings{Seed: 1, Methods: map[string]map[string]string{"ddrm": other}}, "model_digest"},
		{Settings{Seed: 1, Images: map[string]string{"cat": "ccc"}}, "image cat"},
	} {
		if err := f.Compatible(tc.s); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error naming %q", tc.s, err, tc.want)
		}
	}
}
