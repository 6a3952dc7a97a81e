package restore

import (
	"fmt"
	"github.com/restorelab/restorelab/restore/internal/sgemm"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/mat"
)

// ResizeBicubic resizes every channel of every image in x to h rows and w
// columns with the Keys cubic (a = -0.5), applied separably.
//
// The sampling grid is the pixel-centre one: along an axis of n samples
// resized to m, output sample i sits at input coordinate (i+0.5)*n/m - 0.5.
// When shrinking (n > m) the kernel is stretched by n/m, so it covers
// |k - c| < 2n/m input samples and antialiases; when enlarging it is the plain
// 4-tap interpolator. Samples outside the image are taken from its
// half-sample symmetric reflection (d c b a | a b c d | d c b a, scipy.ndimage
// mode 'reflect'), and the weights of every output sample are normalised to
// sum to 1, so constant images stay constant. For an integer factor this is
// exactly the degradation of NewBicubicDown.
func ResizeBicubic(x *Tensor, h, w int) (*Tensor, error) {
	if x == nil {
		return nil, fmt.Errorf("resize: no input tensor")
	}
	if err := opCheckShape("resize", x.Shape); err != nil {
		return nil, err
	}
	if x.N < 0 || len(x.Data) != x.N*x.Shape.Len() {
		return nil, fmt.Errorf("resize: tensor holds %d values, not %d images of %v; build it with NewTensor", len(x.Data), x.N, x.Shape)
	}
	if h < 1 || w < 1 {
		return nil, fmt.Errorf("resize: target size %dx%d is empty; both sides must be at least 1", h, w)
	}
	in := x.Shape
	out := NewTensor(x.N, Shape{C: in.C, H: h, W: w})
	if x.N == 0 {
		return out, nil
	}
	rh := sepFloat32(sepResampleMatrix(in.H, h))
	rw := sepFloat32(sepResampleMatrix(in.W, w))
	// Y = Rh X Rw^T: first the columns of all images at once, then the rows
	// one channel at a time.
	planes := x.N * in.C
	t := make([]float32, planes*in.H*w)
	sepGemm(blas.NoTrans, blas.Trans, planes*in.H, w, in.W, x.Data, in.W, rw, in.W, 0, t, w)
	for p := range planes {
		sepGemm(blas.NoTrans, blas.NoTrans, h, w, in.H, rh, in.H, t[p*in.H*w:], w, 0, out.Data[p*h*w:], w)
	}
	return out, nil
}

// sepKeys is the Keys cubic convolution kernel with a = -0.5, the kernel of
// bicubic interpolation; it is zero for |x| >= 2.
func sepKeys(x float64) float64 {
	const a = -0.5
	x = math.Abs(x)
	switch {
	case x <= 1:
		return ((a+2)*x-(a+3))*x*x + 1
	case x < 2:
		return ((a*x-5*a)*x+8*a)*x - 4*a
	}
	return 0
}

// sepReflect maps any index onto [0, n) by half-sample symmetric reflection
// (d c b a | a b c d | d c b a). It folds as often as needed, so kernels
// wider than the signal stay well defined.
func sepReflect(k, n int) int {
	p := 2 * n
	k %= p
	if k < 0 {
		k += p
	}
	if k >= n {
		k = p - 1 - k
	}
	return k
}

// sepResampleMatrix returns the nOut x nIn matrix of the bicubic resampling
// described at ResizeBicubic. Both sizes must be at least 1.
func sepResampleMatrix(nIn, nOut int) *mat.Dense {
	a := mat.NewDense(nOut, nIn, nil)
	scale := float64(nIn) / float64(nOut)
	width := max(scale, 1)
	for i := range nOut {
		c := (float64(i)+0.5)*scale - 0.5
		lo := int(math.Ceil(c - 2*width))
		hi := int(math.Floor(c + 2*width))
		sum := 0.0
		for k := lo; k <= hi; k++ {
			wk := sepKeys((float64(k) - c) / width)
			j := sepReflect(k, nIn)
			a.Set(i, j, a.At(i, j)+wk)
			sum += wk
		}
		// The Keys weights already sum to width for integer factors; dividing
		// by the actual sum also keeps non-integer ratios constant-preserving.
		row := a.RawRowView(i)
		for j := range row {
			row[j] /= sum
		}
	}
	return a
}

// sepConvMatrix returns the n x n matrix of the 1-D convolution
// y[i] = sum_t kernel[t] x[i + r - t] with r = len(kernel)/2, so an odd
// kernel is centred on its middle tap, and out-of-range indices reflected.
func sepConvMatrix(n int, kernel []float64) *mat.Dense {
	a := mat.NewDense(n, n, nil)
	r := len(kernel) / 2
	for i := range n {
		for t, kt := range kernel {
			j := sepReflect(i+r-t, n)
			a.Set(i, j, a.At(i, j)+kt)
		}
	}
	return a
}

// sepBlockMatrix returns the (n/f) x n matrix that averages consecutive
// blocks of f samples; n must be a multiple of f.
func sepBlockMatrix(n, f int) *mat.Dense {
	a := mat.NewDense(n/f, n, nil)
	for i := range n / f {
		for k := i * f; k < (i+1)*f; k++ {
			a.Set(i, k, 1/float64(f))
		}
	}
	return a
}

// sepFloat32 copies a matrix into a row-major float32 slice.
func sepFloat32(m mat.Matrix) []float32 {
	r, c := m.Dims()
	out := make([]float32, r*c)
	for i := range r {
		for j := range c {
			out[i*c+j] = float32(m.At(i, j))
		}
	}
	return out
}

// sepGemm computes c = op(a) op(b) + beta c for row-major float32 matrices,
// op(a) being m x k and op(b) k x n, beta 0 or 1.
func sepGemm(tA, tB blas.Transpose, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemm(tA == blas.Trans, tB == blas.Trans, m, n, k, a, lda, b, ldb, beta, c, ldc)
}

// gemm is the matrix product the operators use, on the calling goroutine:
// they split their work over the cores themselves. The golden tests swap
// in gonum's, whose rounding their hashes were made with.
var gemm = sgemm.Serial
