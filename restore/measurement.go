package restore

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// MeasurementInfo is what a measurement file records about how it was
// made, so that restoring it needs no flag repeated: 'restorelab degrade'
// writes it into the .npz, and restore reads it back.
type MeasurementInfo struct {
	// Format is 1.
	Format int `json:"restorelab_measurement"`
	// Task made the measurement; Operator describes the task's operator.
	Task     string `json:"task"`
	Operator string `json:"operator"`
	// SigmaY is the noise added, on the [0, 1] scale; Seed drew it (and
	// inpainting's mask, when none was given).
	SigmaY float64 `json:"sigma_y"`
	Seed   uint64  `json:"seed"`
	// Height and Width are the clean image's size. PadBottom and PadRight
	// are the rows and columns reflected onto it before degrading, so that
	// the operator takes it; restorations are cropped back by them.
	Height    int `json:"height"`
	Width     int `json:"width"`
	PadBottom int `json:"pad_bottom,omitempty"`
	PadRight  int `json:"pad_right,omitempty"`
}

// measurementMeta is the member of a measurement .npz holding its
// MeasurementInfo as JSON; numpy.load(path)["meta.json"] returns its bytes.
const measurementMeta = "meta.json"

// SaveMeasurement writes a measurement with what made it to path, an .npz
// archive numpy.load reads: y, the measurement ([C, h, w], or [N, C, h, w]
// for a batch), keep, the inpainting mask (1 where kept) when there is one,
// and meta.json, the info as JSON. The file is replaced atomically.
func SaveMeasurement(path string, y *Tensor, keep []bool, info MeasurementInfo) error {
	if !strings.EqualFold(strings.TrimSpace(path[max(0, len(path)-4):]), ".npz") {
		return fmt.Errorf("a measurement with its info is an .npz file; %s is not", path)
	}
	info.Format = 1
	meta, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	shape := []int{y.Shape.C, y.Shape.H, y.Shape.W}
	if y.N > 1 {
		shape = append([]int{y.N}, shape...)
	}
	arrays := []NPZArray{{Name: "y", Shape: shape, Data: y.Data}}
	if keep != nil {
		mask := make([]float32, len(keep))
		for i, k := range keep {
			if k {
				mask[i] = 1
			}
		}
		arrays = append(arrays, NPZArray{Name: "keep", Shape: []int{y.Shape.H, y.Shape.W}, Data: mask})
	}
	return WriteFileAtomic(path, func(w io.Writer) error {
		return writeNPZTo(w, arrays, []npzFile{{measurementMeta, meta}})
	})
}

// loadMeasurementNPZ reads a file SaveMeasurement wrote.
func loadMeasurementNPZ(path string) (*Measurement, error) {
	return readSized(path, func(f *os.File, size int64) (*Measurement, error) { return decodeMeasurementNPZ(f, size, path) })
}

// decodeMeasurementNPZ reads a measurement .npz of size bytes in r; path
// names it in errors.
func decodeMeasurementNPZ(r io.ReaderAt, size int64, path string) (*Measurement, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("%s is not a readable .npz archive (truncated or corrupt?): %w", path, err)
	}
	var m Measurement
	var mask []float32
	var maskShape []int
	found := false
	for _, zf := range zr.File {
		switch zf.Name {
		case "y.npy":
			a, err := npzReadMember(zf, "y")
			if err != nil {
				return nil, fmt.Errorf("reading %s: y: %w", path, err)
			}
			if m.Y, err = ioTensorFromArray(path, a.Shape, a.Data); err != nil {
				return nil, err
			}
		case "keep.npy":
			a, err := npzReadMember(zf, "keep")
			if err != nil {
				return nil, fmt.Errorf("reading %s: keep: %w", path, err)
			}
			mask, maskShape = a.Data, a.Shape
		case measurementMeta:
			if zf.UncompressedSize64 > 1<<20 {
				return nil, fmt.Errorf("%s: %s is over 1 MB; it is not a restorelab measurement", path, measurementMeta)
			}
			rc, err := zf.Open()
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", path, err)
			}
			raw, err := io.ReadAll(io.LimitReader(rc, 1<<20))
			rc.Close()
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", path, err)
			}
			m.Info = new(MeasurementInfo)
			if err := json.Unmarshal(raw, m.Info); err != nil {
				return nil, fmt.Errorf("%s: %s is not valid: %v", path, measurementMeta, err)
			}
			found = true
		}
	}
	switch {
	case m.Y == nil:
		return nil, fmt.Errorf("%s has no array y; a measurement .npz holds y (and meta.json), as 'restorelab degrade --out FILE.npz' writes", path)
	case !found:
		return nil, fmt.Errorf("%s has no %s; write measurements with 'restorelab degrade --out FILE.npz', or give a bare .npy", path, measurementMeta)
	}
	if mask != nil {
		if len(maskShape) != 2 || maskShape[0] != m.Y.Shape.H || maskShape[1] != m.Y.Shape.W {
			return nil, fmt.Errorf("%s: keep has shape %v but y is %dx%d", path, maskShape, m.Y.Shape.W, m.Y.Shape.H)
		}
		m.Keep = make([]bool, len(mask))
		for i, v := range mask {
			m.Keep[i] = v > 0.5
		}
		ioZeroMissing(m.Y, m.Keep)
	}
	if err := ioCheckValues(path, m.Y.Data, ioMeasurementLo, ioMeasurementHi, "[-1, 2], the range of a noisy [0, 1] measurement"); err != nil {
		return nil, err
	}
	if i := m.Info; i.Height < 1 || i.Width < 1 || i.PadBottom < 0 || i.PadRight < 0 {
		return nil, fmt.Errorf("%s: %s gives the clean size %dx%d with padding %d, %d; it must be positive", path, measurementMeta, i.Width, i.Height, i.PadRight, i.PadBottom)
	}
	return &m, nil
}
