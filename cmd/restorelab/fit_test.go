package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/restorelab/restorelab/restore"
)

// oddPhoto writes the sample reflected out to w x h, a size no network or
// 4x operator takes as it is.
func oddPhoto(t *testing.T, path string, w, h int) {
	t.Helper()
	cat, err := restore.LoadImage(sample)
	if err != nil {
		t.Fatal(err)
	}
	big, err := restore.PadReflect(cat, max(h, 256), max(w, 256))
	if err != nil {
		t.Fatal(err)
	}
	x, err := restore.Crop(big, h, w)
	if err != nil {
		t.Fatal(err)
	}
	if err := restore.SaveImage(path, x, nil); err != nil {
		t.Fatal(err)
	}
}

// TestOddSizesRestoreToTheirOwnSize: Set5's 228x344 and a 255x257 photo
// are degraded (padded to what the task takes) and restored (padded to
// what the network takes) by DDRM with the bundled prior and by the
// bundled LDM, and come back at their own size, well above chance.
func TestOddSizesRestoreToTheirOwnSize(t *testing.T) {
	dir := t.TempDir()
	for _, size := range [][2]int{{228, 344}, {255, 257}} {
		w, h := size[0], size[1]
		clean := filepath.Join(dir, fmt.Sprintf("photo_%dx%d.png", w, h))
		oddPhoto(t, clean, w, h)
		for _, task := range []string{"sr4", "deblur"} {
			y := strings.TrimSuffix(clean, ".png") + "_" + task + ".npz"
			if code, _, errOut := cli(t, "degrade", "--task", task, "--in", clean, "--out", y); code != 0 {
				t.Fatalf("degrade %dx%d %s: %s", w, h, task, errOut)
			}
			for _, m := range []string{"ddrm", "ldm"} {
				out := strings.TrimSuffix(y, ".npz") + "_" + m + ".png"
				code, stdout, errOut := cli(t, "restore", "--in", y, "--out", out, "--method", m, "--steps", "3", "--ref", clean)
				if code != 0 {
					t.Fatalf("%dx%d %s %s: %s", w, h, task, m, errOut)
				}
				x, err := restore.LoadImage(out)
				if err != nil || x.Shape.W != w || x.Shape.H != h {
					t.Errorf("%dx%d %s %s: wrote %v (%v)", w, h, task, m, x, err)
				}
				if psnr := psnrOf(t, stdout); psnr < 20 {
					t.Errorf("%dx%d %s %s: %.2f dB", w, h, task, m, psnr)
				}
				if !strings.Contains(errOut, "padded") {
					t.Errorf("%dx%d %s %s: no note that the image was padded: %q", w, h, task, m, errOut)
				}
			}
		}
	}
}
