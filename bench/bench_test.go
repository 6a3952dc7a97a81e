package bench

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/restorelab/restorelab/restore"
)

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
	cfg := restore.DefaultDDRMConfig()
	cfg.Steps = 3
	out := filepath.Join(dir, "out")
	results, _, err := Run(context.Background(), Config{
		Images: []string{img}, Tasks: []string{"sr4", "denoise"}, Out: out,
		Methods: []Method{Baseline{}, DDRM{Prior: restore.NewGaussianDenoiser(nil), Config: cfg}},
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
	if err := WriteMarkdown(out, Summarise(results)); err != nil {
		t.Fatal(err)
	}
	md, _ := os.ReadFile(filepath.Join(out, "results.md"))
	for _, want := range []string{"### sr4 (1 images)", "| baseline |", "| ddrm |", "| FID ↓ | KID ↓ |", NoFeatures} {
		if !strings.Contains(string(md), want) {
			t.Errorf("results.md lacks %q:\n%s", want, md)
		}
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
