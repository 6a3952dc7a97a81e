package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/restorelab/restorelab/models"
	"github.com/restorelab/restorelab/restore"
)

// The ONNX Runtime build setup installs: the CPU library of the
// onnxruntime-node npm package, as scripts/fetch-onnxruntime.sh fetches it.
const (
	ortPackage = "onnxruntime-node@" + models.ORTVersion
	ortMember  = "package/bin/napi-v6/linux/x64/libonnxruntime.so.1"
	ortSHA256  = "53ef1ac028dd1b05554b8da28d9159eb3876f99868193d2aaa6e67f0243c23d4"
)

func runSetup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("setup", "setup [--from LIBRARY]", stderr)
	from := fs.String("from", "", "install this libonnxruntime.so.1 instead of looking for one")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	dest, err := models.UserCacheLibrary()
	if err != nil {
		return err
	}
	if *from == "" {
		if _, err := os.Stat(dest); err == nil {
			fmt.Fprintf(stdout, "ONNX Runtime %s is installed: %s\n", models.ORTVersion, dest)
			return nil
		}
	}
	var lib []byte
	switch path, origin := models.FindLibrary(); {
	case *from != "":
		if lib, err = os.ReadFile(*from); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "copying %s\n", *from)
	case path != "":
		if lib, err = os.ReadFile(path); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "copying %s (%s)\n", path, origin)
	default:
		if lib, err = fetchORT(ctx, stdout); err != nil {
			return err
		}
	}
	if err := checkSharedObject(lib); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	if err := restore.WriteFileAtomic(dest, func(w io.Writer) error {
		_, err := w.Write(lib)
		return err
	}); err != nil {
		return err
	}
	sum := sha256.Sum256(lib)
	note := ""
	if hex.EncodeToString(sum[:]) != ortSHA256 {
		note = fmt.Sprintf(" (not the %s build restorelab is tested with)", ortPackage)
	}
	fmt.Fprintf(stdout, "installed ONNX Runtime: %s%s\nrestorelab finds it there from any folder.\n", dest, note)
	return nil
}

// fetchORT downloads the library with npm pack, which installs nothing and
// runs no package scripts, and checks its hash.
func fetchORT(ctx context.Context, stdout io.Writer) ([]byte, error) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		return nil, fmt.Errorf("no ONNX Runtime library found, and setup only downloads the linux/amd64 one; install ONNX Runtime %s and run 'restorelab setup --from /path/to/libonnxruntime.so', or set %s", models.ORTVersion, models.EnvORTLib)
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return nil, fmt.Errorf("no ONNX Runtime library found, and npm, which setup downloads it with, is not installed; install npm, or run 'restorelab setup --from /path/to/libonnxruntime.so.1'")
	}
	tmp, err := os.MkdirTemp("", "restorelab-setup-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintf(stdout, "downloading %s with npm pack\n", ortPackage)
	cmd := exec.CommandContext(ctx, npm, "pack", "--silent", ortPackage)
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("npm pack %s failed: %v\n%s", ortPackage, err, out)
	}
	tarballs, _ := filepath.Glob(filepath.Join(tmp, "*.tgz"))
	if len(tarballs) != 1 {
		return nil, fmt.Errorf("npm pack %s left %d tarballs", ortPackage, len(tarballs))
	}
	lib, err := tarMember(tarballs[0], ortMember)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(lib)
	if got := hex.EncodeToString(sum[:]); got != ortSHA256 {
		return nil, fmt.Errorf("%s in %s has sha256 %s, not the published %s; nothing was installed", ortMember, ortPackage, got, ortSHA256)
	}
	return lib, nil
}

func tarMember(path, member string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s has no %s", path, member)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if h.Name == member {
			return io.ReadAll(io.LimitReader(tr, 1<<30))
		}
	}
}

// checkSharedObject refuses anything but an ELF shared object, so that an
// error page or a truncated download never lands in the cache.
func checkSharedObject(b []byte) error {
	if len(b) < 18 || !bytes.Equal(b[:4], []byte("\x7fELF")) || b[16] != 3 {
		return errors.New("the file is not an ELF shared library; give the path of libonnxruntime.so.1")
	}
	return nil
}
