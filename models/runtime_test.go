package models

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeEnv is a process environment for findLibrary.
type fakeEnv map[string]string

func (e fakeEnv) get(k string) string { return e[k] }

func touch(tb testing.TB, path string) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		tb.Fatal(err)
	}
}

func paths(s librarySearch) []string {
	var p []string
	for _, c := range s.tries {
		p = append(p, c.path)
	}
	return p
}

func TestFindLibrary(t *testing.T) {
	tmp := t.TempDir()
	repo := filepath.Join(tmp, "repo")
	repoLib := filepath.Join(repo, ".cache", cacheLibPath())
	touch(t, filepath.Join(repo, "go.mod"))
	touch(t, repoLib)
	sub := filepath.Join(repo, "models", "testdata")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	userCache := filepath.Join(tmp, "usercache")
	userLib := filepath.Join(userCache, "restorelab", cacheLibPath())
	touch(t, userLib)
	custom := filepath.Join(tmp, "custom", "lib.so")
	touch(t, custom)
	wdIn := func(d string) func() (string, error) { return func() (string, error) { return d, nil } }
	ucd := func() (string, error) { return userCache, nil }
	system := systemLibNames()

	t.Run("explicit", func(t *testing.T) {
		s, err := findLibrary(custom, fakeEnv{EnvORTLib: "/elsewhere"}.get, wdIn(sub), ucd)
		if err != nil || len(s.tries) != 1 || s.tries[0].path != custom {
			t.Fatalf("got %v, %v; want only %s", paths(s), err, custom)
		}
	})
	t.Run("explicit missing", func(t *testing.T) {
		_, err := findLibrary(filepath.Join(tmp, "nope.so"), fakeEnv{}.get, wdIn(sub), ucd)
		if err == nil || !strings.Contains(err.Error(), "nope.so") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("env", func(t *testing.T) {
		s, err := findLibrary("", fakeEnv{EnvORTLib: custom}.get, wdIn(sub), ucd)
		if err != nil || len(s.tries) != 1 || s.tries[0].path != custom {
			t.Fatalf("got %v, %v; want only %s", paths(s), err, custom)
		}
	})
	t.Run("env missing", func(t *testing.T) {
		_, err := findLibrary("", fakeEnv{EnvORTLib: filepath.Join(tmp, "nope.so")}.get, wdIn(sub), ucd)
		if err == nil || !strings.Contains(err.Error(), EnvORTLib) || !strings.Contains(err.Error(), "make onnxruntime") {
			t.Fatalf("got %v; want an error naming %s and make onnxruntime", err, EnvORTLib)
		}
	})
	t.Run("source tree, then user cache, then system", func(t *testing.T) {
		s, err := findLibrary("", fakeEnv{}.get, wdIn(sub), ucd)
		want := append([]string{repoLib, userLib}, system...)
		if err != nil || strings.Join(paths(s), "|") != strings.Join(want, "|") {
			t.Fatalf("got %v, %v; want %v", paths(s), err, want)
		}
	})
	t.Run("outside the source tree", func(t *testing.T) {
		s, err := findLibrary("", fakeEnv{}.get, wdIn(tmp), ucd)
		want := append([]string{userLib}, system...)
		if err != nil || strings.Join(paths(s), "|") != strings.Join(want, "|") {
			t.Fatalf("got %v, %v; want %v", paths(s), err, want)
		}
	})
	t.Run("cache override", func(t *testing.T) {
		override := filepath.Join(tmp, "override")
		s, err := findLibrary("", fakeEnv{EnvCache: override}.get, wdIn(sub), ucd)
		if err != nil || strings.Join(paths(s), "|") != strings.Join(system, "|") {
			t.Fatalf("got %v, %v; want only the system names", paths(s), err)
		}
		if len(s.looked) != 1 || s.looked[0] != filepath.Join(override, cacheLibPath()) {
			t.Errorf("looked in %v; want the override's library path", s.looked)
		}
		touch(t, filepath.Join(override, cacheLibPath()))
		s, _ = findLibrary("", fakeEnv{EnvCache: override}.get, wdIn(sub), ucd)
		if s.tries[0].path != filepath.Join(override, cacheLibPath()) {
			t.Errorf("got %v; want the override first", paths(s))
		}
	})
	t.Run("no working or cache dir", func(t *testing.T) {
		fail := func() (string, error) { return "", errors.New("none") }
		s, err := findLibrary("", fakeEnv{}.get, fail, fail)
		if err != nil || strings.Join(paths(s), "|") != strings.Join(system, "|") {
			t.Fatalf("got %v, %v; want only the system names", paths(s), err)
		}
	})
}

func TestLogLevelOption(t *testing.T) {
	for _, l := range []string{"", "fatal", "Error", "warning", "info", "verbose"} {
		if _, err := logLevelOption(l); err != nil {
			t.Errorf("%q: %v", l, err)
		}
	}
	if _, err := logLevelOption("loud"); err == nil || !strings.Contains(err.Error(), EnvORTLog) {
		t.Errorf("loud: got %v; want an error naming %s", err, EnvORTLog)
	}
}

// With no library anywhere, InitRuntime's error says how to get one. It runs
// in a child process, since this one may already have loaded the library.
func TestInitRuntimeNotFound(t *testing.T) {
	if os.Getenv("RESTORELAB_TEST_INIT_CHILD") == "1" {
		err := InitRuntime("")
		if err == nil {
			os.Stdout.WriteString("LOADED\n")
			return
		}
		os.Stdout.WriteString("ERROR: " + err.Error() + "\n")
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestInitRuntimeNotFound$")
	cmd.Env = append(os.Environ(), "RESTORELAB_TEST_INIT_CHILD=1", EnvORTLib+"=", EnvCache+"="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	s := string(out)
	if strings.Contains(s, "LOADED") {
		t.Skip("ONNX Runtime is installed on the system library path")
	}
	for _, want := range []string{"ONNX Runtime library not found", EnvORTLib + "=/path/to/libonnxruntime.so.1", "make onnxruntime"} {
		if !strings.Contains(s, want) {
			t.Errorf("error %q does not contain %q", s, want)
		}
	}
}
