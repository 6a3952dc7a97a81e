package restore

import (
	"math"

	"gonum.org/v1/gonum/dsp/fourier"
)

// gaussDCT is the orthonormal DCT-II of length n and its inverse, computed
// with one real FFT of length n (Makhoul's reordering). gonum's own DCT is a
// DCT-I, whose basis and frequencies differ, so it is not used. A gaussDCT
// holds scratch space and is not safe for concurrent use.
type gaussDCT struct {
	n int
	// fft is nil for n = 1, where the transform is the identity.
	fft *fourier.FFT
	// cos and sin are cos and sin of pi k / 2n for k < n.
	cos, sin []float64
	// scale is the orthonormal factor sqrt(1/n) for k = 0, sqrt(2/n) after.
	scale []float64
	v     []float64
	spec  []complex128
}

func newGaussDCT(n int) *gaussDCT {
	d := &gaussDCT{n: n}
	if n == 1 {
		return d
	}
	d.fft = fourier.NewFFT(n)
	d.cos, d.sin, d.scale = make([]float64, n), make([]float64, n), make([]float64, n)
	for k := range n {
		d.sin[k], d.cos[k] = math.Sincos(math.Pi * float64(k) / float64(2*n))
		d.scale[k] = math.Sqrt(2 / float64(n))
	}
	d.scale[0] = math.Sqrt(1 / float64(n))
	d.v = make([]float64, n)
	d.spec = make([]complex128, n/2+1)
	return d
}

// apply transforms x of length n in place: the DCT-II, or with inverse the
// DCT-III that undoes it.
func (d *gaussDCT) apply(x []float64, inverse bool) {
	if d.n == 1 {
		return
	}
	if inverse {
		d.inverse(x)
	} else {
		d.forward(x)
	}
}

// forward computes X[k] = scale[k] sum_i x[i] cos(pi k (2i+1) / 2n): with
// v = (x0, x2, x4, ..., x5, x3, x1) and V its DFT, X[k] = scale[k] Re(V[k]
// e^{-i pi k / 2n}).
func (d *gaussDCT) forward(x []float64) {
	n, v := d.n, d.v
	for i := 0; 2*i < n; i++ {
		v[i] = x[2*i]
	}
	for i := 0; 2*i+1 < n; i++ {
		v[n-1-i] = x[2*i+1]
	}
	spec := d.fft.Coefficients(d.spec, v)
	for k := 0; k <= n/2; k++ {
		x[k] = d.scale[k] * (real(spec[k])*d.cos[k] + imag(spec[k])*d.sin[k])
	}
	// V[k] = conj(V[n-k]) for a real sequence.
	for k := n/2 + 1; k < n; k++ {
		s := spec[n-k]
		x[k] = d.scale[k] * (real(s)*d.cos[k] - imag(s)*d.sin[k])
	}
}

// inverse undoes forward: with X the unscaled coefficients and X[n] = 0,
// V[k] = e^{i pi k / 2n} (X[k] - i X[n-k]), and x is the reordered inverse
// DFT of V.
func (d *gaussDCT) inverse(x []float64) {
	n, v, spec := d.n, d.v, d.spec
	for k := 0; k <= n/2; k++ {
		p := x[k] / d.scale[k]
		q := 0.0
		if k > 0 {
			q = x[n-k] / d.scale[n-k]
		}
		spec[k] = complex(p*d.cos[k]+q*d.sin[k], p*d.sin[k]-q*d.cos[k])
	}
	d.fft.Sequence(v, spec)
	inv := 1 / float64(n) // Sequence is unnormalised
	for i := 0; 2*i < n; i++ {
		x[2*i] = v[i] * inv
	}
	for i := 0; 2*i+1 < n; i++ {
		x[2*i+1] = v[n-1-i] * inv
	}
}
