package restore

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// The fuzz targets feed the readers of untrusted files arbitrary bytes: none
// may panic, and what they return must be consistent. MaxPixels is lowered
// so that each input decodes quickly; the limit itself bounds allocation.

// fuzzSeeds adds every file matching the patterns as a seed input.
func fuzzSeeds(f *testing.F, patterns ...string) {
	f.Helper()
	for _, p := range patterns {
		paths, err := filepath.Glob(p)
		if err != nil {
			f.Fatal(err)
		}
		for _, path := range paths {
			b, err := os.ReadFile(path)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
}

func fuzzLimit(t testing.TB) {
	old := MaxPixels
	MaxPixels = 1 << 16
	t.Cleanup(func() { MaxPixels = old })
}

func FuzzNPY(f *testing.F) {
	fuzzSeeds(f, "testdata/metric_*.npy")
	f.Add([]byte("\x93NUMPY\x01\x00\x76\x00{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }"))
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzLimit(t)
		shape, data, data64, err := npyDecode(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		if n, ok := npyCount(shape); !ok || n != len(data) || (data64 != nil && len(data64) != n) {
			t.Fatalf("shape %v with %d values (%d in float64)", shape, len(data), len(data64))
		}
		var buf bytes.Buffer
		if err := npyEncode(&buf, shape, data); err != nil {
			t.Fatalf("cannot write back what was read: %v", err)
		}
	})
}

func FuzzNPZ(f *testing.F) {
	fuzzSeeds(f, "testdata/*.npz", "../models/testdata/*.npz")
	var buf bytes.Buffer
	if err := writeNPZTo(&buf, []NPZArray{{Name: "a", Shape: []int{2, 2}, Data: []float32{1, 2, 3, 4}}}, nil); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzLimit(t)
		arrays, err := readNPZ(bytes.NewReader(b), int64(len(b)), "fuzz.npz")
		if err != nil {
			return
		}
		for name, a := range arrays {
			if n, ok := npyCount(a.Shape); !ok || n != len(a.Data) || a.Name != name {
				t.Fatalf("array %q: shape %v with %d values", name, a.Shape, len(a.Data))
			}
		}
	})
}

func FuzzPicture(f *testing.F) {
	fuzzSeeds(f, "../samples/*.png")
	for _, m := range []image.Image{
		image.NewGray16(image.Rect(0, 0, 3, 2)),
		image.NewNRGBA(image.Rect(0, 0, 2, 5)),
		image.NewPaletted(image.Rect(0, 0, 4, 4), color.Palette{color.Black, color.White}),
	} {
		var b bytes.Buffer
		if err := png.Encode(&b, m); err != nil {
			f.Fatal(err)
		}
		f.Add(b.Bytes())
		b.Reset()
		if err := jpeg.Encode(&b, m, nil); err != nil {
			f.Fatal(err)
		}
		f.Add(b.Bytes())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzLimit(t)
		x, keep, _, err := ioDecodePicture("fuzz.png", b)
		if err != nil {
			return
		}
		s := x.Shape
		if x.N != 1 || (s.C != 1 && s.C != 3) || len(x.Data) != s.Len() || int64(s.H)*int64(s.W) > int64(MaxPixels) {
			t.Fatalf("decoded %d images of %v with %d values", x.N, s, len(x.Data))
		}
		if keep != nil && len(keep) != s.H*s.W {
			t.Fatalf("mask of %d entries for %dx%d", len(keep), s.W, s.H)
		}
		for _, v := range x.Data {
			if !(v >= 0 && v <= 1) {
				t.Fatalf("value %g outside [0, 1]", v)
			}
		}
	})
}

func FuzzMeasurementNPZ(f *testing.F) {
	dir := f.TempDir()
	path := filepath.Join(dir, "y.npz")
	y := ioTestTensor(1, Shape{C: 3, H: 4, W: 6}, 2)
	if err := SaveMeasurement(path, y, ioTestKeep(4, 6), MeasurementInfo{Task: "inpaint", Operator: "keep", SigmaY: 0.05, Height: 4, Width: 6}); err != nil {
		f.Fatal(err)
	}
	fuzzSeeds(f, path)
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzLimit(t)
		m, err := decodeMeasurementNPZ(bytes.NewReader(b), int64(len(b)), "fuzz.npz")
		if err != nil {
			return
		}
		s := m.Y.Shape
		if len(m.Y.Data) != m.Y.N*s.Len() || m.Info == nil || (m.Keep != nil && len(m.Keep) != s.H*s.W) {
			t.Fatalf("y %d x %v with %d values, info %v, mask of %d", m.Y.N, s, len(m.Y.Data), m.Info, len(m.Keep))
		}
	})
}
