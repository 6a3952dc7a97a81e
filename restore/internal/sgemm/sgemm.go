// Package sgemm multiplies float32 matrices for restore's operators: a
// blocked product around a 6x16 micro-kernel in AVX2 and FMA assembly (6x32
// with AVX-512), packing both operands, split over the available cores. On processors or
// architectures without the kernel it calls gonum's Sgemm. It exists
// because gonum's pure-Go Sgemm runs the separable operators at about 9
// GFLOP/s on two cores, an order of magnitude below the hardware.
package sgemm

import (
	"runtime"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// mr is the micro-kernel's tile height; nr its width, 16 for AVX2 and 32
// for AVX-512.
const mr = 6

var nr = 16

// minWork is the m*n*k below which the product runs on one goroutine.
const minWork = 1 << 18

// Gemm computes C = op(A) op(B) + beta C for row-major matrices, op(A)
// being A or A^T (m x k) and op(B) being B or B^T (k x n), with leading
// dimensions lda, ldb and ldc (row strides). beta must be 0 or 1. Large
// products are split over the available cores.
func Gemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemmWith(runtime.GOMAXPROCS(0), transA, transB, m, n, k, a, lda, b, ldb, beta, c, ldc)
}

// Serial is Gemm on the calling goroutine alone, for callers that split
// their work over the cores themselves.
func Serial(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemmWith(1, transA, transB, m, n, k, a, lda, b, ldb, beta, c, ldc)
}

func gemmWith(procs int, transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if beta == 0 {
		for i := range m {
			clear(c[i*ldc : i*ldc+n])
		}
	}
	if k == 0 {
		return
	}
	if !fast {
		tA, tB := blas.NoTrans, blas.NoTrans
		if transA {
			tA = blas.Trans
		}
		if transB {
			tB = blas.Trans
		}
		blas32.Implementation().Sgemm(tA, tB, m, n, k, 1, a, lda, b, ldb, 1, c, ldc)
		return
	}
	gemm(procs, transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
}

// buffers are the packed operands, reused across calls.
var buffers = sync.Pool{New: func() any { return new([]float32) }}

func getBuf(n int) *[]float32 {
	p := buffers.Get().(*[]float32)
	if cap(*p) < n {
		*p = make([]float32, n)
	}
	*p = (*p)[:n]
	return p
}

// gemm is C += op(A) op(B) with the assembly kernel. The kernel reads A
// in place (op(A)'s rows are strided either way) except for a last, short
// row panel, and B in place where op(B) is B and a panel is whole; the
// other B panels are packed first, in parallel. The workers then take a
// share of the row panels, or of the column panels when there are few rows.
func gemm(procs int, transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	np, mp := (n+nr-1)/nr, (m+mr-1)/mr
	// aes and aps: how far apart op(A)'s rows and its steps are in a.
	aes, aps := lda, 1
	if transA {
		aes, aps = 1, lda
	}
	direct := func(q int) bool { return !transB && (q+1)*nr <= n }
	bp := getBuf(np * k * nr)
	defer buffers.Put(bp)
	workers := 1
	if m*n*k >= minWork {
		workers = procs
	}
	byRows := mp >= 2*workers || mp >= np
	var wg sync.WaitGroup
	parallel := func(f func(w int)) {
		if workers == 1 {
			f(0)
			return
		}
		for w := range workers {
			wg.Go(func() { f(w) })
		}
		wg.Wait()
	}
	packed := false
	for q := range np {
		packed = packed || !direct(q)
	}
	if packed {
		parallel(func(w int) {
			for q := w; q < np; q += workers {
				if !direct(q) {
					packB((*bp)[q*k*nr:(q+1)*k*nr], transB, q, n, k, b, ldb)
				}
			}
		})
	}
	parallel(func(w int) {
		buf := getBuf(k*mr + mr*nr)
		defer buffers.Put(buf)
		short, tile := (*buf)[:k*mr], (*buf)[k*mr:]
		for p := range mp {
			if byRows && p%workers != w {
				continue
			}
			i0 := p * mr
			rows := min(mr, m-i0)
			ap, es, ps := a[i0*aes:], aes, aps
			if rows < mr {
				packA(short, transA, i0, rows, k, a, lda)
				ap, es, ps = short, 1, mr
			}
			for q := range np {
				if !byRows && q%workers != w {
					continue
				}
				j0 := q * nr
				cols := min(nr, n-j0)
				bpanel, bs := (*bp)[q*k*nr:(q+1)*k*nr], nr
				if direct(q) {
					bpanel, bs = b[j0:], ldb
				}
				if rows == mr && cols == nr {
					kernel(k, ap, es, ps, bpanel, bs, c[i0*ldc+j0:], ldc)
					continue
				}
				clear(tile)
				kernel(k, ap, es, ps, bpanel, bs, tile, nr)
				for i := range rows {
					dst := c[(i0+i)*ldc+j0:][:cols]
					for j := range dst {
						dst[j] += tile[i*nr+j]
					}
				}
			}
		}
	})
}

// packB copies panel q of op(B) (k x n), nr columns wide, into dst: for
// each p < k, op(B)[p][q*nr : q*nr+nr], zero past n.
func packB(dst []float32, trans bool, q, n, k int, b []float32, ldb int) {
	j0 := q * nr
	cols := min(nr, n-j0)
	for p := range k {
		row := dst[p*nr : (p+1)*nr]
		if trans {
			for j := range cols {
				row[j] = b[(j0+j)*ldb+p]
			}
		} else {
			copy(row, b[p*ldb+j0:p*ldb+j0+cols])
		}
		clear(row[cols:])
	}
}

// packA copies rows i0..i0+rows-1 of op(A) (m x k) into one panel: for
// each p < k, the mr values op(A)[i0+i][p], zero past the rows.
func packA(dst []float32, trans bool, i0, rows, k int, a []float32, lda int) {
	for p := range k {
		g := dst[p*mr : (p+1)*mr]
		for i := range rows {
			if trans {
				g[i] = a[p*lda+i0+i]
			} else {
				g[i] = a[(i0+i)*lda+p]
			}
		}
		clear(g[rows:])
	}
}

// kernelGo is the micro-kernel in Go, for architectures without the
// assembly one.
func kernelGo(k int, a []float32, aes, aps int, b []float32, bps int, c []float32, ldc int) {
	var acc [mr][32]float32
	for p := range k {
		bp := b[p*bps:][:nr]
		for i := range mr {
			av := a[p*aps+i*aes]
			for j, bv := range bp {
				acc[i][j] += av * bv
			}
		}
	}
	for i := range mr {
		row := c[i*ldc:][:nr]
		for j := range row {
			row[j] += acc[i][j]
		}
	}
}
