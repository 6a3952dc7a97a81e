package models

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// ORTVersion is the ONNX Runtime release whose C API this package speaks
// (through github.com/yalue/onnxruntime_go v1.27.0) and which
// scripts/fetch-onnxruntime.sh provides. Later 1.x releases also work.
const ORTVersion = "1.24.1"

// Environment variables that steer where the runtime library and its cache are.
const (
	// EnvORTLib names the ONNX Runtime shared library to load.
	EnvORTLib = "RESTORELAB_ORT_LIB"
	// EnvCache overrides the cache root, which holds onnxruntime/<version>/.
	EnvCache = "RESTORELAB_CACHE"
	// EnvORTLog sets ONNX Runtime's own log level: verbose, info, warning,
	// error or fatal (the default, since every failure also comes back as a
	// Go error).
	EnvORTLog = "RESTORELAB_ORT_LOG"
)

// runtimeState is the process-wide ONNX Runtime environment. onnxruntime_go
// keeps one global environment, so this package loads the library at most
// once per process; a failed attempt may be retried.
var runtimeState struct {
	mu   sync.Mutex
	path string
}

// InitRuntime loads the ONNX Runtime shared library and creates its
// environment, once per process; later calls return nil at once. library
// names the file to load; when it is empty, InitRuntime looks in order at:
//
//  1. $RESTORELAB_ORT_LIB;
//  2. the cache, onnxruntime/1.24.1/libonnxruntime.so.1 under
//     $RESTORELAB_CACHE if set, else under the .cache folder of the source
//     tree around the working directory (the folder holding go.mod, where
//     'make onnxruntime' puts it) and then under os.UserCacheDir()/restorelab;
//  3. libonnxruntime.so.1 and libonnxruntime.so on the system's library path.
//
// After a failure InitRuntime may be called again. The environment lives
// until the process exits.
func InitRuntime(library string) error {
	runtimeState.mu.Lock()
	defer runtimeState.mu.Unlock()
	if ort.IsInitialized() {
		if library != "" && runtimeState.path != "" && !sameFile(library, runtimeState.path) {
			return fmt.Errorf("ONNX Runtime is already loaded from %s; cannot also load %s in the same process", runtimeState.path, library)
		}
		return nil
	}
	found, err := findLibrary(library, os.Getenv, os.Getwd, os.UserCacheDir)
	if err != nil {
		return err
	}
	logOpt, err := logLevelOption(os.Getenv(EnvORTLog))
	if err != nil {
		return err
	}
	var systemErr error
	for _, c := range found.tries {
		ort.SetSharedLibraryPath(c.path)
		err := ort.InitializeEnvironment(logOpt)
		if err == nil {
			runtimeState.path = c.path
			return nil
		}
		if !c.system {
			return fmt.Errorf("cannot load ONNX Runtime from %s (%s): %w; restorelab needs ONNX Runtime %s or later, which 'make onnxruntime' provides", c.path, c.origin, err, ORTVersion)
		}
		systemErr = err
	}
	looked := "no cache folder"
	if len(found.looked) > 0 {
		looked = strings.Join(found.looked, ", ")
	}
	return fmt.Errorf("ONNX Runtime library not found: set %s=/path/to/libonnxruntime.so.1 or run 'make onnxruntime' (looked in %s and the system library path, where the loader said: %v)",
		EnvORTLib, looked, systemErr)
}

// RuntimeInfo reports the loaded ONNX Runtime library and its version, or
// empty strings before InitRuntime has succeeded.
func RuntimeInfo() (path, version string) {
	runtimeState.mu.Lock()
	defer runtimeState.mu.Unlock()
	if !ort.IsInitialized() {
		return "", ""
	}
	return runtimeState.path, ort.GetVersion()
}

// candidate is one place to load the runtime library from.
type candidate struct {
	path   string
	origin string // for messages: where the path came from
	system bool   // a bare name for the dynamic loader's search
}

// librarySearch is what InitRuntime tries, in order, and the cache files it
// looked for that do not exist, to name them when nothing loads.
type librarySearch struct {
	tries  []candidate
	looked []string
}

// findLibrary lists where to load the runtime library from. A library named
// explicitly or by $RESTORELAB_ORT_LIB must exist: falling back silently to
// another copy would hide a typo. The functions are parameters so that tests
// need not touch the process environment.
func findLibrary(explicit string, getenv func(string) string, getwd func() (string, error), userCacheDir func() (string, error)) (librarySearch, error) {
	if explicit != "" {
		if err := regularFile(explicit); err != nil {
			return librarySearch{}, fmt.Errorf("ONNX Runtime library %s: %w", explicit, err)
		}
		return librarySearch{tries: []candidate{{path: explicit, origin: "given explicitly"}}}, nil
	}
	if p := getenv(EnvORTLib); p != "" {
		if err := regularFile(p); err != nil {
			return librarySearch{}, fmt.Errorf("%s=%s: %w; point it at libonnxruntime.so.1, or unset it and run 'make onnxruntime'", EnvORTLib, p, err)
		}
		return librarySearch{tries: []candidate{{path: p, origin: "from " + EnvORTLib}}}, nil
	}
	var roots []candidate
	if c := getenv(EnvCache); c != "" {
		roots = append(roots, candidate{path: c, origin: "the cache in " + EnvCache})
	} else {
		if wd, err := getwd(); err == nil {
			if root := sourceRoot(wd); root != "" {
				roots = append(roots, candidate{path: filepath.Join(root, ".cache"), origin: "the source tree's cache"})
			}
		}
		if d, err := userCacheDir(); err == nil {
			roots = append(roots, candidate{path: filepath.Join(d, "restorelab"), origin: "the user cache"})
		}
	}
	var s librarySearch
	for _, r := range roots {
		p := filepath.Join(r.path, cacheLibPath())
		if regularFile(p) == nil {
			s.tries = append(s.tries, candidate{path: p, origin: r.origin})
		} else {
			s.looked = append(s.looked, p)
		}
	}
	for _, name := range systemLibNames() {
		s.tries = append(s.tries, candidate{path: name, origin: "the system library path", system: true})
	}
	return s, nil
}

// sourceRoot walks up from dir to the folder with go.mod whose .cache holds
// the runtime library, so that tests and 'go run' in any package of the
// source tree find what 'make onnxruntime' fetched.
func sourceRoot(dir string) string {
	for {
		if regularFile(filepath.Join(dir, "go.mod")) == nil &&
			regularFile(filepath.Join(dir, ".cache", cacheLibPath())) == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// cacheLibPath is where the library lives under a cache root.
func cacheLibPath() string {
	return filepath.Join("onnxruntime", ORTVersion, systemLibNames()[0])
}

// systemLibNames are the file names of the runtime library on this system,
// the versioned name first.
func systemLibNames() []string {
	switch runtime.GOOS {
	case "darwin":
		return []string{"libonnxruntime." + ORTVersion + ".dylib", "libonnxruntime.dylib"}
	case "windows":
		return []string{"onnxruntime.dll"}
	default:
		return []string{"libonnxruntime.so.1", "libonnxruntime.so"}
	}
}

func regularFile(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return errors.New("no such file")
		}
		return err
	}
	if !st.Mode().IsRegular() {
		return errors.New("not a regular file")
	}
	return nil
}

func sameFile(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	if errA != nil || errB != nil {
		return a == b
	}
	return os.SameFile(sa, sb)
}

// logLevelOption maps $RESTORELAB_ORT_LOG to an environment option.
func logLevelOption(level string) (ort.EnvironmentOption, error) {
	switch strings.ToLower(level) {
	case "", "fatal":
		return ort.WithLogLevelFatal(), nil
	case "error":
		return ort.WithLogLevelError(), nil
	case "warning":
		return ort.WithLogLevelWarning(), nil
	case "info":
		return ort.WithLogLevelInfo(), nil
	case "verbose":
		return ort.WithLogLevelVerbose(), nil
	}
	return nil, fmt.Errorf("%s=%s: unknown level; use verbose, info, warning, error or fatal", EnvORTLog, level)
}
