package restore

import (
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/mat"
)

// sepInvSqrt2 scales the sums and differences of the even/odd butterfly.
const sepInvSqrt2 = 1 / math.Sqrt2

// sepBasis is an n x n orthogonal matrix Q, the U or V of one 1-D matrix of
// a separable operator, stored as Q = F blockdiag(Be, Bo) P.
//
// When the 1-D matrix is centrosymmetric (unchanged by reversing both its
// rows and its columns, as every symmetric kernel on a symmetric grid with
// reflected borders is), it maps symmetric vectors to symmetric ones and
// antisymmetric to antisymmetric, so its SVD splits into two halves. F is then
// the orthogonal butterfly whose first he = ceil(n/2) columns are the
// symmetric vectors (e_i + e_(n-1-i))/sqrt2 for i < n/2 (and e_(n/2) for odd
// n) and whose other ho = n/2 columns are the antisymmetric
// (e_i - e_(n-1-i))/sqrt2; Be (he x he) and Bo (ho x ho) are dense, and a
// product with Q costs a butterfly pass plus two half-size products, half the
// work of a dense one. Otherwise F = I, ho = 0 and Be = Q. P orders the
// columns of the blocks into spectral order, as segments.
type sepBasis struct {
	n, he, ho int
	split     bool
	be, bet   []float32 // Be and its transpose, row-major
	bo, bot   []float32 // Bo and its transpose, row-major
	segs      []sepSeg
}

// sepSeg says that columns start..start+count-1 of Bo (odd) or Be are the
// spectral components pos..pos+count-1.
type sepSeg struct {
	odd               bool
	start, count, pos int
}

// sepFactor computes the SVD A = U diag(s) V^T of an m x n 1-D matrix with
// 1 <= m <= n. s lists the m singular values in spectral order: those of the
// symmetric half, then those of the antisymmetric half, each decreasing (or
// all decreasing when A does not split). Values at or below
// max(m, n) * 2^-52 times the largest are rounding noise of an exactly
// singular matrix and are set to 0. ok is false if an SVD did not converge.
func sepFactor(a mat.Matrix) (u, v *sepBasis, s []float64, ok bool) {
	m, n := a.Dims()
	if !sepCentrosymmetric(a) {
		ud, vd, sd, conv := sepSVD(a, m, n)
		if !conv {
			return nil, nil, nil, false
		}
		sepZeroNoise(sd, m, n)
		return sepNewBasis(false, ud, nil, m, 0), sepNewBasis(false, vd, nil, m, 0), sd, true
	}
	var fa, b mat.Dense
	fa.Mul(sepButterfly(m).T(), a)
	b.Mul(&fa, sepButterfly(n))
	// b is block diagonal up to rounding; its off-diagonal blocks are dropped.
	me, he := (m+1)/2, (n+1)/2
	ue, ve, se, convE := sepSVD(b.Slice(0, me, 0, he), me, he)
	var ao mat.Matrix // gonum has no empty matrices
	if m > me {
		ao = b.Slice(me, m, he, n)
	}
	uo, vo, so, convO := sepSVD(ao, m-me, n-he)
	if !convE || !convO {
		return nil, nil, nil, false
	}
	s = append(se, so...)
	sepZeroNoise(s, m, n)
	return sepNewBasis(true, ue, uo, me, m-me), sepNewBasis(true, ve, vo, me, m-me), s, true
}

// sepSVD is the full SVD of an m x n block with m <= n; a is only read when
// neither dimension is 0.
func sepSVD(a mat.Matrix, m, n int) (u, v *mat.Dense, s []float64, ok bool) {
	switch {
	case n == 0:
		return nil, nil, nil, true
	case m == 0:
		// Every direction is in the null space.
		v = mat.NewDense(n, n, nil)
		for i := range n {
			v.Set(i, i, 1)
		}
		return nil, v, nil, true
	}
	var svd mat.SVD
	if !svd.Factorize(a, mat.SVDFull) {
		return nil, nil, nil, false
	}
	u, v = new(mat.Dense), new(mat.Dense)
	svd.UTo(u)
	svd.VTo(v)
	return u, v, svd.Values(nil), true
}

// sepZeroNoise sets the singular values of an m x n matrix that are rounding
// noise to 0.
func sepZeroNoise(s []float64, m, n int) {
	top := 0.0
	for _, v := range s {
		top = max(top, v)
	}
	tol := float64(max(m, n)) * 0x1p-52 * top
	for i, v := range s {
		if v <= tol {
			s[i] = 0
		}
	}
}

// sepCentrosymmetric reports whether a equals itself with rows and columns
// reversed, up to rounding (1e-12 of its largest entry).
func sepCentrosymmetric(a mat.Matrix) bool {
	m, n := a.Dims()
	top, diff := 0.0, 0.0
	for i := range m {
		for j := range n {
			x := a.At(i, j)
			top = max(top, math.Abs(x))
			diff = max(diff, math.Abs(x-a.At(m-1-i, n-1-j)))
		}
	}
	return diff <= 1e-12*top
}

// sepButterfly returns the n x n matrix F described at sepBasis.
func sepButterfly(n int) *mat.Dense {
	f := mat.NewDense(n, n, nil)
	he := (n + 1) / 2
	for i := range n / 2 {
		f.Set(i, i, sepInvSqrt2)
		f.Set(n-1-i, i, sepInvSqrt2)
		f.Set(i, he+i, sepInvSqrt2)
		f.Set(n-1-i, he+i, -sepInvSqrt2)
	}
	if n%2 == 1 {
		f.Set(n/2, n/2, 1)
	}
	return f
}

// sepNewBasis builds a basis from its blocks (bo nil when empty), of which
// the first re columns of be and ro of bo are the range of the 1-D matrix and
// come first in spectral order, the null space following.
func sepNewBasis(split bool, be, bo *mat.Dense, re, ro int) *sepBasis {
	q := &sepBasis{split: split}
	if be != nil {
		q.he, _ = be.Dims()
		q.be, q.bet = sepFloat32(be), sepFloat32(be.T())
	}
	if bo != nil {
		q.ho, _ = bo.Dims()
		q.bo, q.bot = sepFloat32(bo), sepFloat32(bo.T())
	}
	q.n = q.he + q.ho
	for _, s := range []sepSeg{
		{false, 0, re, 0},
		{true, 0, ro, re},
		{false, re, q.he - re, re + ro},
		{true, ro, q.ho - ro, re + ro + q.he - re},
	} {
		if s.count == 0 {
			continue
		}
		// Merge runs that are contiguous in both orders into one product.
		if k := len(q.segs) - 1; k >= 0 {
			if p := q.segs[k]; p.odd == s.odd && p.start+p.count == s.start && p.pos+p.count == s.pos {
				q.segs[k].count += s.count
				continue
			}
		}
		q.segs = append(q.segs, s)
	}
	return q
}

// block returns Be or Bo, its transpose and its size.
func (q *sepBasis) block(odd bool) (b, bt []float32, h int) {
	if odd {
		return q.bo, q.bot, q.ho
	}
	return q.be, q.bet, q.he
}

// The products below take matrices as row-major slices with a leading
// dimension (row stride). tmp holds at least n times the other dimension.

// leftT computes dst = Q^T src for src of n rows of w values.
func (q *sepBasis) leftT(dst []float32, ldd int, src []float32, lds, w int, tmp []float32) {
	e, le, o, lo := src, lds, []float32(nil), 0
	if q.split {
		e, o, le, lo = tmp[:q.he*w], tmp[q.he*w:q.n*w], w, w
		sepFoldRows(e, o, src, lds, q.n, w)
	}
	for _, s := range q.segs {
		_, bt, h := q.block(s.odd)
		in, ld := e, le
		if s.odd {
			in, ld = o, lo
		}
		sepGemm(blas.NoTrans, blas.NoTrans, s.count, w, h, bt[s.start*h:], h, in, ld, 0, dst[s.pos*ldd:], ldd)
	}
}

// left computes dst = Q src for src of n spectral rows of w values.
func (q *sepBasis) left(dst []float32, ldd int, src []float32, lds, w int, tmp []float32) {
	e, le, o, lo := dst, ldd, []float32(nil), 0
	if q.split {
		e, o, le, lo = tmp[:q.he*w], tmp[q.he*w:q.n*w], w, w
	}
	var begun [2]bool
	for _, s := range q.segs {
		b, _, h := q.block(s.odd)
		out, ld, k := e, le, 0
		if s.odd {
			out, ld, k = o, lo, 1
		}
		beta := float32(0)
		if begun[k] {
			beta = 1
		}
		begun[k] = true
		sepGemm(blas.NoTrans, blas.NoTrans, h, w, s.count, b[s.start:], h, src[s.pos*lds:], lds, beta, out, ld)
	}
	if q.split {
		sepUnfoldRows(dst, ldd, e, o, q.n, w)
	}
}

// right computes dst = src Q for src of r rows of n values.
func (q *sepBasis) right(dst []float32, ldd int, src []float32, lds, r int, tmp []float32) {
	e, le, o, lo := src, lds, []float32(nil), 0
	if q.split {
		e, o, le, lo = tmp[:r*q.he], tmp[r*q.he:r*q.n], q.he, q.ho
		sepFoldCols(e, o, src, lds, r, q.n)
	}
	for _, s := range q.segs {
		_, bt, h := q.block(s.odd)
		in, ld := e, le
		if s.odd {
			in, ld = o, lo
		}
		sepGemm(blas.NoTrans, blas.Trans, r, s.count, h, in, ld, bt[s.start*h:], h, 0, dst[s.pos:], ldd)
	}
}

// rightT computes dst = src Q^T for src of r rows of n spectral values.
func (q *sepBasis) rightT(dst []float32, ldd int, src []float32, lds, r int, tmp []float32) {
	e, le, o, lo := dst, ldd, []float32(nil), 0
	if q.split {
		e, o, le, lo = tmp[:r*q.he], tmp[r*q.he:r*q.n], q.he, q.ho
	}
	var begun [2]bool
	for _, s := range q.segs {
		b, _, h := q.block(s.odd)
		out, ld, k := e, le, 0
		if s.odd {
			out, ld, k = o, lo, 1
		}
		beta := float32(0)
		if begun[k] {
			beta = 1
		}
		begun[k] = true
		sepGemm(blas.NoTrans, blas.Trans, r, h, s.count, src[s.pos:], lds, b[s.start:], h, beta, out, ld)
	}
	if q.split {
		sepUnfoldCols(dst, ldd, e, o, r, q.n)
	}
}

// sepFoldRows applies F^T to the n rows (w values each, stride lds) of src,
// writing the symmetric half to e and the antisymmetric half to o, compact.
func sepFoldRows(e, o, src []float32, lds, n, w int) {
	for i := range n / 2 {
		a, b := src[i*lds:i*lds+w], src[(n-1-i)*lds:][:w]
		ei, oi := e[i*w:][:w], o[i*w:][:w]
		for j := range a {
			ei[j] = (a[j] + b[j]) * sepInvSqrt2
			oi[j] = (a[j] - b[j]) * sepInvSqrt2
		}
	}
	if n%2 == 1 {
		copy(e[n/2*w:][:w], src[n/2*lds:])
	}
}

// sepUnfoldRows applies F, the inverse of sepFoldRows.
func sepUnfoldRows(dst []float32, ldd int, e, o []float32, n, w int) {
	for i := range n / 2 {
		ei, oi := e[i*w:][:w], o[i*w:][:w]
		a, b := dst[i*ldd:i*ldd+w], dst[(n-1-i)*ldd:][:w]
		for j := range ei {
			a[j] = (ei[j] + oi[j]) * sepInvSqrt2
			b[j] = (ei[j] - oi[j]) * sepInvSqrt2
		}
	}
	if n%2 == 1 {
		copy(dst[n/2*ldd:][:w], e[n/2*w:][:w])
	}
}

// sepFoldCols applies F to the right of the r rows (n values each, stride
// lds) of src, writing r x he and r x ho compact halves to e and o.
func sepFoldCols(e, o, src []float32, lds, r, n int) {
	he, ho := (n+1)/2, n/2
	for k := range r {
		row := src[k*lds:][:n]
		ek, ox := e[k*he:][:he], o[k*ho:][:ho]
		for i := range ox {
			a, b := row[i], row[n-1-i]
			ek[i] = (a + b) * sepInvSqrt2
			ox[i] = (a - b) * sepInvSqrt2
		}
		if n%2 == 1 {
			ek[ho] = row[ho]
		}
	}
}

// sepUnfoldCols applies F^T to the right, the inverse of sepFoldCols.
func sepUnfoldCols(dst []float32, ldd int, e, o []float32, r, n int) {
	he, ho := (n+1)/2, n/2
	for k := range r {
		row := dst[k*ldd:][:n]
		ek, ox := e[k*he:][:he], o[k*ho:][:ho]
		for i := range ox {
			row[i] = (ek[i] + ox[i]) * sepInvSqrt2
			row[n-1-i] = (ek[i] - ox[i]) * sepInvSqrt2
		}
		if n%2 == 1 {
			row[ho] = ek[ho]
		}
	}
}
