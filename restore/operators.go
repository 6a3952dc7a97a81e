package restore

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// NewIdentity returns the denoising operator H = I on images of shape s
// (positive dimensions): U = V = I and every singular value is 1.
func NewIdentity(s Shape) Operator {
	ones := make([]float32, max(s.Len(), 0))
	for i := range ones {
		ones[i] = 1
	}
	return &opIdentity{shape: s, s: ones}
}

type opIdentity struct {
	shape Shape
	s     []float32
}

func (o *opIdentity) InShape() Shape  { return o.shape }
func (o *opIdentity) OutShape() Shape { return o.shape }

// Singulars returns the operator's own slice; callers must not modify it.
func (o *opIdentity) Singulars() []float32 { return o.s }

func (o *opIdentity) Vt(dst, x []float32) { opCopy("Vt", dst, x, len(o.s)) }
func (o *opIdentity) V(dst, x []float32)  { opCopy("V", dst, x, len(o.s)) }
func (o *opIdentity) Ut(dst, y []float32) { opCopy("Ut", dst, y, len(o.s)) }
func (o *opIdentity) U(dst, y []float32)  { opCopy("U", dst, y, len(o.s)) }

// opCopy is the transform of an orthogonal factor that is the identity.
func opCopy(method string, dst, src []float32, n int) {
	opCheckLen(method, dst, n, src, n)
	copy(dst, src)
}

// NewInpaint returns the inpainting operator that keeps the pixels where
// keep is true, in every channel, and zeroes the others. keep has one entry
// per pixel, row-major (len H*W). The measurement has the image's shape:
// H = diag(mask), U = V = I, so the spectral layout is the image itself, with
// singular value 1 on kept pixels and 0 on missing ones; whatever a
// measurement holds at missing pixels has singular value 0 and is ignored by
// ApplyPinv and by DDRM.
func NewInpaint(s Shape, keep []bool) (Operator, error) {
	if err := opCheckShape("inpaint", s); err != nil {
		return nil, err
	}
	if len(keep) != s.H*s.W {
		return nil, fmt.Errorf("inpaint: mask has %d entries but the %dx%d image has %d pixels; pass one entry per pixel, row-major", len(keep), s.H, s.W, s.H*s.W)
	}
	sv := make([]float32, s.Len())
	for c := range s.C {
		for p, k := range keep {
			if k {
				sv[c*s.H*s.W+p] = 1
			}
		}
	}
	return &opInpaint{opIdentity{shape: s, s: sv}}, nil
}

// opInpaint differs from the identity only in its singular values.
type opInpaint struct{ opIdentity }

// RandomMask returns an inpainting mask for an h x w image (true = kept) with
// exactly round(missing*h*w) missing pixels, chosen uniformly at random. The
// mask depends only on the arguments: the generator is math/rand/v2's PCG
// seeded with seed. missing is clamped to [0, 1] (NaN counts as 0), and an
// empty size gives an empty mask.
func RandomMask(h, w int, missing float64, seed uint64) []bool {
	if h < 1 || w < 1 {
		return []bool{}
	}
	n := h * w
	if !(missing > 0) {
		missing = 0
	}
	drop := int(math.Round(min(missing, 1) * float64(n)))
	keep := make([]bool, n)
	for i := range keep {
		keep[i] = true
	}
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	// A partial Fisher-Yates shuffle: the first drop entries of idx become a
	// uniform random subset.
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	for i := range drop {
		j := i + r.IntN(n-i)
		idx[i], idx[j] = idx[j], idx[i]
		keep[idx[i]] = false
	}
	return keep
}

// NewColorize returns the colorization operator: every pixel of a 3-channel
// image is observed through its channel mean, H = [1/3, 1/3, 1/3], giving a
// 1 x H x W measurement.
//
// Per pixel V is the orthonormal basis v1 = (1, 1, 1)/sqrt3,
// v2 = (1, -1, 0)/sqrt2, v3 = (1, 1, -2)/sqrt6, U = 1, and the only singular
// value is 1/sqrt3 on v1. The spectral layout is channel-major like an image:
// spectral channel k holds the v_(k+1) coefficient of every pixel, so its
// first H*W components are observed and the other 2*H*W are the null space.
func NewColorize(s Shape) (Operator, error) {
	if err := opCheckShape("colorize", s); err != nil {
		return nil, err
	}
	if s.C != 3 {
		return nil, fmt.Errorf("colorize: image has %d channels, need 3 (RGB); convert the image to RGB first", s.C)
	}
	n := s.H * s.W
	sv := make([]float32, s.Len())
	for p := range n {
		sv[p] = opColorA
	}
	return &opColorize{in: s, s: sv}, nil
}

type opColorize struct {
	in Shape
	s  []float32
}

// The per-pixel basis of NewColorize.
const (
	opColorA = 1 / 1.7320508075688772935274463415058723669428052538103806 // 1/sqrt3
	opColorB = 1 / math.Sqrt2
	opColorC = opColorA * opColorB // 1/sqrt6
)

func (o *opColorize) InShape() Shape  { return o.in }
func (o *opColorize) OutShape() Shape { return Shape{C: 1, H: o.in.H, W: o.in.W} }

// Singulars returns the operator's own slice; callers must not modify it.
func (o *opColorize) Singulars() []float32 { return o.s }

func (o *opColorize) Vt(dst, x []float32) {
	opCheckLen("Vt", dst, len(o.s), x, len(o.s))
	n := o.in.H * o.in.W
	r, g, b := x[:n], x[n:2*n], x[2*n:]
	d1, d2, d3 := dst[:n], dst[n:2*n], dst[2*n:]
	for p := range n {
		rp, gp, bp := r[p], g[p], b[p]
		d1[p] = opColorA * (rp + gp + bp)
		d2[p] = opColorB * (rp - gp)
		d3[p] = opColorC * (rp + gp - 2*bp)
	}
}

func (o *opColorize) V(dst, xBar []float32) {
	opCheckLen("V", dst, len(o.s), xBar, len(o.s))
	n := o.in.H * o.in.W
	a, b, c := xBar[:n], xBar[n:2*n], xBar[2*n:]
	r, g, bl := dst[:n], dst[n:2*n], dst[2*n:]
	for p := range n {
		ap, bp, cp := opColorA*a[p], opColorB*b[p], opColorC*c[p]
		r[p] = ap + bp + cp
		g[p] = ap - bp + cp
		bl[p] = ap - 2*cp
	}
}

func (o *opColorize) Ut(dst, y []float32) {
	n := o.in.H * o.in.W
	opCheckLen("Ut", dst, len(o.s), y, n)
	copy(dst, y)
	clear(dst[n:])
}

func (o *opColorize) U(dst, yBar []float32) {
	n := o.in.H * o.in.W
	opCheckLen("U", dst, n, yBar, len(o.s))
	copy(dst, yBar[:n])
}
