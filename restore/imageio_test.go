package restore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// ioTestTensor returns a batch of values spread over [0, 1], fixed by seed.
func ioTestTensor(n int, s Shape, seed uint64) *Tensor {
	rng := rand.New(rand.NewPCG(seed, 7))
	t := NewTensor(n, s)
	for i := range t.Data {
		t.Data[i] = rng.Float32()
	}
	return t
}

// ioTestKeep returns an irregular mask with some pixels missing.
func ioTestKeep(h, w int) []bool {
	keep := make([]bool, h*w)
	for i := range keep {
		keep[i] = (i*7)%5 != 0
	}
	return keep
}

func ioMaxDiff(a, b []float32) float64 {
	var d float64
	for i := range a {
		d = max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

// ioTestNPY writes an .npy file with a hand-made header dict and payload, for
// the variants SaveImage never writes.
func ioTestNPY(t *testing.T, path, dict string, payload []byte) {
	t.Helper()
	header := dict + strings.Repeat(" ", 63-(10+len(dict))%64) + "\n"
	b := []byte("\x93NUMPY\x01\x00")
	b = binary.LittleEndian.AppendUint16(b, uint16(len(header)))
	b = append(b, header...)
	if err := os.WriteFile(path, append(b, payload...), 0o644); err != nil {
		t.Fatal(err)
	}
}

func ioWritePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPNGRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []int{1, 3} {
		in := ioTestTensor(1, Shape{C: c, H: 13, W: 17}, uint64(c))
		in.Data[0], in.Data[1] = -0.5, 1.5 // clipped on save
		path := filepath.Join(dir, "img.png")
		if err := SaveImage(path, in, nil); err != nil {
			t.Fatal(err)
		}
		out, err := LoadImage(path)
		if err != nil {
			t.Fatal(err)
		}
		if out.N != 1 || out.Shape != in.Shape {
			t.Fatalf("%d channels: loaded %d x %v, saved 1 x %v", c, out.N, out.Shape, in.Shape)
		}
		in.Clamp(0, 1)
		if d := ioMaxDiff(in.Data, out.Data); d > 1.0/510+1e-7 {
			t.Errorf("%d channels: PNG round trip error %v, want at most 1/510", c, d)
		}
		// Multiples of 1/255 are stored exactly.
		if err := SaveImage(path, out, nil); err != nil {
			t.Fatal(err)
		}
		again, err := LoadImage(path)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(again.Data, out.Data) {
			t.Errorf("%d channels: 8-bit values changed on a second round trip", c)
		}
	}
}

func TestNPYRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		n, c  int
		shape []int
	}{
		{1, 1, []int{1, 5, 7}},
		{1, 3, []int{3, 5, 7}},
		{2, 3, []int{2, 3, 5, 7}},
	} {
		in := ioTestTensor(tc.n, Shape{C: tc.c, H: 5, W: 7}, 3)
		path := filepath.Join(dir, "img.npy")
		if err := SaveImage(path, in, nil); err != nil {
			t.Fatal(err)
		}
		shape, _, err := npyReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(shape, tc.shape) {
			t.Errorf("saved shape %v, want %v", shape, tc.shape)
		}
		out, err := LoadImage(path)
		if err != nil {
			t.Fatal(err)
		}
		if out.N != in.N || out.Shape != in.Shape || !slices.Equal(out.Data, in.Data) {
			t.Errorf("npy round trip of %d x %v is not exact", in.N, in.Shape)
		}
	}
}

func TestMeasurementMaskRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, ext := range []string{".png", ".npy"} {
		for _, c := range []int{1, 3} {
			in := ioTestTensor(1, Shape{C: c, H: 6, W: 9}, 11)
			keep := ioTestKeep(6, 9)
			path := filepath.Join(dir, "y"+ext)
			if err := SaveImage(path, in, keep); err != nil {
				t.Fatal(err)
			}
			m, err := LoadMeasurement(path)
			if err != nil {
				t.Fatal(err)
			}
			y, gotKeep := m.Y, m.Keep
			if y.Shape != in.Shape || !slices.Equal(gotKeep, keep) {
				t.Fatalf("%s, %d channels: got shape %v and mask %v, want %v and %v", ext, c, y.Shape, gotKeep, in.Shape, keep)
			}
			want := in.Clone()
			ioZeroMissing(want, keep)
			tol := 0.0
			if ext == ".png" {
				tol = 1.0/510 + 1e-7
			}
			if d := ioMaxDiff(y.Data, want.Data); d > tol {
				t.Errorf("%s, %d channels: values differ by %v (missing pixels must be 0)", ext, c, d)
			}
		}
	}
}

func TestMeasurementWithoutMissingPixels(t *testing.T) {
	dir := t.TempDir()
	in := ioTestTensor(1, Shape{C: 3, H: 4, W: 5}, 5)
	all := make([]bool, 20)
	for i := range all {
		all[i] = true
	}
	for _, tc := range []struct {
		name string
		keep []bool
	}{{"plain.png", nil}, {"allkept.png", all}, {"plain.npy", nil}, {"allkept.npy", all}} {
		path := filepath.Join(dir, tc.name)
		if err := SaveImage(path, in, tc.keep); err != nil {
			t.Fatal(err)
		}
		m, err := LoadMeasurement(path)
		if err != nil {
			t.Fatal(err)
		}
		if keep := m.Keep; keep != nil {
			t.Errorf("%s: keep = %v, want nil when no pixel is missing", tc.name, keep)
		}
	}
}

func TestMeasurementAlphaKeepsUnpremultipliedColour(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	img.SetNRGBA(0, 0, color.NRGBA{R: 200, G: 100, B: 50, A: 128})
	img.SetNRGBA(1, 0, color.NRGBA{R: 10, G: 20, B: 30, A: 0})
	path := filepath.Join(t.TempDir(), "alpha.png")
	ioWritePNG(t, path, img)
	m, err := LoadMeasurement(path)
	if err != nil {
		t.Fatal(err)
	}
	y, keep := m.Y, m.Keep
	want := []float32{200.0 / 255, 0, 100.0 / 255, 0, 50.0 / 255, 0}
	if !slices.Equal(keep, []bool{true, false}) || !slices.Equal(y.Data, want) {
		t.Errorf("got keep %v and values %v, want [true false] and %v", keep, y.Data, want)
	}
	// LoadImage ignores alpha.
	x, err := LoadImage(path)
	if err != nil {
		t.Fatal(err)
	}
	if x.Data[1] != 10.0/255 {
		t.Errorf("LoadImage gave %v for a transparent pixel, want its stored colour %v", x.Data[1], 10.0/255)
	}
}

func TestMeasurementBatchNaN(t *testing.T) {
	dir := t.TempDir()
	in := ioTestTensor(2, Shape{C: 3, H: 3, W: 4}, 2)
	in.Data[0] = float32(math.NaN()) // image 0, red channel, pixel 0
	in.Data[3*12+0] = float32(math.NaN())
	in.Data[3*12+12+5] = float32(math.NaN()) // image 1, green, pixel 5 only
	path := filepath.Join(dir, "batch.npy")
	if err := SaveImage(path, in, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadMeasurement(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("images with different missing pixels: got %v, want an error naming the file", err)
	}
	in.Data[5] = float32(math.NaN()) // image 0 now misses pixel 5 too
	if err := SaveImage(path, in, nil); err != nil {
		t.Fatal(err)
	}
	m, err := LoadMeasurement(path)
	if err != nil {
		t.Fatal(err)
	}
	y, keep := m.Y, m.Keep
	for i, k := range keep {
		if k == (i == 0 || i == 5) {
			t.Fatalf("keep = %v, want pixels 0 and 5 missing", keep)
		}
	}
	for j, v := range y.Data {
		if p := j % 12; (p == 0 || p == 5) && v != 0 {
			t.Errorf("value %d of a missing pixel is %v, want 0", j, v)
		}
	}
}

func TestLoadMask(t *testing.T) {
	dir := t.TempDir()
	gray := image.NewGray(image.Rect(0, 0, 3, 2))
	copy(gray.Pix, []uint8{0, 255, 127, 128, 3, 250})
	ioWritePNG(t, filepath.Join(dir, "gray.png"), gray)
	rgb := image.NewRGBA(image.Rect(0, 0, 2, 2))
	rgb.SetRGBA(0, 0, color.RGBA{255, 0, 0, 255}) // luminance 0.299
	rgb.SetRGBA(1, 0, color.RGBA{0, 255, 0, 255}) // 0.587
	rgb.SetRGBA(0, 1, color.RGBA{255, 255, 255, 255})
	rgb.SetRGBA(1, 1, color.RGBA{0, 0, 0, 255})
	ioWritePNG(t, filepath.Join(dir, "rgb.png"), rgb)
	for name, want := range map[string][]bool{
		"gray.png": {false, true, false, true, false, true},
		"rgb.png":  {false, true, true, false},
	} {
		got, err := LoadMask(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: mask %v, want %v", name, got, want)
		}
	}
}

func TestLoadImageKinds(t *testing.T) {
	dir := t.TempDir()
	g16 := image.NewGray16(image.Rect(0, 0, 2, 1))
	g16.SetGray16(1, 0, color.Gray16{Y: 0x1234})
	ioWritePNG(t, filepath.Join(dir, "gray16.png"), g16)
	im, err := LoadImage(filepath.Join(dir, "gray16.png"))
	if err != nil {
		t.Fatal(err)
	}
	if im.Shape.C != 1 || im.Data[1] != float32(0x1234)/65535 {
		t.Errorf("16-bit gray PNG: shape %v, value %v; want 1 channel and %v", im.Shape, im.Data[1], float32(0x1234)/65535)
	}

	for _, tc := range []struct {
		name string
		img  image.Image
		c    int
	}{
		{"gray.jpg", image.NewGray(image.Rect(0, 0, 16, 8)), 1},
		{"rgb.jpeg", image.NewRGBA(image.Rect(0, 0, 16, 8)), 3},
	} {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, tc.img, nil); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, tc.name)
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		im, err := LoadImage(path)
		if err != nil {
			t.Fatal(err)
		}
		if im.Shape != (Shape{C: tc.c, H: 8, W: 16}) {
			t.Errorf("%s: shape %v, want %dx8x16", tc.name, im.Shape, tc.c)
		}
	}
}

func TestLoadImageAppliesEXIFOrientation(t *testing.T) {
	// 16 wide, 8 high: left half white, right half black.
	img := image.NewGray(image.Rect(0, 0, 16, 8))
	for y := range 8 {
		for x := range 8 {
			img.SetGray(x, y, color.Gray{Y: 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	// APP1 Exif segment with one little-endian IFD entry: Orientation (0x0112)
	// = 6, "rotate 90 degrees clockwise to display".
	exif := []byte("\xff\xe1\x00\x22Exif\x00\x00II*\x00\x08\x00\x00\x00" +
		"\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00\x06\x00\x00\x00\x00\x00\x00\x00")
	b := slices.Concat(buf.Bytes()[:2], exif, buf.Bytes()[2:])
	path := filepath.Join(t.TempDir(), "rotated.jpg")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	im, err := LoadImage(path)
	if err != nil {
		t.Fatal(err)
	}
	if im.Shape != (Shape{C: 1, H: 16, W: 8}) {
		t.Fatalf("shape %v, want 1x16x8 after the EXIF rotation", im.Shape)
	}
	// Turned clockwise, the white left half becomes the top half.
	if top, bottom := im.Data[3*8+4], im.Data[12*8+4]; top < 0.9 || bottom > 0.1 {
		t.Errorf("top %v, bottom %v: want white above black", top, bottom)
	}
}

func TestLoadErrorsNameFileAndProblem(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }

	good := filepath.Join(dir, "good.png")
	if err := SaveImage(good, ioTestTensor(1, Shape{C: 3, H: 20, W: 20}, 1), nil); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(good)
	os.WriteFile(p("truncated.png"), b[:len(b)/2], 0o644)
	os.WriteFile(p("notes.txt"), []byte("hello"), 0o644)
	os.WriteFile(p("text.jpg"), []byte("hello"), 0o644)
	f32 := func(vs ...float32) []byte {
		var out []byte
		for _, v := range vs {
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
		}
		return out
	}
	ioTestNPY(t, p("int.npy"), "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }", make([]byte, 16))
	ioTestNPY(t, p("rank1.npy"), "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", f32(0, 0, 0, 0))
	ioTestNPY(t, p("hwc.npy"), "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2, 3), }", make([]byte, 48))
	ioTestNPY(t, p("bytes.npy"), "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", f32(0, 12, 255, 3))
	ioTestNPY(t, p("nan.npy"), "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", f32(0, float32(math.NaN()), 1, 0))
	ioTestNPY(t, p("short.npy"), "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", f32(0, 1, 1))
	ioTestNPY(t, p("huge.npy"), "{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000, 3), }", f32(0))
	ioTestNPY(t, p("keys.npy"), "{'shape': (2, 2), 'fortran_order': False, 'descr': '<f4'}", f32(0, 0, 0, 0))
	os.WriteFile(p("nonewline.npy"), []byte("\x93NUMPY\x01\x00\x08\x00{'descr'"), 0o644)
	os.WriteFile(p("v2huge.npy"), []byte("\x93NUMPY\x02\x00\xff\xff\xff\x7f{'descr'"), 0o644)

	for _, tc := range []struct{ file, want string }{
		{"absent.png", "does not exist"},
		{"truncated.png", "is not a readable PNG or JPEG (truncated or corrupt?)"},
		{"text.jpg", "is not a readable PNG or JPEG"},
		{"notes.txt", "unsupported file type"},
		{"int.npy", "only float32 and float64"},
		{"rank1.npy", "[H, W], [C, H, W] or [N, C, H, W]"},
		{"hwc.npy", "transpose(2, 0, 1)"},
		{"bytes.npy", "a / 255"},
		{"nan.npy", "NaN"},
		{"short.npy", "truncated"},
		{"huge.npy", "does not fit"},
		{"keys.npy", "malformed npy header"},
		{"nonewline.npy", "malformed npy header"},
		{"v2huge.npy", "header is longer than the file"},
	} {
		_, err := LoadImage(p(tc.file))
		if err == nil {
			t.Errorf("%s: LoadImage succeeded, want an error", tc.file)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, p(tc.file)) || !strings.Contains(msg, tc.want) {
			t.Errorf("%s: error %q should name the file and say %q", tc.file, msg, tc.want)
		}
	}
}

func TestLoadImageNPYVariants(t *testing.T) {
	dir := t.TempDir()
	// A 2x3 gray image in Fortran (column-major) order, float64, big-endian.
	var payload []byte
	for _, v := range []float64{0, 0.5, 0.125, 0.625, 0.25, 0.75} { // columns of [[0 .125 .25] [.5 .625 .75]]
		payload = binary.BigEndian.AppendUint64(payload, math.Float64bits(v))
	}
	path := filepath.Join(dir, "fortran.npy")
	ioTestNPY(t, path, "{'descr': '>f8', 'fortran_order': True, 'shape': (2, 3), }", payload)
	im, err := LoadImage(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := []float32{0, 0.125, 0.25, 0.5, 0.625, 0.75}; im.Shape != (Shape{C: 1, H: 2, W: 3}) || !slices.Equal(im.Data, want) {
		t.Errorf("got %v %v, want 1x2x3 %v", im.Shape, im.Data, want)
	}
	// Rounding just outside [0, 1] is clamped.
	var small []byte
	for _, v := range []float32{-1e-5, 1 + 1e-5} {
		small = binary.LittleEndian.AppendUint32(small, math.Float32bits(v))
	}
	path = filepath.Join(dir, "edge.npy")
	ioTestNPY(t, path, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }", small)
	im, err = LoadImage(path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(im.Data, []float32{0, 1}) {
		t.Errorf("values %v, want them clamped to [0 1]", im.Data)
	}
}

func TestSaveImageErrors(t *testing.T) {
	dir := t.TempDir()
	one := ioTestTensor(1, Shape{C: 3, H: 4, W: 4}, 1)
	nanImg := one.Clone()
	nanImg.Data[5] = float32(math.NaN())
	missing := filepath.Join(dir, "no", "such", "folder", "out.png")
	for _, tc := range []struct {
		path string
		t    *Tensor
		keep []bool
		want string
	}{
		{missing, one, nil, "the folder " + filepath.Dir(missing) + " does not exist; create it first"},
		{filepath.Join(dir, "batch.png"), ioTestTensor(2, Shape{C: 3, H: 4, W: 4}, 1), nil, "use .npy"},
		{filepath.Join(dir, "mask.png"), one, make([]bool, 3), "one entry per pixel"},
		{filepath.Join(dir, "out.jpg"), one, nil, "unsupported file type"},
		{filepath.Join(dir, "nan.png"), nanImg, nil, "NaN"},
		{filepath.Join(dir, "four.png"), NewTensor(1, Shape{C: 4, H: 2, W: 2}), nil, "1 or 3 channels"},
	} {
		err := SaveImage(tc.path, tc.t, tc.keep)
		if err == nil || !strings.Contains(err.Error(), tc.path) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("SaveImage(%s): error %v, want one naming the file and saying %q", tc.path, err, tc.want)
		}
		if _, err := os.Stat(tc.path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("SaveImage(%s) failed but left a file (stat: %v)", tc.path, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "no")); !errors.Is(err, os.ErrNotExist) {
		t.Error("SaveImage created the missing output folder")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 0 {
		t.Errorf("failed saves left %v behind", ents)
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.bin")
	if err := WriteFileAtomic(path, func(w io.Writer) error {
		_, err := io.WriteString(w, "old")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("written file: %v, %v; want mode 0644", st, err)
	}
	boom := errors.New("boom")
	err := WriteFileAtomic(path, func(w io.Writer) error {
		io.WriteString(w, strings.Repeat("partial ", 100000)) // past the buffer, onto disk
		return boom
	})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), path) {
		t.Errorf("error %v, want the writer's error with the file name", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("a failed write changed the file to %d bytes, want the old content kept", len(b))
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("folder holds %v, want only out.bin (no temporary file left)", ents)
	}
	if err := WriteFileAtomic(filepath.Join(dir, "new.bin"), func(io.Writer) error { return boom }); err == nil {
		t.Error("failing writer gave no error")
	}
	if _, err := os.Stat(filepath.Join(dir, "new.bin")); !errors.Is(err, os.ErrNotExist) {
		t.Error("a failed write created the file")
	}
}

func TestMeasurementRange(t *testing.T) {
	dir := t.TempDir()
	noisy := NewTensor(1, Shape{C: 1, H: 1, W: 3})
	copy(noisy.Data, []float32{-0.3, 0.5, 1.4})
	path := filepath.Join(dir, "noisy.npy")
	if err := SaveImage(path, noisy, nil); err != nil {
		t.Fatal(err)
	}
	m, err := LoadMeasurement(path)
	if err != nil || !slices.Equal(m.Y.Data, noisy.Data) || m.Quantisation != 0 {
		t.Errorf("noisy measurement: got %v, %v; want its values unchanged and no rounding noise", m, err)
	}
	if _, err := LoadImage(path); err == nil {
		t.Error("LoadImage accepted values outside [0, 1]")
	}
	noisy.Data[2] = 255
	if err := SaveImage(path, noisy, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadMeasurement(path); err == nil || !strings.Contains(err.Error(), "a / 255") {
		t.Errorf("measurement on the 0..255 scale: error %v, want a rescaling hint", err)
	}
}

// TestMeasurementQuantisation checks the rounding noise each kind of file
// reports: 8 bits for PNG and JPEG, 16 bits for 16-bit PNGs, none for .npy.
func TestMeasurementQuantisation(t *testing.T) {
	dir := t.TempDir()
	deep := image.NewRGBA64(image.Rect(0, 0, 3, 2))
	deep.SetRGBA64(1, 1, color.RGBA64{R: 1000, G: 2000, B: 3000, A: 65535})
	ioWritePNG(t, filepath.Join(dir, "deep.png"), deep)
	ioWritePNG(t, filepath.Join(dir, "flat.png"), image.NewNRGBA(image.Rect(0, 0, 3, 2)))
	if err := SaveImage(filepath.Join(dir, "exact.npy"), ioTestTensor(1, Shape{C: 3, H: 2, W: 3}, 1), nil); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float64{"deep.png": 1 / (65535 * math.Sqrt(12)), "flat.png": 1 / (255 * math.Sqrt(12)), "exact.npy": 0} {
		m, err := LoadMeasurement(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(m.Quantisation-want) > 1e-12 {
			t.Errorf("%s: quantisation %g, want %g", name, m.Quantisation, want)
		}
	}
	if got := MeasurementSigma(0.05, QuantisationSigma); math.Abs(got-math.Hypot(0.05, 1/(255*math.Sqrt(12)))) > 1e-15 {
		t.Errorf("MeasurementSigma = %g, want the quadrature sum", got)
	}
}

// TestCheckOutputNamesTheUsersPath: an unwritable output is refused before
// any work, naming the path given and never a temporary file.
func TestCheckOutputNamesTheUsersPath(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "afile")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	readOnly := filepath.Join(dir, "ro")
	if err := os.Mkdir(readOnly, 0o555); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ path, want string }{
		{filepath.Join(file, "x.png"), "is a file, not a folder"},
		{dir, "it is a folder"},
		{filepath.Join(dir, "none", "x.png"), "does not exist"},
	}
	if os.Geteuid() != 0 {
		// root writes into read-only folders.
		cases = append(cases, struct{ path, want string }{filepath.Join(readOnly, "x.png"), "does not take new files"})
	}
	if st, err := os.Stat("/proc/self"); err == nil && st.IsDir() {
		// Nobody creates files in procfs.
		cases = append(cases, struct{ path, want string }{"/proc/x.png", "does not take new files"})
	}
	for _, tc := range cases {
		err := CheckOutput(tc.path)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.path) || strings.Contains(err.Error(), ".tmp") {
			t.Errorf("%s: %v; want an error naming it and %q", tc.path, err, tc.want)
		}
	}
	if err := CheckOutput(filepath.Join(dir, "fine.png")); err != nil {
		t.Errorf("a writable path: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("the check left files behind: %v", entries)
	}
}

func TestMeasurementNPZRoundTrip(t *testing.T) {
	dir := t.TempDir()
	y := ioTestTensor(1, Shape{C: 3, H: 4, W: 6}, 9)
	keep := ioTestKeep(4, 6)
	info := MeasurementInfo{Task: "inpaint", Operator: "keep", SigmaY: 0.05, Seed: 7, Height: 4, Width: 6, PadRight: 1}
	path := filepath.Join(dir, "y.npz")
	if err := SaveMeasurement(path, y, keep, info); err != nil {
		t.Fatal(err)
	}
	m, err := LoadMeasurement(path)
	if err != nil {
		t.Fatal(err)
	}
	info.Format = 1
	if *m.Info != info || m.Quantisation != 0 || !slices.Equal(m.Keep, keep) {
		t.Errorf("read back %+v, %v; want %+v", *m.Info, m.Keep, info)
	}
	want := y.Clone()
	ioZeroMissing(want, keep)
	if !slices.Equal(m.Y.Data, want.Data) {
		t.Error("y changed in the round trip")
	}
	// numpy reads it: y as an array, meta.json as bytes.
	if _, err := exec.LookPath("/usr/bin/python3"); err == nil {
		out, err := exec.Command("/usr/bin/python3", "-c", `import json, sys, numpy as np
f = np.load(sys.argv[1])
print(f["y"].shape, json.loads(bytes(f["meta.json"]))["task"], int(f["keep"].sum()))`, path).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != fmt.Sprintf("(3, 4, 6) inpaint %d", countKept(keep)) {
			t.Errorf("numpy reads %q (%v)", out, err)
		}
	}
	if err := SaveMeasurement(filepath.Join(dir, "y.npy"), y, nil, info); err == nil {
		t.Error("a measurement with info saved as .npy")
	}
}

func countKept(keep []bool) int {
	n := 0
	for _, k := range keep {
		if k {
			n++
		}
	}
	return n
}

// hugePicture is a valid 8-bit gray PNG of 20000x20000 black pixels: 389 KB
// of file, 400 MB of pixels, 4.8 GB as a float32 colour image.
const hugePicture = "testdata/huge_20000x20000.png"

func TestHugePictureRefusedBeforeDecoding(t *testing.T) {
	path := hugePicture
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := LoadImage(path)
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatal("a 20000x20000 image was accepted")
	}
	for _, want := range []string{path, "20000x20000", "400.0 megapixels", MaxPixelsEnv} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 64<<20 {
		t.Errorf("refusing the image allocated %d MB", grown>>20)
	}

	old := MaxPixels
	defer func() { MaxPixels = old }()
	MaxPixels = 4
	small := ioTestTensor(1, Shape{C: 3, H: 3, W: 2}, 1)
	png, npy := filepath.Join(t.TempDir(), "small.png"), filepath.Join(t.TempDir(), "small.npy")
	for _, p := range []string{png, npy} {
		if err := SaveImage(p, small, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadImage(p); err == nil || !strings.Contains(err.Error(), "2x3 pixels") {
			t.Errorf("%s, 2x3, with a limit of 4 pixels: %v", filepath.Base(p), err)
		}
	}
	MaxPixels = 0
	if _, err := LoadImage(npy); err != nil {
		t.Errorf("no limit: %v", err)
	}
}

func TestMaxPixelsFromEnv(t *testing.T) {
	old := MaxPixels
	defer func() { MaxPixels = old }()
	t.Setenv(MaxPixelsEnv, "12_000_000")
	if err := MaxPixelsFromEnv(); err != nil || MaxPixels != 12_000_000 {
		t.Errorf("got %d, %v", MaxPixels, err)
	}
	t.Setenv(MaxPixelsEnv, "lots")
	if err := MaxPixelsFromEnv(); err == nil || !strings.Contains(err.Error(), "lots") {
		t.Errorf("a bad value: %v", err)
	}
}
