package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/restorelab/restorelab/restore"
)

// ldmFixture is the closed-form ldm-sr bundle of package models' tests.
const ldmFixture = "../../models/testdata/ldm"

func TestRestoreWithLDMMethods(t *testing.T) {
	dir := t.TempDir()
	for _, task := range restore.StudyTasks {
		y := filepath.Join(dir, task+".npy")
		if code, _, errOut := cli(t, "degrade", "--task", task, "--in", sample, "--out", y); code != 0 {
			t.Fatalf("degrade %s: %s", task, errOut)
		}
		for _, method := range []string{"ldm", "ddrm-ldm"} {
			out := filepath.Join(dir, task+"_"+method+".png")
			args := []string{"restore", "--task", task, "--in", y, "--out", out, "--method", method, "--ldm-model", ldmFixture, "--steps", "3", "--ref", sample}
			if task == "sr4" {
				args = append(args, "--trace", filepath.Join(dir, method+".npz"))
			}
			code, stdout, errOut := cli(t, args...)
			if code != 0 {
				t.Fatalf("%s %s: %s", task, method, errOut)
			}
			if !strings.Contains(stdout, "PSNR") || !strings.Contains(stdout, method) {
				t.Errorf("%s %s: output %q", task, method, stdout)
			}
			if _, err := os.Stat(out); err != nil {
				t.Errorf("%s %s: %v", task, method, err)
			}
		}
	}
	tr, err := restore.ReadNPZ(filepath.Join(dir, "ldm.npz"))
	if err != nil {
		t.Fatal(err)
	}
	// The trace of an ldm run holds latents: 64x64 for a 256x256 image.
	if got := tr["x_t"].Shape; len(got) != 5 || got[0] != 3 || got[3] != 64 {
		t.Errorf("x_t of shape %v, want [3,1,3,64,64]", got)
	}
}

func TestLDMMethodErrors(t *testing.T) {
	dir := t.TempDir()
	y := filepath.Join(dir, "y.npy")
	if code, _, errOut := cli(t, "degrade", "--task", "sr4", "--in", sample, "--out", y); code != 0 {
		t.Fatal(errOut)
	}
	odd := filepath.Join(dir, "odd.npy")
	writeOddImage(t, odd)
	out := filepath.Join(dir, "x.png")
	t.Setenv("RESTORELAB_MODELS", t.TempDir())
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown model", []string{"restore", "--task", "sr4", "--in", y, "--out", out, "--method", "ldm", "--ldm-model", "srldm-xl"}, `model "srldm-xl" not found`},
		{"not a bundle", []string{"restore", "--task", "sr4", "--in", y, "--out", out, "--method", "ddrm-ldm", "--ldm-model", "../../models/testdata/closed_f32"}, "need an ldm-sr bundle"},
		{"odd size", []string{"restore", "--task", "denoise", "--in", odd, "--out", out, "--method", "ldm", "--ldm-model", ldmFixture, "--fit", "error"}, "multiples of 8: pad to 16x16 or crop to 8x8"},
		{"steps", []string{"restore", "--task", "sr4", "--in", y, "--out", out, "--method", "ldm", "--ldm-model", ldmFixture, "--steps", "1000"}, "1..999"},
		{"unknown method", []string{"restore", "--task", "sr4", "--in", y, "--out", out, "--method", "sdxl"}, "use one of baseline, ddrm, ddnm, ddnm+, diffpir, ldm, ddrm-ldm"},
		{"setting of another method", []string{"restore", "--task", "sr4", "--in", y, "--out", out, "--method", "ldm", "--lambda", "3"}, "--lambda is a setting of diffpir, not of --method ldm"},
		{"bench steps", []string{"bench", "--data", sample, "--out", filepath.Join(dir, "b"), "--methods", "ldm", "--ldm-model", ldmFixture, "--eta", "3"}, "--eta: eta = 3 is out of range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := cli(t, tc.args...)
			if code != 1 || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit 1 naming %q", code, errOut, tc.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("output written despite the error")
			}
		})
	}
}

// Without --ldm-model the latent methods use the bundled SRLDM, which
// super-resolves the sample well above the 10-15 dB of an untrained or
// mis-wired model.
func TestRestoreWithBundledSRLDM(t *testing.T) {
	dir := t.TempDir()
	y := filepath.Join(dir, "y.npy")
	if code, _, errOut := cli(t, "degrade", "--task", "sr4", "--in", sample, "--out", y); code != 0 {
		t.Fatal(errOut)
	}
	for _, method := range []string{"ldm", "ddrm-ldm"} {
		out := filepath.Join(dir, method+".png")
		code, stdout, errOut := cli(t, "restore", "--task", "sr4", "--in", y, "--out", out, "--method", method, "--steps", "10", "--ref", sample)
		if code != 0 {
			t.Fatalf("%s: %s", method, errOut)
		}
		if psnr := psnrOf(t, stdout); psnr < 21 {
			t.Errorf("%s with the bundled SRLDM: %.2f dB; want at least 21\n%s", method, psnr, stdout)
		}
	}
}

func TestBenchWithLDMMethods(t *testing.T) {
	data, out := benchData(t), filepath.Join(t.TempDir(), "out")
	code, stdout, errOut := cli(t, "bench", "--data", data, "--out", out, "--tasks", "sr4,deblur", "--methods", "baseline,ldm,ddrm-ldm:"+ldmFixture, "--ldm-model", ldmFixture, "--steps", "2")
	if code != 0 {
		t.Fatalf("bench failed: %s", errOut)
	}
	for _, want := range []string{"| ldm |", "| ddrm-ldm:" + ldmFixture + " |"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}
	raw, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil || !strings.Contains(string(raw), `"steps": "2"`) || !strings.Contains(string(raw), `"ldm_model_digest": "sha256:`) {
		t.Errorf("results.json does not record the ldm settings and weights (%v)", err)
	}
}

// psnrOf reads the PSNR that restore --ref prints.
func psnrOf(t *testing.T, stdout string) float64 {
	t.Helper()
	_, after, ok := strings.Cut(stdout, "PSNR ")
	var psnr float64
	if _, err := fmt.Sscanf(after, "%f dB", &psnr); !ok || err != nil {
		t.Fatalf("no PSNR in the output %q", stdout)
	}
	return psnr
}
