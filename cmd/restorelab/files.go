package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/restorelab/restorelab/restore"
)

// checkOutputPath fails early, before any long computation, when path
// cannot be written: an unknown extension, a missing or read-only folder, a
// folder in its place (see restore.CheckOutput).
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
	return restore.CheckOutput(path)
}

func taskList() string { return strings.Join(restore.TaskNames(), ", ") }
