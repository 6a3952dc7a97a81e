package restore

import "fmt"

// reflectIndex maps i, possibly past 0..n-1, into it by half-sample
// symmetric reflection (d c b a | a b c d | d c b a), folding as often as
// needed: the borders every operator here uses.
func reflectIndex(i, n int) int {
	p := i % (2 * n)
	if p < 0 {
		p += 2 * n
	}
	if p >= n {
		p = 2*n - 1 - p
	}
	return p
}

// PadReflect returns t grown to h x w images by reflecting each image about
// its bottom and right edges (half-sample symmetric), so that a restoration
// of the larger image can be cropped back (Crop) to t's size. h and w must
// be at least t's.
func PadReflect(t *Tensor, h, w int) (*Tensor, error) {
	s := t.Shape
	if h < s.H || w < s.W {
		return nil, fmt.Errorf("cannot pad %dx%d images to the smaller %dx%d", s.W, s.H, w, h)
	}
	out := NewTensor(t.N, Shape{C: s.C, H: h, W: w})
	for b := range t.N {
		src, dst := t.Item(b), out.Item(b)
		for c := range s.C {
			for i := range h {
				row := src[(c*s.H+reflectIndex(i, s.H))*s.W:][:s.W]
				d := dst[(c*h+i)*w:][:w]
				copy(d, row)
				for j := s.W; j < w; j++ {
					d[j] = row[reflectIndex(j, s.W)]
				}
			}
		}
	}
	return out, nil
}

// PadMask is PadReflect for a mask of h0 x w0 pixels.
func PadMask(keep []bool, h0, w0, h, w int) []bool {
	if keep == nil {
		return nil
	}
	out := make([]bool, h*w)
	for i := range h {
		for j := range w {
			out[i*w+j] = keep[reflectIndex(i, h0)*w0+reflectIndex(j, w0)]
		}
	}
	return out
}

// Crop returns the top-left h x w of every image of t.
func Crop(t *Tensor, h, w int) (*Tensor, error) {
	s := t.Shape
	if h > s.H || w > s.W || h < 1 || w < 1 {
		return nil, fmt.Errorf("cannot crop %dx%d images to %dx%d", s.W, s.H, w, h)
	}
	out := NewTensor(t.N, Shape{C: s.C, H: h, W: w})
	for b := range t.N {
		src, dst := t.Item(b), out.Item(b)
		for c := range s.C {
			for i := range h {
				copy(dst[(c*h+i)*w:][:w], src[(c*s.H+i)*s.W:])
			}
		}
	}
	return out, nil
}

// CropMask is Crop for a mask of w0 pixels a row.
func CropMask(keep []bool, w0, h, w int) []bool {
	if keep == nil {
		return nil
	}
	out := make([]bool, h*w)
	for i := range h {
		copy(out[i*w:][:w], keep[i*w0:])
	}
	return out
}
