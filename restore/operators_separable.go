package restore

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/mat"
)

// opMaxKernelRadius bounds the kernels built here, so that absurd sizes give
// an error instead of an allocation failure.
const opMaxKernelRadius = 1 << 16

// NewSeparable returns the operator that degrades every channel X (H x W) of
// an image of shape s independently to Y = A_r X A_c^T, where aRows (A_r,
// m_r x H) acts along the height axis and aCols (A_c, m_c x W) along the
// width axis, with 1 <= m_r <= H and 1 <= m_c <= W. The output shape is
// C x m_r x m_c.
//
// The decomposition comes from the float64 SVDs of the two small matrices,
// A_r = U_r S_r V_r^T and A_c = U_c S_c V_c^T, computed once here. Singular
// values below max(m, n) * 2^-52 times the largest one of their matrix are
// rounding noise of an exactly singular matrix and are set to 0. Per channel
// the spectral layout is the H x W grid of V_r^T X V_c, component (i, j)
// having singular value s_r,i * s_c,j for i < m_r and j < m_c, and 0 (null
// space) elsewhere. Ut fills only the i < m_r, j < m_c block and U reads only
// that block. Every transform is two small matrix products per channel, never
// a dense matrix over the image.
//
// A 1-D matrix that is centrosymmetric (equal to itself with rows and columns
// reversed, to 1e-12 of its largest entry, like every symmetric kernel on a
// symmetric grid with reflected borders, so every one built by this package's
// constructors) maps symmetric signals to symmetric ones and antisymmetric to
// antisymmetric. Its SVD is then computed and applied in those two halves,
// which halves the cost of every product, and its m singular values are
// listed as those of the symmetric half, decreasing, then those of the
// antisymmetric half. For other matrices they are all in decreasing order.
func NewSeparable(s Shape, aRows, aCols mat.Matrix) (Operator, error) {
	return sepNew("separable", s, aRows, aCols)
}

// NewBicubicDown returns the antialiased bicubic downsampling by an integer
// factor (>= 1) along both axes, as a separable operator (see NewSeparable).
//
// Along an axis of n samples, output sample i is centred at input coordinate
// c = (i+0.5)*factor - 0.5 and weights input sample k by
// Keys((k-c)/factor)/factor, Keys being the cubic convolution kernel with
// a = -0.5; so each output sample uses the inputs with |k - c| < 2*factor
// (4*factor of them for an even factor, where this is the kernel of the DDRM
// reference's SRConv, and 4*factor-1 for an odd one), and the weights sum to
// exactly 1. Factor 1 is the identity. Inputs outside the image are
// taken from its half-sample symmetric reflection (d c b a | a b c d |
// d c b a, scipy.ndimage mode 'reflect'), folded as often as needed for small
// images. H and W must be multiples of the factor.
func NewBicubicDown(s Shape, factor int) (Operator, error) {
	name := fmt.Sprintf("bicubic x%d", factor)
	if err := opCheckFactor(name, s, factor); err != nil {
		return nil, err
	}
	return sepNew(name, s, sepResampleMatrix(s.H, s.H/factor), sepResampleMatrix(s.W, s.W/factor))
}

// NewBlockAverage returns the downsampling that replaces every factor x factor
// block of pixels by its mean (1-D rows of factor weights 1/factor; every
// observed 2-D singular value is 1/factor). H and W must be multiples of the
// factor (>= 1).
func NewBlockAverage(s Shape, factor int) (Operator, error) {
	name := fmt.Sprintf("block average x%d", factor)
	if err := opCheckFactor(name, s, factor); err != nil {
		return nil, err
	}
	return sepNew(name, s, sepBlockMatrix(s.H, factor), sepBlockMatrix(s.W, factor))
}

// NewBlur returns the same-size separable blur that convolves every channel
// with rowKernel along the height axis (mixing rows) and colKernel along the
// width axis (mixing columns). Kernels must have an odd number of taps and are
// centred on their middle tap: y[i] = sum_t k[t] x[i + r - t] with
// r = len(k)/2 (for the usual symmetric kernels convolution and correlation
// agree). Samples outside the image come from its half-sample symmetric
// reflection (scipy.ndimage mode 'reflect'), folded as often as needed when a
// kernel is wider than the image, so with GaussianKernel(sigma) on both axes
// this is scipy.ndimage.gaussian_filter(x, sigma, mode='reflect',
// truncate=4.0) per channel. Kernels are used as given; GaussianKernel and
// UniformKernel sum to 1.
func NewBlur(s Shape, rowKernel, colKernel []float64) (Operator, error) {
	if err := opCheckKernel("blur: row kernel", rowKernel); err != nil {
		return nil, err
	}
	if err := opCheckKernel("blur: column kernel", colKernel); err != nil {
		return nil, err
	}
	if err := opCheckShape("blur", s); err != nil {
		return nil, err
	}
	return sepNew("blur", s, sepConvMatrix(s.H, rowKernel), sepConvMatrix(s.W, colKernel))
}

// GaussianKernel returns exp(-k^2 / (2 sigma^2)) sampled at the integers
// |k| <= r and normalised to sum 1, with r = floor(4 sigma + 0.5), the radius
// scipy.ndimage.gaussian_filter uses with truncate=4.0. sigma must be positive
// and finite, and at most 16384.
func GaussianKernel(sigma float64) ([]float64, error) {
	if !(sigma > 0) || math.IsInf(sigma, 0) {
		return nil, fmt.Errorf("gaussian kernel: sigma %v is not a positive number", sigma)
	}
	if 4*sigma+0.5 > opMaxKernelRadius {
		return nil, fmt.Errorf("gaussian kernel: sigma %v is too large; use at most %d", sigma, opMaxKernelRadius/4)
	}
	r := int(4*sigma + 0.5)
	k := make([]float64, 2*r+1)
	sum := 0.0
	for i := range k {
		d := float64(i - r)
		k[i] = math.Exp(-d * d / (2 * sigma * sigma))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	return k, nil
}

// UniformKernel returns the box kernel of taps equal weights 1/taps. taps
// must be odd so that the kernel has a centre tap.
func UniformKernel(taps int) ([]float64, error) {
	if taps < 1 || taps%2 == 0 {
		return nil, fmt.Errorf("uniform kernel: %d taps; use a positive odd number of taps so the kernel has a centre", taps)
	}
	if taps > 2*opMaxKernelRadius+1 {
		return nil, fmt.Errorf("uniform kernel: %d taps is too many; use at most %d", taps, 2*opMaxKernelRadius+1)
	}
	k := make([]float64, taps)
	for i := range k {
		k[i] = 1 / float64(taps)
	}
	return k, nil
}

// opCheckShape rejects shapes with an empty dimension.
func opCheckShape(name string, s Shape) error {
	if s.C < 1 || s.H < 1 || s.W < 1 {
		return fmt.Errorf("%s: invalid image shape %v; channels, height and width must all be at least 1", name, s)
	}
	return nil
}

// opCheckFactor validates a downsampling factor against an image shape.
func opCheckFactor(name string, s Shape, factor int) error {
	if factor < 1 {
		return fmt.Errorf("%s: factor %d must be at least 1", name, factor)
	}
	if err := opCheckShape(name, s); err != nil {
		return err
	}
	if s.H%factor != 0 {
		return fmt.Errorf("%s: image height %d is not divisible by the factor %d; crop or pad to a multiple of %d", name, s.H, factor, factor)
	}
	if s.W%factor != 0 {
		return fmt.Errorf("%s: image width %d is not divisible by the factor %d; crop or pad to a multiple of %d", name, s.W, factor, factor)
	}
	return nil
}

// opCheckKernel validates a blur kernel: odd, non-empty, finite.
func opCheckKernel(name string, k []float64) error {
	if len(k)%2 == 0 {
		return fmt.Errorf("%s has %d taps; use an odd number of taps so the kernel has a centre", name, len(k))
	}
	for i, v := range k {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%s has the non-finite weight %v at tap %d", name, v, i)
		}
	}
	return nil
}

// sepOperator is the separable operator built by NewSeparable.
type sepOperator struct {
	in, out Shape
	ur, vr  *sepBasis // U_r (m_r x m_r) and V_r (H x H)
	uc, vc  *sepBasis // U_c (m_c x m_c) and V_c (W x W)
	s       []float32
	scratch sync.Pool // *sepScratch
}

// sepScratch holds two work buffers of the operator's input length.
type sepScratch struct{ t, tmp []float32 }

// sepNew validates the 1-D matrices and builds the operator; name prefixes
// the error messages.
func sepNew(name string, s Shape, aRows, aCols mat.Matrix) (Operator, error) {
	if err := opCheckShape(name, s); err != nil {
		return nil, err
	}
	if aRows == nil || aCols == nil {
		return nil, fmt.Errorf("%s: missing 1-D matrix; pass one for the rows and one for the columns", name)
	}
	for _, ax := range []struct {
		what string
		a    mat.Matrix
		n    int
	}{{"row matrix (height axis)", aRows, s.H}, {"column matrix (width axis)", aCols, s.W}} {
		r, c := ax.a.Dims()
		if c != ax.n || r < 1 || r > c {
			return nil, fmt.Errorf("%s: %s is %dx%d for an image of %v; it needs %d columns and between 1 and %d rows", name, ax.what, r, c, s, ax.n, ax.n)
		}
		for i := range r {
			for j := range c {
				if v := ax.a.At(i, j); math.IsNaN(v) || math.IsInf(v, 0) {
					return nil, fmt.Errorf("%s: %s has the non-finite entry %v at (%d, %d)", name, ax.what, v, i, j)
				}
			}
		}
	}
	ur, vr, sr, ok := sepFactor(aRows)
	if !ok {
		return nil, fmt.Errorf("%s: the SVD of the row matrix did not converge; check its entries", name)
	}
	uc, vc, sc, ok := sepFactor(aCols)
	if !ok {
		return nil, fmt.Errorf("%s: the SVD of the column matrix did not converge; check its entries", name)
	}
	o := &sepOperator{
		in:  s,
		out: Shape{C: s.C, H: len(sr), W: len(sc)},
		ur:  ur, vr: vr, uc: uc, vc: vc,
		s: make([]float32, s.Len()),
	}
	for i, a := range sr {
		for j, b := range sc {
			o.s[i*s.W+j] = float32(a * b)
		}
	}
	for c := 1; c < s.C; c++ {
		copy(o.s[c*s.H*s.W:(c+1)*s.H*s.W], o.s[:s.H*s.W])
	}
	n := s.Len()
	o.scratch.New = func() any {
		return &sepScratch{t: make([]float32, n), tmp: make([]float32, n)}
	}
	return o, nil
}

func (o *sepOperator) InShape() Shape  { return o.in }
func (o *sepOperator) OutShape() Shape { return o.out }

// Singulars returns the operator's own slice; callers must not modify it.
func (o *sepOperator) Singulars() []float32 { return o.s }

// Vt computes V_r^T X V_c per channel. The product with V_c runs over all
// channels at once, since their rows are contiguous, split by rows over the
// cores; the product with V_r^T is split by columns.
func (o *sepOperator) Vt(dst, x []float32) {
	opCheckLen("Vt", dst, o.in.Len(), x, o.in.Len())
	c, h, w := o.in.C, o.in.H, o.in.W
	sc := o.scratch.Get().(*sepScratch)
	forRanges(c*h, w, func(lo, hi int) {
		o.vc.right(sc.t[lo*w:], w, x[lo*w:], w, hi-lo, sc.tmp[lo*w:])
	})
	forRanges(w, h, func(lo, hi int) {
		for ch := range c {
			off := ch * h * w
			o.vr.leftT(dst[off+lo:], w, sc.t[off+lo:], w, hi-lo, sc.tmp[lo*h:])
		}
	})
	o.scratch.Put(sc)
}

// V computes V_r Xbar V_c^T per channel, split over the cores as Vt.
func (o *sepOperator) V(dst, xBar []float32) {
	opCheckLen("V", dst, o.in.Len(), xBar, o.in.Len())
	c, h, w := o.in.C, o.in.H, o.in.W
	sc := o.scratch.Get().(*sepScratch)
	forRanges(c*h, w, func(lo, hi int) {
		o.vc.rightT(sc.t[lo*w:], w, xBar[lo*w:], w, hi-lo, sc.tmp[lo*w:])
	})
	forRanges(w, h, func(lo, hi int) {
		for ch := range c {
			off := ch * h * w
			o.vr.left(dst[off+lo:], w, sc.t[off+lo:], w, hi-lo, sc.tmp[lo*h:])
		}
	})
	o.scratch.Put(sc)
}

// Ut computes U_r^T Y U_c per channel into the top-left m_r x m_c block of
// the spectral grid and zeroes the rest.
func (o *sepOperator) Ut(dst, y []float32) {
	opCheckLen("Ut", dst, o.in.Len(), y, o.out.Len())
	c, h, w := o.in.C, o.in.H, o.in.W
	mr, mc := o.out.H, o.out.W
	sc := o.scratch.Get().(*sepScratch)
	forRanges(c*mr, mc, func(lo, hi int) {
		o.uc.right(sc.t[lo*mc:], mc, y[lo*mc:], mc, hi-lo, sc.tmp[lo*mc:])
	})
	forRanges(mc, mr, func(lo, hi int) {
		for ch := range c {
			o.ur.leftT(dst[ch*h*w+lo:], w, sc.t[ch*mr*mc+lo:], mc, hi-lo, sc.tmp[lo*mr:])
		}
	})
	for ch := range c {
		d := dst[ch*h*w : (ch+1)*h*w]
		for i := range mr {
			clear(d[i*w+mc : (i+1)*w])
		}
		clear(d[mr*w:])
	}
	o.scratch.Put(sc)
}

// U computes U_r Ybar U_c^T per channel from the top-left m_r x m_c block of
// the spectral grid.
func (o *sepOperator) U(dst, yBar []float32) {
	opCheckLen("U", dst, o.out.Len(), yBar, o.in.Len())
	c, h, w := o.in.C, o.in.H, o.in.W
	mr, mc := o.out.H, o.out.W
	sc := o.scratch.Get().(*sepScratch)
	forRanges(c*mr, mc, func(lo, hi int) {
		for r := lo; r < hi; {
			// Rows lo..hi-1 of the channels' stacked m_r-row blocks.
			ch, i := r/mr, r%mr
			n := min(hi-r, mr-i)
			o.uc.rightT(sc.t[r*mc:], mc, yBar[ch*h*w+i*w:], w, n, sc.tmp[r*mc:])
			r += n
		}
	})
	forRanges(mc, mr, func(lo, hi int) {
		for ch := range c {
			off := ch * mr * mc
			o.ur.left(dst[off+lo:], mc, sc.t[off+lo:], mc, hi-lo, sc.tmp[lo*mr:])
		}
	})
	o.scratch.Put(sc)
}

// forRanges splits 0..n into one contiguous range per core, each at least
// enough for a product worth spreading (work is the other dimension of the
// rows or columns split), and calls fn on each.
func forRanges(n, work int, fn func(lo, hi int)) {
	parts := min(runtime.GOMAXPROCS(0), n*work/(1<<13))
	if parts <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := p*n/parts, (p+1)*n/parts
		if lo < hi {
			wg.Go(func() { fn(lo, hi) })
		}
	}
	wg.Wait()
}

// opCheckLen panics with a clear message when an operator method gets
// slices of the wrong length, a programming error rather than bad data.
func opCheckLen(method string, dst []float32, wantDst int, src []float32, wantSrc int) {
	if len(dst) != wantDst || len(src) != wantSrc {
		panic(fmt.Sprintf("restore: operator %s: got dst of length %d and input of length %d, want %d and %d", method, len(dst), len(src), wantDst, wantSrc))
	}
}
