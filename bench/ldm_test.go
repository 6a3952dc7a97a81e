package bench

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/restorelab/restorelab/internal/fakes"
	"github.com/restorelab/restorelab/restore"
)

func TestLDMMethods(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "img.png")
	x := restore.NewTensor(1, restore.Shape{C: 3, H: 32, W: 32})
	for i := range x.Data {
		x.Data[i] = float32((i*7)%64) / 63
	}
	if err := restore.SaveImage(img, x, nil); err != nil {
		t.Fatal(err)
	}
	ms := &fakes.Models{}
	hybrid := entry(t, "ddrm-ldm", "steps=4")
	hybrid.Label = "hybrid"
	results, _, err := Run(context.Background(), Config{
		Images: []string{img}, Tasks: restore.StudyTasks, Out: filepath.Join(dir, "out"), Models: ms,
		Methods: []Entry{entry(t, "ldm", "steps=4"), hybrid},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 8 {
		t.Fatalf("%d results; want 8", len(results))
	}
	for i, r := range results {
		if want := []string{"ldm", "hybrid"}[i%2]; r.Method != want || r.NFE != 4 || math.IsNaN(r.PSNR) || r.PSNR < 10 {
			t.Errorf("result %+v; want method %s, 4 NFE and a plausible PSNR", r, want)
		}
	}
	// On noiseless sr4 the hybrid agrees with y, LDM only roughly.
	if results[0].Task != "sr4" || results[1].Consistency*10 > results[0].Consistency {
		t.Errorf("sr4 consistency: ldm %g, ddrm-ldm %g", results[0].Consistency, results[1].Consistency)
	}

	// Step grids are recorded for the latent methods too.
	out := filepath.Join(dir, "grids")
	if _, _, err := Run(context.Background(), Config{
		Images: []string{img}, Tasks: []string{"sr4"}, Out: out, StepGrids: 1, Models: ms,
		Methods: []Entry{entry(t, "ldm", "steps=4"), entry(t, "ddrm-ldm", "steps=4")},
	}); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"ldm", "ddrm-ldm"} {
		if _, err := os.Stat(StepGridPath(out, "sr4", "img", m)); err != nil {
			t.Errorf("no step grid for %s: %v", m, err)
		}
	}
}
