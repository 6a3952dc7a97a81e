package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/restorelab/restorelab/restore"
)

// checkOutputPath fails early, before any long computation, when path
// cannot be written: an unknown extension or a missing folder.
func checkOutputPath(path string, exts ...string) error {
	if len(exts) == 0 {
		exts = []string{".png", ".npy"}
	}
	ext := strings.ToLower(filepath.Ext(path))
	ok := false
	for _, e := range exts {
		ok = ok || ext == e
	}
	if !ok {
		return fmt.Errorf("output %s: unsupported extension %q; use %s", path, ext, strings.Join(exts, " or "))
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("output folder %s does not exist; create it first (mkdir -p %s)", dir, dir)
	}
	return nil
}

func taskList() string { return strings.Join(restore.TaskNames(), ", ") }
