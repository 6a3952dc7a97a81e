package restore

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/disintegration/imaging"
)

// Value bounds for .npy inputs, which unlike 8-bit files can hold any scale.
const (
	// ioImageTol is how far outside [0, 1] an image value may lie (rounding
	// in other tools) before the array is taken to be on another scale.
	// Values within it are clamped.
	ioImageTol = 1e-3
	// Measurement noise legitimately takes values outside [0, 1]; beyond
	// these bounds the array is taken to be on another scale (0..255).
	ioMeasurementLo = -1
	ioMeasurementHi = 2
)

// LoadImage reads an image file as a batch with values in [0, 1].
//
// PNG and JPEG files (.png, .jpg, .jpeg) give one image, turned upright
// according to their EXIF orientation. Grayscale files (gray PNGs with or
// without alpha, one-component JPEGs) give 1 channel, all others 3. 8-bit
// files give multiples of 1/255, 16-bit PNGs multiples of 1/65535. Alpha is
// ignored; LoadMeasurement reads it as a mask of missing pixels.
//
// .npy files hold a float32 or float64 array shaped [H, W] (gray),
// [C, H, W] or [N, C, H, W] with C = 1 or 3. Values must lie in [0, 1]; those
// less than 0.001 outside are clamped, anything else, NaN included, is an
// error.
func LoadImage(path string) (*Tensor, error) {
	t, _, kind, err := ioLoad(path)
	if err != nil {
		return nil, err
	}
	if kind == ioNPY {
		if err := ioCheckValues(path, t.Data, -ioImageTol, 1+ioImageTol, "[0, 1]"); err != nil {
			return nil, err
		}
		t.Clamp(0, 1)
	}
	return t, nil
}

// Measurement is a measurement y read from a file.
type Measurement struct {
	// Y is the measurement on the [0, 1] scale; missing pixels are 0.
	Y *Tensor
	// Keep, when not nil, has one entry per pixel (H*W, row-major): true
	// where the pixel was observed. It is nil when no pixel is missing.
	Keep []bool
	// Quantisation is the standard deviation of the rounding the file's
	// storage added, on the [0, 1] scale: 1/(255 sqrt 12) for 8-bit PNG and
	// JPEG files, 1/(65535 sqrt 12) for 16-bit PNGs, 0 for .npy and .npz
	// arrays, which hold the values exactly. See MeasurementSigma.
	Quantisation float64
	// Info is what made the measurement, for the .npz files
	// SaveMeasurement writes; nil for other files.
	Info *MeasurementInfo
}

// LoadMeasurement reads a measurement y that may have missing pixels, as for
// inpainting. It reads the same files as LoadImage, and the .npz files
// SaveMeasurement writes, with what made them.
//
// In a PNG, pixels with alpha 0 are missing; any other alpha keeps the pixel
// with its un-premultiplied colour. In an .npy array, a pixel is missing if
// any of its channels is NaN; a batch must have the same missing pixels in
// every image. As measurement noise can leave [0, 1], .npy values may lie
// anywhere in [-1, 2].
func LoadMeasurement(path string) (*Measurement, error) {
	if strings.EqualFold(filepath.Ext(path), ".npz") {
		return loadMeasurementNPZ(path)
	}
	y, keep, kind, err := ioLoad(path)
	if err != nil {
		return nil, err
	}
	m := &Measurement{Y: y, Keep: keep}
	switch kind {
	case ioNPY:
		if m.Keep, err = ioNaNMask(path, y); err != nil {
			return nil, err
		}
	case ioDeep:
		m.Quantisation = QuantisationSigma16
	default:
		m.Quantisation = QuantisationSigma
	}
	if m.Keep != nil {
		ioZeroMissing(y, m.Keep)
	}
	if kind == ioNPY {
		if err := ioCheckValues(path, y.Data, ioMeasurementLo, ioMeasurementHi, "[-1, 2], the range of a noisy [0, 1] measurement"); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// LoadMask reads a mask image of one entry per pixel (H*W, row-major): true
// (kept) where the pixel is white, false (missing) where it is black. The
// threshold is 0.5 on the luminance 0.299 R + 0.587 G + 0.114 B for colour
// files, or on the value for gray ones; alpha is ignored. It reads the files
// LoadImage reads, holding a single image.
func LoadMask(path string) ([]bool, error) {
	t, err := LoadImage(path)
	if err != nil {
		return nil, err
	}
	if t.N != 1 {
		return nil, fmt.Errorf("%s holds %d images; a mask is a single image", path, t.N)
	}
	hw := t.Shape.H * t.Shape.W
	keep := make([]bool, hw)
	for i := range keep {
		lum := t.Data[i]
		if t.Shape.C == 3 {
			lum = 0.299*t.Data[i] + 0.587*t.Data[hw+i] + 0.114*t.Data[2*hw+i]
		}
		keep[i] = lum >= 0.5
	}
	return keep, nil
}

// SaveImage writes t to path, in the format its extension names, replacing
// the file atomically: a failed write leaves no partial file. The folder
// must exist.
//
// .png takes a single image of 1 (gray) or 3 (RGB) channels, clipped to
// [0, 1] and rounded to 8 bits. .npy writes float32 values exactly, shaped
// [C, H, W] for a single image and [N, C, H, W] for a batch.
//
// keep, when not nil, has one entry per pixel (H*W) and marks missing pixels
// with false: they get alpha 0 in a PNG (gray+alpha or RGBA) and NaN in every
// channel in an .npy array, which LoadMeasurement reads back.
func SaveImage(path string, t *Tensor, keep []bool) error {
	if t == nil || t.N < 1 || t.Shape.C < 1 || t.Shape.H < 1 || t.Shape.W < 1 || len(t.Data) != t.N*t.Shape.Len() {
		return fmt.Errorf("cannot save %s: the tensor is empty or its data do not match its shape", path)
	}
	s := t.Shape
	hw := s.H * s.W
	if keep != nil && len(keep) != hw {
		return fmt.Errorf("cannot save %s: the mask has %d entries but the image has %dx%d pixels; pass one entry per pixel", path, len(keep), s.H, s.W)
	}
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".png":
		if t.N != 1 {
			return fmt.Errorf("cannot save %d images as the single PNG %s; save each image to its own file, or use .npy", t.N, path)
		}
		if s.C != 1 && s.C != 3 {
			return fmt.Errorf("cannot save %s: a PNG holds 1 or 3 channels, the image has %d; use .npy", path, s.C)
		}
		for i, v := range t.Data {
			if v != v && (keep == nil || keep[i%hw]) {
				return fmt.Errorf("cannot save %s: pixel %d of channel %d is NaN, which a PNG cannot hold; fix the image, mark the pixel missing in the mask, or use .npy", path, i%hw, i/hw)
			}
		}
		return WriteFileAtomic(path, func(w io.Writer) error { return ioEncodePNG(w, t, keep) })
	case ".npy":
		shape := []int{s.C, s.H, s.W}
		if t.N > 1 {
			shape = append([]int{t.N}, shape...)
		}
		data := t.Data
		if keep != nil {
			data = make([]float32, len(t.Data))
			nan := float32(math.NaN())
			for i, v := range t.Data {
				if !keep[i%hw] {
					v = nan
				}
				data[i] = v
			}
		}
		return WriteFileAtomic(path, func(w io.Writer) error { return npyEncode(w, shape, data) })
	default:
		return fmt.Errorf("cannot save %s: unsupported file type %q; use .png or .npy", path, ext)
	}
}

// WriteFileAtomic creates or replaces path with what write produces, so that
// path only ever holds its old content or the complete new one: the data go
// to a temporary file in the same folder (hence on the same file system),
// which is synced and then renamed over path. On any failure the temporary
// file is removed. The folder must exist; it is not created, so that a
// mistyped output path is reported rather than silently made.
func WriteFileAtomic(path string, write func(io.Writer) error) error {
	if err := CheckOutput(path); err != nil {
		return err
	}
	// A hidden name ending in .tmp keeps globs for the real outputs off it.
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, ioCause(err))
	}
	tmp := f.Name()
	committed := false
	defer func() {
		if !committed {
			f.Close()
			os.Remove(tmp)
		}
	}()
	fail := func(err error) error { return fmt.Errorf("writing %s: %w", path, ioCause(err)) }
	bw := bufio.NewWriterSize(f, 1<<16)
	if err := write(bw); err != nil {
		return fail(err)
	}
	if err := bw.Flush(); err != nil {
		return fail(err)
	}
	// CreateTemp makes the file private (0600); outputs get the usual mode.
	if err := f.Chmod(0o644); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	committed = true
	return nil
}

// CheckOutput reports, before any work is done, why a file could not be
// written at path: its folder is missing, is not a folder or does not take
// new files (a read-only mount, a system folder), or path itself is a
// folder. It creates and removes a hidden file in the folder to find out.
func CheckOutput(path string) error {
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("cannot write %s: the folder %s does not exist; create it first (mkdir -p %s)", path, dir, dir)
	case err != nil:
		return fmt.Errorf("cannot write %s: %w", path, ioCause(err))
	case !st.IsDir():
		return fmt.Errorf("cannot write %s: %s is a file, not a folder", path, dir)
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return fmt.Errorf("cannot write %s: it is a folder; give a file name inside it, such as %s", path, filepath.Join(path, "out.png"))
	}
	f, err := os.CreateTemp(dir, ".restorelab-check-*")
	if err != nil {
		return fmt.Errorf("cannot write %s: the folder %s does not take new files (%v)", path, dir, ioCause(err))
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// ioCause strips the file name from an error about a temporary file, so
// that messages name the user's path only.
func ioCause(err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		return pe.Err
	case errors.As(err, &le):
		return le.Err
	}
	return err
}

// ioKind is what kind of file an image came from.
type ioKind int

const (
	ioPicture ioKind = iota // an 8-bit PNG or a JPEG
	ioDeep                  // a 16-bit PNG
	ioNPY
)

// ioLoad reads an image file by its extension without checking values.
// For PNG and JPEG files keep marks the pixels with non-zero alpha, nil if
// none is transparent; .npy arrays may hold NaN and values out of range.
func ioLoad(path string) (t *Tensor, keep []bool, kind ioKind, err error) {
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".png", ".jpg", ".jpeg":
		var deep bool
		t, keep, deep, err = ioReadPicture(path)
		if deep {
			kind = ioDeep
		}
		return t, keep, kind, err
	case ".npy":
		t, err = ioReadNPYImage(path)
		return t, nil, ioNPY, err
	default:
		return nil, nil, 0, fmt.Errorf("cannot read %s: unsupported file type %q; use .png, .jpg, .jpeg or .npy", path, ext)
	}
}

// ioReadPicture decodes a PNG or JPEG file into one image in [0, 1], and
// reports whether it has 16 bits per sample.
func ioReadPicture(path string) (*Tensor, []bool, bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, false, ioOpenError(path, err)
	}
	return ioDecodePicture(path, b)
}

// ioDecodePicture decodes the PNG or JPEG file content b; path names it in
// errors.
func ioDecodePicture(path string, b []byte) (*Tensor, []bool, bool, error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, nil, false, ioUnreadable(path, err)
	}
	if err := CheckPixels(path, cfg.Height, cfg.Width); err != nil {
		return nil, nil, false, err
	}
	img, err := imaging.Decode(bytes.NewReader(b), imaging.AutoOrientation(true))
	if err != nil {
		return nil, nil, false, ioUnreadable(path, err)
	}
	gray, deep := ioPictureKind(b, cfg.ColorModel)
	bnd := img.Bounds()
	w, h := bnd.Dx(), bnd.Dy()
	c := 3
	if gray {
		c = 1
	}
	t := NewTensor(1, Shape{C: c, H: h, W: w})
	hw := h * w
	keep := make([]bool, hw)
	opaque := true
	for y := range h {
		for x := range w {
			// Converting to the non-premultiplied models gives the stored
			// colour of semi-transparent pixels, exactly for 8-bit files.
			px := img.At(bnd.Min.X+x, bnd.Min.Y+y)
			var r, g, bl float32
			var a uint16
			if deep {
				p := color.NRGBA64Model.Convert(px).(color.NRGBA64)
				r, g, bl, a = float32(p.R)/65535, float32(p.G)/65535, float32(p.B)/65535, p.A
			} else {
				p := color.NRGBAModel.Convert(px).(color.NRGBA)
				r, g, bl, a = float32(p.R)/255, float32(p.G)/255, float32(p.B)/255, uint16(p.A)
			}
			i := y*w + x
			keep[i] = a != 0
			opaque = opaque && keep[i]
			t.Data[i] = r
			if !gray {
				t.Data[hw+i] = g
				t.Data[2*hw+i] = bl
			}
		}
	}
	if opaque {
		keep = nil
	}
	return t, keep, deep, nil
}

// ioPictureKind reports whether an image file is grayscale and whether it has
// 16 bits per sample. PNGs are judged by their IHDR chunk, because Go decodes
// gray+alpha PNGs into a colour model.
func ioPictureKind(b []byte, m color.Model) (gray, deep bool) {
	const sig = "\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"
	if len(b) >= 26 && string(b[:len(sig)]) == sig {
		depth, colorType := b[24], b[25]
		return colorType == 0 || colorType == 4, depth == 16
	}
	gray = m == color.GrayModel || m == color.Gray16Model
	deep = m == color.Gray16Model || m == color.RGBA64Model || m == color.NRGBA64Model
	return gray, deep
}

func ioUnreadable(path string, err error) error {
	return fmt.Errorf("%s is not a readable PNG or JPEG (truncated or corrupt?): %w; export the image again", path, err)
}

// ioReadNPYImage reads an .npy array shaped [H, W], [C, H, W] or
// [N, C, H, W] as a batch.
func ioReadNPYImage(path string) (*Tensor, error) {
	shape, data, err := npyReadFile(path)
	if err != nil {
		return nil, err
	}
	return ioTensorFromArray(path, shape, data)
}

// ioTensorFromArray checks an array's shape as an image or batch of images.
func ioTensorFromArray(path string, shape []int, data []float32) (*Tensor, error) {
	var n, c, h, w int
	switch len(shape) {
	case 2:
		n, c, h, w = 1, 1, shape[0], shape[1]
	case 3:
		n, c, h, w = 1, shape[0], shape[1], shape[2]
	case 4:
		n, c, h, w = shape[0], shape[1], shape[2], shape[3]
	default:
		return nil, fmt.Errorf("%s holds an array of shape %s; images must be shaped [H, W], [C, H, W] or [N, C, H, W]", path, npyShapeString(shape))
	}
	if c != 1 && c != 3 {
		hint := ""
		if last := shape[len(shape)-1]; len(shape) > 2 && (last == 1 || last == 3) {
			hint = " (it looks channels-last: save a.transpose(2, 0, 1), or (0, 3, 1, 2) for a batch)"
		}
		return nil, fmt.Errorf("%s holds an array of shape %s with %d channels; images need 1 or 3 channels in [C, H, W] order%s", path, npyShapeString(shape), c, hint)
	}
	if n == 0 || h == 0 || w == 0 {
		return nil, fmt.Errorf("%s holds an empty array of shape %s; save a non-empty image", path, npyShapeString(shape))
	}
	return &Tensor{N: n, Shape: Shape{C: c, H: h, W: w}, Data: data}, nil
}

// ioCheckValues returns an error naming path if data hold NaN or values
// outside [lo, hi]; what describes the allowed range.
func ioCheckValues(path string, data []float32, lo, hi float64, what string) error {
	mn, mx := math.Inf(1), math.Inf(-1)
	for _, v := range data {
		f := float64(v)
		if math.IsNaN(f) {
			return fmt.Errorf("%s contains NaN values; an image must be finite (NaN marks missing pixels only in a measurement)", path)
		}
		mn, mx = min(mn, f), max(mx, f)
	}
	if mn < lo || mx > hi {
		return fmt.Errorf("%s has values from %g to %g, outside %s; rescale the array to [0, 1] (a / 255 for 8-bit data, (a + 1) / 2 for data in [-1, 1])", path, mn, mx, what)
	}
	return nil
}

// ioNaNMask returns the keep mask of the pixels of t that are not NaN in any
// channel, or nil if no value is NaN.
func ioNaNMask(path string, t *Tensor) ([]bool, error) {
	hw := t.Shape.H * t.Shape.W
	missing := make([]bool, t.N*hw)
	found := false
	for j, v := range t.Data {
		if v != v {
			img := j / t.Shape.Len()
			missing[img*hw+j%hw] = true
			found = true
		}
	}
	if !found {
		return nil, nil
	}
	for i, m := range missing[hw:] {
		if m != missing[i%hw] {
			return nil, fmt.Errorf("%s: image %d has NaN (missing) pixels where image 0 has none, or the reverse; the images of one measurement file share one mask, so save them to separate files", path, 1+i/hw)
		}
	}
	keep := make([]bool, hw)
	for i := range keep {
		keep[i] = !missing[i]
	}
	return keep, nil
}

// ioZeroMissing sets every channel of the pixels keep marks missing to 0.
func ioZeroMissing(t *Tensor, keep []bool) {
	hw := t.Shape.H * t.Shape.W
	for j := range t.Data {
		if !keep[j%hw] {
			t.Data[j] = 0
		}
	}
}

// ioEncodePNG writes one image of 1 or 3 channels as an 8-bit PNG, with an
// alpha channel when keep is not nil.
func ioEncodePNG(w io.Writer, t *Tensor, keep []bool) error {
	s := t.Shape
	hw := s.H * s.W
	quant := func(v float32) uint8 {
		return uint8(math.Floor(float64(min(max(v, 0), 1))*255 + 0.5))
	}
	kept := func(i int) bool { return keep == nil || keep[i] }
	switch {
	case s.C == 1 && keep != nil:
		pix := make([]byte, 2*hw)
		for i, v := range t.Data {
			if keep[i] {
				pix[2*i], pix[2*i+1] = quant(v), 255
			}
		}
		return ioEncodeGrayAlphaPNG(w, pix, s.W, s.H)
	case s.C == 1:
		img := image.NewGray(image.Rect(0, 0, s.W, s.H))
		for i, v := range t.Data {
			img.Pix[i] = quant(v)
		}
		return png.Encode(w, img)
	default:
		// NRGBA with alpha 255 everywhere is written as plain RGB.
		img := image.NewNRGBA(image.Rect(0, 0, s.W, s.H))
		for i := range hw {
			if kept(i) {
				img.Pix[4*i] = quant(t.Data[i])
				img.Pix[4*i+1] = quant(t.Data[hw+i])
				img.Pix[4*i+2] = quant(t.Data[2*hw+i])
				img.Pix[4*i+3] = 255
			}
		}
		return png.Encode(w, img)
	}
}

// ioEncodeGrayAlphaPNG writes an 8-bit gray+alpha PNG (colour type 4), which
// image/png cannot produce. pix holds gray and alpha bytes, row by row.
func ioEncodeGrayAlphaPNG(w io.Writer, pix []byte, width, height int) error {
	var idat bytes.Buffer
	zw := zlib.NewWriter(&idat)
	raw := make([]byte, 0, height*(1+2*width))
	for y := range height {
		raw = append(raw, 0) // filter type None
		raw = append(raw, pix[2*width*y:2*width*(y+1)]...)
	}
	if _, err := zw.Write(raw); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(width))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(height))
	ihdr[8], ihdr[9] = 8, 4 // bit depth, colour type gray+alpha
	if _, err := io.WriteString(w, "\x89PNG\r\n\x1a\n"); err != nil {
		return err
	}
	for _, c := range []struct {
		typ  string
		data []byte
	}{{"IHDR", ihdr}, {"IDAT", idat.Bytes()}, {"IEND", nil}} {
		if err := ioPNGChunk(w, c.typ, c.data); err != nil {
			return err
		}
	}
	return nil
}

// ioPNGChunk writes one PNG chunk: length, type, data and the CRC of type
// and data.
func ioPNGChunk(w io.Writer, typ string, data []byte) error {
	head := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	head = append(head, typ...)
	crc := crc32.Update(crc32.ChecksumIEEE(head[4:]), crc32.IEEETable, data)
	if _, err := w.Write(head); err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	_, err := w.Write(binary.BigEndian.AppendUint32(nil, crc))
	return err
}
