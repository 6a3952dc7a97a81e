package models

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzManifest feeds model.json parsing arbitrary bytes: it may refuse
// them, never panic, and a manifest it accepts must survive a round trip
// through JSON and validate again.
func FuzzManifest(f *testing.F) {
	for _, pattern := range []string{"testdata/*/model.json", "testdata/*/*/model.json", "bundled/*/model.json", "bundled/*/*/model.json"} {
		paths, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b)
		if err != nil {
			return
		}
		again, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("an accepted manifest does not encode: %v", err)
		}
		if _, err := ParseManifest(again); err != nil {
			t.Fatalf("an accepted manifest, written back, is refused: %v\n%s", err, again)
		}
		if m.Role.isDenoiser() {
			if _, err := m.Schedule.Build(); err != nil {
				t.Fatalf("an accepted denoiser's schedule does not build: %v", err)
			}
		}
	})
}
