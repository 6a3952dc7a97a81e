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
	bin := filepath.Join(tmp, "tools")
	touch(t, filepath.Join(bin, "restorelab"))
	besideBin := filepath.Join(bin, systemLibNames()[0])
	in := func(d string) func() (string, error) { return func() (string, error) { return d, nil } }
	f := func(env fakeEnv, wd, exe string) finder {
		return finder{env.get, in(wd), in(userCache), in(exe)}
	}
	system := systemLibNames()

	t.Run("explicit", func(t *testing.T) {
		s, err := f(fakeEnv{EnvORTLib: "/elsewhere"}, sub, "").find(custom)
		if err != nil || len(s.tries) != 1 || s.tries[0].path != custom {
			t.Fatalf("got %v, %v; want only %s", paths(s), err, custom)
		}
	})
	t.Run("explicit missing", func(t *testing.T) {
		_, err := f(fakeEnv{}, sub, "").find(filepath.Join(tmp, "nope.so"))
		if err == nil || !strings.Contains(err.Error(), "nope.so") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("env", func(t *testing.T) {
		s, err := f(fakeEnv{EnvORTLib: custom}, sub, "").find("")
		if err != nil || len(s.tries) != 1 || s.tries[0].path != custom {
			t.Fatalf("got %v, %v; want only %s", paths(s), err, custom)
		}
	})
	t.Run("env missing", func(t *testing.T) {
		_, err := f(fakeEnv{EnvORTLib: filepath.Join(tmp, "nope.so")}, sub, "").find("")
		if err == nil || !strings.Contains(err.Error(), EnvORTLib) || !strings.Contains(err.Error(), "restorelab setup") {
			t.Fatalf("got %v; want an error naming %s and restorelab setup", err, EnvORTLib)
		}
	})
	t.Run("user cache, then the checkout, then system", func(t *testing.T) {
		s, err := f(fakeEnv{}, sub, filepath.Join(bin, "restorelab")).find("")
		want := append([]string{userLib, repoLib}, system...)
		if err != nil || strings.Join(paths(s), "|") != strings.Join(want, "|") {
			t.Fatalf("got %v, %v; want %v", paths(s), err, want)
		}
		if !strings.Contains(strings.Join(s.looked, " "), besideBin) {
			t.Errorf("looked in %v; want next to the binary too", s.looked)
		}
	})
	t.Run("next to the binary", func(t *testing.T) {
		touch(t, besideBin)
		defer os.Remove(besideBin)
		s, err := f(fakeEnv{EnvCache: filepath.Join(tmp, "empty")}, tmp, filepath.Join(bin, "restorelab")).find("")
		if err != nil || len(s.tries) == 0 || s.tries[0].path != besideBin {
			t.Fatalf("got %v, %v; want %s first", paths(s), err, besideBin)
		}
	})
	t.Run("the checkout around the binary, from anywhere", func(t *testing.T) {
		s, err := f(fakeEnv{EnvCache: filepath.Join(tmp, "empty")}, tmp, filepath.Join(repo, "bin", "restorelab")).find("")
		if err != nil || len(s.tries) == 0 || s.tries[0].path != repoLib {
			t.Fatalf("got %v, %v; want %s first", paths(s), err, repoLib)
		}
	})
	t.Run("cache override", func(t *testing.T) {
		override := filepath.Join(tmp, "override")
		s, err := f(fakeEnv{EnvCache: override}, tmp, "").find("")
		if err != nil || strings.Join(paths(s), "|") != strings.Join(system, "|") {
			t.Fatalf("got %v, %v; want only the system names", paths(s), err)
		}
		if len(s.looked) == 0 || s.looked[0] != filepath.Join(override, cacheLibPath()) {
			t.Errorf("looked in %v; want the override's library path first", s.looked)
		}
	})
	t.Run("no working, cache or binary folder", func(t *testing.T) {
		fail := func() (string, error) { return "", errors.New("none") }
		s, err := finder{fakeEnv{}.get, fail, fail, fail}.find("")
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
	// Outside the checkout, with an empty user cache.
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "RESTORELAB_TEST_INIT_CHILD=1", EnvORTLib+"=", EnvCache+"="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	s := string(out)
	if strings.Contains(s, "LOADED") {
		t.Skip("ONNX Runtime is installed on the system library path")
	}
	for _, want := range []string{"ONNX Runtime library not found", EnvORTLib + "=/path/to/libonnxruntime.so.1", "restorelab setup", "looked in"} {
		if !strings.Contains(s, want) {
			t.Errorf("error %q does not contain %q", s, want)
		}
	}
}
