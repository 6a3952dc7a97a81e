package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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
	for _, tc := range []struct{ args []string }{{[]string{"models", "import", "sd15", sources["ddpm"]}}, {[]string{"models", "import", "ddpm"}}} {
		if code, _, stderr := cli(t, tc.args...); code != 2 {
			t.Errorf("%v: %d %s", tc.args, code, stderr)
		}
	}
}
