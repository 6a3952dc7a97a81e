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
//  2. the user cache, onnxruntime/1.24.1/libonnxruntime.so.1 under
//     $RESTORELAB_CACHE if set, else under os.UserCacheDir()/restorelab
//     ($XDG_CACHE_HOME/restorelab or ~/.cache/restorelab), which 'restorelab
//     setup' and 'make onnxruntime' fill;
//  3. libonnxruntime.so.1 next to the running binary;
//  4. the cache of the restorelab checkout (the folder holding go.mod and
//     .cache/onnxruntime) around the working directory or the binary, where
//     'make onnxruntime' puts it;
//  5. libonnxruntime.so.1 and libonnxruntime.so on the system's library path.
//
// After a failure InitRuntime may be called again; its error lists every
// place it looked. The environment lives until the process exits.
func InitRuntime(library string) error {
	runtimeState.mu.Lock()
	defer runtimeState.mu.Unlock()
	if ort.IsInitialized() {
		if library != "" && runtimeState.path != "" && !sameFile(library, runtimeState.path) {
			return fmt.Errorf("ONNX Runtime is already loaded from %s; cannot also load %s in the same process", runtimeState.path, library)
		}
		return nil
	}
	found, err := hostFinder().find(library)
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
			return fmt.Errorf("cannot load ONNX Runtime from %s (%s): %w; restorelab needs ONNX Runtime %s or later, which 'restorelab setup' installs", c.path, c.origin, err, ORTVersion)
		}
		systemErr = err
	}
	return fmt.Errorf("ONNX Runtime library not found: looked in %s and on the system library path (the loader said: %v); run 'restorelab setup' (or 'make onnxruntime' in a checkout), or set %s=/path/to/libonnxruntime.so.1",
		strings.Join(found.looked, ", "), systemErr, EnvORTLib)
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

// finder looks for the runtime library; its functions are the process's
// environment, parameters so that tests need not touch it.
type finder struct {
	getenv       func(string) string
	getwd        func() (string, error)
	userCacheDir func() (string, error)
	executable   func() (string, error)
}

func hostFinder() finder { return finder{os.Getenv, os.Getwd, os.UserCacheDir, os.Executable} }

// UserCacheLibrary is where 'restorelab setup' installs the runtime
// library: the user cache of InitRuntime's lookup.
func UserCacheLibrary() (string, error) { return hostFinder().userLibrary() }

func (f finder) userLibrary() (string, error) {
	if c := f.getenv(EnvCache); c != "" {
		return filepath.Join(c, cacheLibPath()), nil
	}
	d, err := f.userCacheDir()
	if err != nil {
		return "", fmt.Errorf("no user cache folder (%v); set %s", err, EnvCache)
	}
	return filepath.Join(d, "restorelab", cacheLibPath()), nil
}

// find lists where to load the runtime library from, in InitRuntime's
// order. A library named explicitly or by $RESTORELAB_ORT_LIB must exist:
// falling back silently to another copy would hide a typo.
func (f finder) find(explicit string) (librarySearch, error) {
	if explicit != "" {
		if err := regularFile(explicit); err != nil {
			return librarySearch{}, fmt.Errorf("ONNX Runtime library %s: %w", explicit, err)
		}
		return librarySearch{tries: []candidate{{path: explicit, origin: "given explicitly"}}}, nil
	}
	if p := f.getenv(EnvORTLib); p != "" {
		if err := regularFile(p); err != nil {
			return librarySearch{}, fmt.Errorf("%s=%s: %w; point it at libonnxruntime.so.1, or unset it and run 'restorelab setup'", EnvORTLib, p, err)
		}
		return librarySearch{tries: []candidate{{path: p, origin: "from " + EnvORTLib}}}, nil
	}
	var places []candidate
	if p, err := f.userLibrary(); err == nil {
		places = append(places, candidate{path: p, origin: "the user cache"})
	}
	var exeDir string
	if exe, err := f.executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		exeDir = filepath.Dir(exe)
		places = append(places, candidate{path: filepath.Join(exeDir, systemLibNames()[0]), origin: "next to the binary"})
	}
	seen := map[string]bool{}
	for _, start := range []func() (string, error){f.getwd, func() (string, error) { return exeDir, nil }} {
		d, err := start()
		if err != nil || d == "" {
			continue
		}
		if root := sourceRoot(d); root != "" && !seen[root] {
			seen[root] = true
			places = append(places, candidate{path: filepath.Join(root, ".cache", cacheLibPath()), origin: "the checkout " + root})
		}
	}
	var s librarySearch
	for _, c := range places {
		if regularFile(c.path) == nil {
			s.tries = append(s.tries, c)
		} else {
			s.looked = append(s.looked, c.path)
		}
	}
	for _, name := range systemLibNames() {
		s.tries = append(s.tries, candidate{path: name, origin: "the system library path", system: true})
	}
	return s, nil
}

// FindLibrary returns the runtime library InitRuntime would load first,
// other than one on the system library path, and where it came from; ""
// when there is none.
func FindLibrary() (path, origin string) {
	s, err := hostFinder().find("")
	if err != nil {
		return "", ""
	}
	for _, c := range s.tries {
		if !c.system {
			return c.path, c.origin
		}
	}
	return "", ""
}

// sourceRoot walks up from dir to the folder with go.mod whose .cache holds
// the runtime library, so that tests, 'go run' in any package of the source
// tree and bin/restorelab find what 'make onnxruntime' fetched.
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
