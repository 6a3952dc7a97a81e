package models

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
)

// largeModelBytes is the size of a model file above which opening it
// reports its progress through Options.Notify: hashing and loading a
// published checkpoint's gigabyte take about a minute on two cores. A
// variable, so that tests can lower it.
var largeModelBytes int64 = 64 << 20

// opening reports the slow parts of opening one large file; its methods do
// nothing for a small file, without Options.Notify, or on a nil opening.
type opening struct {
	notify func(string)
	what   string
	size   int64
	start  time.Time
}

func newOpening(notify func(string), what string, size int64) *opening {
	if size <= largeModelBytes {
		notify = nil
	}
	return &opening{notify: notify, what: what, size: size, start: time.Now()}
}

func (o *opening) say(format string, args ...any) {
	if o != nil && o.notify != nil {
		o.notify(o.what + ": " + fmt.Sprintf(format, args...))
	}
}

// ready reports how long opening took, from the file's first byte read.
func (o *opening) ready() {
	o.say("ready in %.1f s", time.Since(o.start).Seconds())
}

// read reads r, of o.size bytes, into memory, writing it to also as it
// goes (a hash), and says how far it is at every quarter of a large file.
func (o *opening) read(r io.Reader, also io.Writer) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(int(o.size))
	w := io.MultiWriter(&buf, also)
	if o.notify == nil {
		_, err := io.Copy(w, r)
		return buf.Bytes(), err
	}
	const chunk = 16 << 20
	quarter := int64(1)
	for {
		_, err := io.CopyN(w, r, chunk)
		for done := int64(buf.Len()); quarter < 4 && done >= quarter*o.size/4; quarter++ {
			o.say("%d%% read", 25*quarter)
		}
		if err == io.EOF {
			return buf.Bytes(), nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// verifyFile reads the model file f of fsys and checks its hash; what names
// the model in the lines a large file sends to notify.
func verifyFile(fsys fs.FS, f File, what string, notify func(string)) ([]byte, *opening, error) {
	file, err := fsys.Open(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("%s lists %s, which is missing", ManifestFile, f.Path)
	}
	if err != nil {
		return nil, nil, err
	}
	defer file.Close()
	h := sha256.New()
	data, o, err := readAll(file, what, notify, h, func(size string) string {
		return "reading " + f.Path + " (" + size + ") and checking its SHA-256"
	})
	if err != nil {
		return nil, nil, err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != f.SHA256 {
		return nil, nil, fmt.Errorf("%s has sha256 %s, but %s expects %s; the file is corrupt or was replaced (fetch it again, or update %s if the change is intended)", f.Path, got, ManifestFile, f.SHA256, ManifestFile)
	}
	return data, o, nil
}

// readBare reads a bare .onnx file, which has no hash to check.
func readBare(path string, notify func(string)) ([]byte, *opening, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer file.Close()
	return readAll(file, path, notify, io.Discard, func(size string) string { return "reading it (" + size + ")" })
}

// readAll reads an open model file into memory, writing it to also as it
// goes; first, given the file's size, is the first line a large file sends
// to notify.
func readAll(file fs.File, what string, notify func(string), also io.Writer, first func(size string) string) ([]byte, *opening, error) {
	info, err := file.Stat()
	if err != nil {
		return nil, nil, err
	}
	o := newOpening(notify, what, info.Size())
	o.say("%s", first(sizeString(o.size)))
	data, err := o.read(file, also)
	return data, o, err
}

// sizeString is a byte count for people: 1.2 GB, 340 MB.
func sizeString(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.0f MB", float64(n)/1e6)
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}
