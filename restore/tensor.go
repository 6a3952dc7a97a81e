package restore

import (
	"fmt"
	"math"
)

// Shape is the size of one channel-major image: C channels of H rows and W columns.
type Shape struct{ C, H, W int }

// Len is the number of values in an image of this shape.
func (s Shape) Len() int { return s.C * s.H * s.W }

func (s Shape) String() string { return fmt.Sprintf("%dx%dx%d", s.C, s.H, s.W) }

// Tensor is a batch of N channel-major float32 images of one shape, stored
// contiguously as [N][C][H][W].
type Tensor struct {
	N     int
	Shape Shape
	Data  []float32
}

// NewTensor returns a zeroed batch of n images of shape s.
func NewTensor(n int, s Shape) *Tensor {
	return &Tensor{N: n, Shape: s, Data: make([]float32, n*s.Len())}
}

// Item returns the values of image i, sharing storage with t.
func (t *Tensor) Item(i int) []float32 {
	l := t.Shape.Len()
	return t.Data[i*l : (i+1)*l]
}

// Clone returns a deep copy of t.
func (t *Tensor) Clone() *Tensor {
	c := &Tensor{N: t.N, Shape: t.Shape, Data: make([]float32, len(t.Data))}
	copy(c.Data, t.Data)
	return c
}

// ToSigned maps values from [0, 1] to [-1, 1] in place and returns t.
func (t *Tensor) ToSigned() *Tensor {
	for i, v := range t.Data {
		t.Data[i] = 2*v - 1
	}
	return t
}

// ToUnit maps values from [-1, 1] to [0, 1] in place and returns t.
func (t *Tensor) ToUnit() *Tensor {
	for i, v := range t.Data {
		t.Data[i] = (v + 1) / 2
	}
	return t
}

// Clamp limits every value to [lo, hi] in place and returns t.
func (t *Tensor) Clamp(lo, hi float32) *Tensor {
	for i, v := range t.Data {
		t.Data[i] = min(max(v, lo), hi)
	}
	return t
}

// Stack joins single images of one shape into a batch.
func Stack(images ...*Tensor) (*Tensor, error) {
	if len(images) == 0 {
		return nil, fmt.Errorf("stack: no images")
	}
	s := images[0].Shape
	n := 0
	for _, im := range images {
		if im.Shape != s {
			return nil, fmt.Errorf("stack: image of shape %v does not match %v; resize or crop the images to one size", im.Shape, s)
		}
		n += im.N
	}
	out := NewTensor(n, s)
	off := 0
	for _, im := range images {
		off += copy(out.Data[off:], im.Data)
	}
	return out, nil
}

// ToRGB returns t with three channels: gray images are replicated into
// every channel, others returned as they are.
func ToRGB(t *Tensor) *Tensor {
	if t.Shape.C != 1 {
		return t
	}
	s := Shape{C: 3, H: t.Shape.H, W: t.Shape.W}
	out := NewTensor(t.N, s)
	for b := range t.N {
		src, dst := t.Item(b), out.Item(b)
		for c := range 3 {
			copy(dst[c*len(src):], src)
		}
	}
	return out
}

// Image returns image i of the batch as a tensor of one, sharing its data.
func (t *Tensor) Image(i int) *Tensor {
	return &Tensor{N: 1, Shape: t.Shape, Data: t.Item(i)}
}

// Repeat returns a batch of n copies of image 0 of t, such as one
// measurement to restore n posterior samples of at once.
func (t *Tensor) Repeat(n int) *Tensor {
	out := NewTensor(n, t.Shape)
	for i := range n {
		copy(out.Item(i), t.Item(0))
	}
	return out
}

// MeanStd returns the per-pixel mean and standard deviation over the images
// of a batch, such as posterior samples: the standard deviation maps where
// the samples disagree. Both are computed in float64.
func MeanStd(t *Tensor) (mean, std *Tensor) {
	mean, std = NewTensor(1, t.Shape), NewTensor(1, t.Shape)
	n := float64(t.N)
	for k := range mean.Data {
		var s, s2 float64
		for i := range t.N {
			v := float64(t.Data[i*t.Shape.Len()+k])
			s += v
			s2 += v * v
		}
		m := s / n
		mean.Data[k] = float32(m)
		std.Data[k] = float32(math.Sqrt(max(s2/n-m*m, 0)))
	}
	return mean, std
}
