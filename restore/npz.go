package restore

// NumPy array files. npyio parses .npy headers; the data are read and written
// here because npyio v0.6.0 cannot write arrays whose shape is only known at
// run time (it takes the shape from Go types: a flat slice is written as
// shape (n,), and nested slices fail), its header padding does not give the
// 64-byte data alignment numpy writes, and its element reader ignores short
// reads and end of file, so a truncated file (or one read from a compressed
// zip entry) would silently load zeros. Its npz writer builds on the same
// array writer, so .npz archives are assembled with archive/zip.

import (
	"archive/zip"
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/sbinet/npyio"
)

// NPZArray is one named float32 array of an .npz archive, stored in C
// (row-major) order. A nil or empty Shape is a scalar.
type NPZArray struct {
	Name  string
	Shape []int
	Data  []float32
	// Float64, when not nil, holds the values in double precision: WriteNPZ
	// then writes a float64 array from it (Data is ignored), and ReadNPZ
	// fills it, besides Data, for float64 arrays.
	Float64 []float64
}

// values returns how many values the array holds.
func (a NPZArray) values() int {
	if a.Float64 != nil {
		return len(a.Float64)
	}
	return len(a.Data)
}

// WriteNPZ writes arrays to path as an uncompressed .npz archive, as
// numpy.savez does; numpy.load(path)[name] returns each array as float32.
// The file is replaced atomically: it either has all arrays or is untouched.
func WriteNPZ(path string, arrays []NPZArray) error {
	seen := make(map[string]bool, len(arrays))
	for _, a := range arrays {
		if a.Name == "" {
			return fmt.Errorf("writing %s: an array has no name; give every NPZArray a Name", path)
		}
		if seen[a.Name] {
			return fmt.Errorf("writing %s: two arrays are named %q; array names must be unique", path, a.Name)
		}
		seen[a.Name] = true
		if n, ok := npyCount(a.Shape); !ok || n != a.values() {
			return fmt.Errorf("writing %s: array %q has shape %s but %d values; the shape must match the data", path, a.Name, npyShapeString(a.Shape), a.values())
		}
	}
	return WriteFileAtomic(path, func(w io.Writer) error { return writeNPZTo(w, arrays, nil) })
}

// npzFile is a member of an .npz archive that is not an array: numpy.load
// returns its bytes.
type npzFile struct {
	name string
	data []byte
}

// writeNPZTo writes arrays, then files, compressed, as an .npz archive.
func writeNPZTo(w io.Writer, arrays []NPZArray, files []npzFile) error {
	zw := zip.NewWriter(w)
	for _, a := range arrays {
		// numpy names each member <key>.npy and strips the suffix on load.
		f, err := zw.CreateHeader(&zip.FileHeader{Name: a.Name + ".npy", Method: zip.Store})
		if err != nil {
			return err
		}
		if a.Float64 != nil {
			err = npyEncode64(f, a.Shape, a.Float64)
		} else {
			err = npyEncode(f, a.Shape, a.Data)
		}
		if err != nil {
			return err
		}
	}
	for _, file := range files {
		f, err := zw.CreateHeader(&zip.FileHeader{Name: file.name, Method: zip.Deflate})
		if err != nil {
			return err
		}
		if _, err := f.Write(file.data); err != nil {
			return err
		}
	}
	return zw.Close()
}

// ReadNPZ reads every array of an .npz archive, keyed by name (the member
// name without its .npy suffix, as numpy.load reports it). float64 arrays
// are converted to float32 and also kept in NPZArray.Float64; other data
// types are an error.
func ReadNPZ(path string) (map[string]NPZArray, error) {
	return readSized(path, func(f *os.File, size int64) (map[string]NPZArray, error) { return readNPZ(f, size, path) })
}

// readSized opens path and hands it to read with its size.
func readSized[T any](path string, read func(f *os.File, size int64) (T, error)) (T, error) {
	var zero T
	f, err := os.Open(path)
	if err != nil {
		return zero, ioOpenError(path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return zero, fmt.Errorf("reading %s: %w", path, err)
	}
	return read(f, st.Size())
}

// readNPZ reads the .npz archive of size bytes in r; path names it in errors.
func readNPZ(r io.ReaderAt, size int64, path string) (map[string]NPZArray, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("%s is not a readable .npz archive (truncated or corrupt?): %w", path, err)
	}
	out := make(map[string]NPZArray, len(zr.File))
	for _, zf := range zr.File {
		name := strings.TrimSuffix(zf.Name, ".npy")
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("reading %s: array %q appears twice; the archive is corrupt", path, name)
		}
		a, err := npzReadMember(zf, name)
		if err != nil {
			return nil, fmt.Errorf("reading %s: array %q: %w", path, name, err)
		}
		out[name] = a
	}
	return out, nil
}

func npzReadMember(zf *zip.File, name string) (NPZArray, error) {
	rc, err := zf.Open()
	if err != nil {
		return NPZArray{}, err
	}
	defer rc.Close()
	size := int64(min(zf.UncompressedSize64, math.MaxInt64))
	shape, data, data64, err := npyDecode(rc, size)
	if err != nil {
		return NPZArray{}, err
	}
	return NPZArray{Name: name, Shape: shape, Data: data, Float64: data64}, nil
}

// npyReadFile reads a float32 or float64 .npy file as float32 in C order.
func npyReadFile(path string) (shape []int, data []float32, err error) {
	type array struct {
		shape []int
		data  []float32
	}
	a, err := readSized(path, func(f *os.File, size int64) (array, error) {
		shape, data, _, err := npyDecode(f, size)
		if err != nil {
			return array{}, fmt.Errorf("reading %s: %w", path, err)
		}
		return array{shape, data}, nil
	})
	return a.shape, a.data, err
}

// npyDecode reads one .npy stream of at most size bytes, as float32 and,
// for a float64 array, also as float64. size bounds every allocation, so a
// corrupt header cannot ask for more memory than the file could hold.
func npyDecode(r io.Reader, size int64) (shape []int, data []float32, data64 []float64, err error) {
	br := bufio.NewReader(r)
	hdr, err := npyReadHeader(br, size)
	if err != nil {
		return nil, nil, nil, err
	}
	var order binary.ByteOrder
	var wide bool
	switch hdr.Descr.Type {
	case "<f4":
		order = binary.LittleEndian
	case ">f4":
		order = binary.BigEndian
	case "<f8":
		order, wide = binary.LittleEndian, true
	case ">f8":
		order, wide = binary.BigEndian, true
	default:
		return nil, nil, nil, fmt.Errorf("array has data type %q; only float32 and float64 are supported: save a.astype(numpy.float32)", hdr.Descr.Type)
	}
	itemSize := int64(4)
	if wide {
		itemSize = 8
	}
	shape = hdr.Descr.Shape
	n, ok := npyCount(shape)
	if !ok || int64(n) > size/itemSize {
		return nil, nil, nil, fmt.Errorf("array of shape %s does not fit in %d bytes (truncated or corrupt?)", npyShapeString(shape), size)
	}
	if len(shape) >= 2 {
		if err := CheckPixels("the array", shape[len(shape)-2], shape[len(shape)-1]); err != nil {
			return nil, nil, nil, err
		}
	}
	// size may be a zip member's claim: read what is there before
	// trusting it, so memory grows with the data, not with the header.
	want := int64(n) * itemSize
	raw, err := io.ReadAll(io.LimitReader(br, want))
	if err == nil && int64(len(raw)) < want {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("array of shape %s is truncated (%w); write it again", npyShapeString(shape), err)
	}
	data = make([]float32, n)
	if wide {
		data64 = make([]float64, n)
	}
	for i := range data {
		if wide {
			data64[i] = math.Float64frombits(order.Uint64(raw[8*i:]))
			data[i] = float32(data64[i])
		} else {
			data[i] = math.Float32frombits(order.Uint32(raw[4*i:]))
		}
	}
	if hdr.Descr.Fortran {
		data = npyFortranToC(data, shape)
		if wide {
			data64 = npyFortranToC(data64, shape)
		}
	}
	return shape, data, data64, nil
}

// npyReadHeader parses the .npy header with npyio. Before that it checks the
// declared header length against size, because npyio allocates it unchecked,
// and it turns npyio's panics on malformed headers (it slices the header text
// at the positions of the keys it expects) into errors.
func npyReadHeader(br *bufio.Reader, size int64) (hdr npyio.Header, err error) {
	pre, _ := br.Peek(12)
	if len(pre) < 10 || string(pre[:6]) != string(npyio.Magic[:]) {
		return hdr, errors.New("not a NumPy .npy array (bad magic bytes); save it with numpy.save")
	}
	if pre[6] >= 2 && len(pre) == 12 && int64(binary.LittleEndian.Uint32(pre[8:])) > size {
		return hdr, errors.New("npy header is longer than the file (truncated or corrupt?)")
	}
	defer func() {
		if recover() != nil {
			err = errors.New("malformed npy header; save the array with numpy.save")
		}
	}()
	rd, err := npyio.NewReader(br)
	if err != nil {
		return hdr, fmt.Errorf("malformed npy header (%w); save the array with numpy.save", err)
	}
	return rd.Header, nil
}

// npyCount returns the number of elements of shape, and false for a negative
// dimension or a count that overflows int.
func npyCount(shape []int) (int, bool) {
	n := 1
	for _, d := range shape {
		if d < 0 || (d > 0 && n > math.MaxInt/d) {
			return 0, false
		}
		n *= d
	}
	return n, true
}

// npyFortranToC reorders column-major data (first index fastest) to row-major.
func npyFortranToC[T float32 | float64](data []T, shape []int) []T {
	if len(shape) < 2 || len(data) == 0 {
		return data
	}
	stride := make([]int, len(shape))
	s := 1
	for k, d := range shape {
		stride[k] = s
		s *= d
	}
	out := make([]T, len(data))
	idx := make([]int, len(shape))
	off := 0
	for i := range out {
		out[i] = data[off]
		// Advance the row-major multi-index, last axis fastest.
		for k := len(shape) - 1; k >= 0; k-- {
			idx[k]++
			off += stride[k]
			if idx[k] < shape[k] {
				break
			}
			off -= stride[k] * shape[k]
			idx[k] = 0
		}
	}
	return out
}

// npyEncode writes data as a little-endian float32 .npy (format 1.0) stream
// of the given shape.
func npyEncode(w io.Writer, shape []int, data []float32) error {
	if err := npyWriteHeader(w, "<f4", shape); err != nil {
		return err
	}
	return npyWriteValues(w, data, 4, func(b []byte, v float32) { binary.LittleEndian.PutUint32(b, math.Float32bits(v)) })
}

// npyEncode64 writes data as a little-endian float64 .npy stream.
func npyEncode64(w io.Writer, shape []int, data []float64) error {
	if err := npyWriteHeader(w, "<f8", shape); err != nil {
		return err
	}
	return npyWriteValues(w, data, 8, func(b []byte, v float64) { binary.LittleEndian.PutUint64(b, math.Float64bits(v)) })
}

func npyWriteHeader(w io.Writer, descr string, shape []int) error {
	dict := "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + npyShapeString(shape) + ", }"
	// numpy pads the header with spaces and a newline so that the data start
	// at a multiple of 64 bytes; 10 bytes of magic, version and length precede it.
	pad := 63 - (10+len(dict))%64
	header := dict + strings.Repeat(" ", pad) + "\n"
	if len(header) > math.MaxUint16 {
		return fmt.Errorf("npy header for shape %v is too long", shape)
	}
	pre := make([]byte, 10, 10+len(header))
	copy(pre, npyio.Magic[:])
	pre[6], pre[7] = 1, 0
	binary.LittleEndian.PutUint16(pre[8:], uint16(len(header)))
	_, err := w.Write(append(pre, header...))
	return err
}

// npyWriteValues writes values of size bytes each, put by put, in chunks.
func npyWriteValues[T any](w io.Writer, data []T, size int, put func([]byte, T)) error {
	const chunk = 1 << 14
	buf := make([]byte, size*min(len(data), chunk))
	for len(data) > 0 {
		n := min(len(data), chunk)
		for i, v := range data[:n] {
			put(buf[size*i:], v)
		}
		if _, err := w.Write(buf[:size*n]); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// npyShapeString writes shape as a Python tuple, as numpy's header does.
func npyShapeString(shape []int) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = strconv.Itoa(d)
	}
	if len(shape) == 1 {
		return "(" + parts[0] + ",)"
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// ioOpenError explains a failure to open an input file.
func ioOpenError(path string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s does not exist; check the path", path)
	}
	return fmt.Errorf("cannot open %s: %w", path, err)
}
