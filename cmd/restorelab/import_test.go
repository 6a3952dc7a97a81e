package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/restorelab/restorelab/method"
	"github.com/restorelab/restorelab/models"
	"github.com/restorelab/restorelab/restore"
)

// tinySource writes a tiny random-weight checkpoint (or snapshot) of a kind
// in its published format, with the kind's exporter.
func tinySource(t *testing.T, script, flag, name string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	out, err := exec.Command("/usr/bin/python3", "-W", "ignore", "../../models/export/"+script, flag, path).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", script, flag, err, out)
	}
	return path
}

// TestModelsImport: a tiny checkpoint of each kind is refused with nothing
// installed, imports with --allow-unverified as an unverified model that
// passes its contract check, and imports as verified when a record holds
// its hash.
func TestModelsImport(t *testing.T) {
	user := t.TempDir()
	t.Setenv("RESTORELAB_MODELS", user)
	sources := map[string]string{
		"ddpm":             tinySource(t, "ddpm.py", "--save-tiny-checkpoint", "celeba_hq.ckpt"),
		"guided-diffusion": tinySource(t, "guided_diffusion.py", "--save-tiny-checkpoint", "tiny.pt"),
		"fid-inception":    tinySource(t, "fid_inception.py", "--save-tiny-checkpoint", "tiny.pth"),
		"ldm-sr":           tinySource(t, "ldm_sr.py", "--save-tiny-snapshot", "snapshot"),
	}
	code, _, stderr := cli(t, "models", "import", "ddpm", sources["ddpm"])
	if code != 1 || !strings.Contains(stderr, "matches no record") || !strings.Contains(stderr, "--allow-unverified") {
		t.Errorf("an unrecorded checkpoint: %d\n%s", code, stderr)
	}
	if entries, _ := os.ReadDir(user); len(entries) != 0 {
		t.Errorf("the refused import left %v in the user models folder", entries)
	}
	for kind, src := range sources {
		code, stdout, stderr := cli(t, "models", "import", kind, src, "--allow-unverified", "--name", "tiny-"+kind)
		if code != 0 || !strings.Contains(stdout, "OK\n") || !strings.Contains(stdout, "use it: restorelab") || !strings.Contains(stdout, "checkpoint: unverified") {
			t.Errorf("%s: %d\n%s\n%s", kind, code, stdout, stderr)
		}
	}
	_, list, _ := cli(t, "models", "list")
	if n := strings.Count(list, "UNVERIFIED"); n != len(sources) {
		t.Errorf("models list shows %d unverified models, want %d:\n%s", n, len(sources), list)
	}
	if code, _, stderr := cli(t, "models", "import", "ddpm", sources["ddpm"], "--allow-unverified", "--name", "tiny-ddpm"); code != 1 || !strings.Contains(stderr, "already installed") {
		t.Errorf("a second import under the same name: %d %s", code, stderr)
	}

	// A record that holds the file's hash verifies it.
	data, err := os.ReadFile(sources["ddpm"])
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	records := filepath.Join(t.TempDir(), "records.json")
	rec := map[string]any{"checkpoints": map[string]any{"celeba_hq": map[string]any{
		"file": "celeba_hq.ckpt", "url": "test", "sha256": hex.EncodeToString(sum[:]), "licence": "test", "data": "test", "notes": "test"}}}
	raw, _ := json.Marshal(rec)
	if err := os.WriteFile(records, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := cli(t, "models", "import", "ddpm", sources["ddpm"], "--records", records, "--name", "verified-ddpm")
	if code != 0 || !strings.Contains(stdout, "checkpoint: verified: sha256 matches the record") {
		t.Errorf("a recorded checkpoint: %d\n%s\n%s", code, stdout, stderr)
	}
	checkFinalAlpha(t, "tiny-ldm-sr")
	for _, tc := range []struct{ args []string }{{[]string{"models", "import", "sd15", sources["ddpm"]}}, {[]string{"models", "import", "ddpm"}}} {
		if code, _, stderr := cli(t, tc.args...); code != 2 {
			t.Errorf("%v: %d %s", tc.args, code, stderr)
		}
	}
}

// checkFinalAlpha: an ldm-sr imported from a snapshot whose scheduler says
// set_alpha_to_one ends its DDIM chain at alpha_bar = 1, with the output the
// last estimate itself, and at alpha_bar_0 when final_alpha overrides it.
func checkFinalAlpha(t *testing.T, name string) {
	t.Helper()
	ms := models.NewCache(runtimeOptions)
	defer ms.Close()
	l, err := ms.SRLDM(name)
	if err != nil {
		t.Fatal(err)
	}
	if !l.FinalAlphaOne {
		t.Errorf("%s: the scheduler's set_alpha_to_one did not reach the model", name)
	}
	task, err := restore.LookupTask("sr4")
	if err != nil {
		t.Fatal(err)
	}
	clean := restore.NewTensor(1, restore.Shape{C: 3, H: 64, W: 64})
	for i := range clean.Data {
		clean.Data[i] = float32(i%29) / 28
	}
	p, err := method.Degrade(task, clean, nil, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	ab0 := l.UNet.Info().Schedule.AlphaBar(0)
	for choice, want := range map[string]float64{"model": 1, "one": 1, "alpha_bar_0": ab0} {
		s := method.LDM.Defaults()
		for k, v := range map[string]string{"ldm_model": name, "steps": "3", "final_alpha": choice} {
			if err := s.Set(k, v); err != nil {
				t.Fatal(err)
			}
		}
		sampler, err := s.Sampler(ms, p, 1)
		if err != nil {
			t.Fatal(err)
		}
		var last *restore.StepInfo
		if _, err := restore.Run(context.Background(), sampler, func(info *restore.StepInfo) error { last = info; return nil }); err != nil {
			t.Fatal(err)
		}
		if last.AlphaBarNext != want {
			t.Errorf("final_alpha %s: the last step goes to alpha_bar %v, want %v", choice, last.AlphaBarNext, want)
		}
		if want == 1 && !slices.Equal(last.XNext.Data, last.X0Hat.Data) {
			t.Errorf("final_alpha %s: the last latent is not the last estimate", choice)
		}
	}
}
