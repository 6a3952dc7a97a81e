package sgemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// naive is C = op(A) op(B) + beta C in float64.
func naive(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) []float64 {
	out := make([]float64, m*n)
	for i := range m {
		for j := range n {
			s := float64(beta) * float64(c[i*ldc+j])
			for p := range k {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			out[i*n+j] = s
		}
	}
	return out
}

func randSlice(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// TestGemmMatchesFloat64 checks every transposition, edge tiles, strides
// wider than the matrices, both betas and the parallel path against a
// float64 product.
func TestGemmMatchesFloat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, dims := range [][3]int{{1, 1, 1}, {6, 16, 1}, {7, 17, 3}, {5, 15, 33}, {64, 256, 128}, {200, 130, 70}, {768, 128, 128}} {
		m, n, k := dims[0], dims[1], dims[2]
		for _, transA := range []bool{false, true} {
			for _, transB := range []bool{false, true} {
				for _, beta := range []float32{0, 1} {
					lda, ldb, ldc := k+3, n+5, n+2
					ar, br := m, k
					if transA {
						lda, ar = m+3, k
					}
					if transB {
						ldb, br = k+5, n
					}
					a, b, c := randSlice(rng, ar*lda), randSlice(rng, br*ldb), randSlice(rng, m*ldc)
					want := naive(transA, transB, m, n, k, a, lda, b, ldb, beta, c, ldc)
					Gemm(transA, transB, m, n, k, a, lda, b, ldb, beta, c, ldc)
					worst := 0.0
					for i := range m {
						for j := range n {
							worst = max(worst, math.Abs(float64(c[i*ldc+j])-want[i*n+j]))
						}
					}
					if tol := 1e-5 * math.Sqrt(float64(k)) * 4; worst > tol {
						t.Errorf("%v transA=%v transB=%v beta=%v: off by %.3g", dims, transA, transB, beta, worst)
					}
				}
			}
		}
	}
}

func TestGemmLeavesTheRestOfC(t *testing.T) {
	c := make([]float32, 4*10)
	for i := range c {
		c[i] = 7
	}
	a := []float32{1, 2, 3, 4, 5, 6}
	b := []float32{1, 1, 1}
	Gemm(false, false, 2, 1, 3, a, 3, b, 1, 0, c, 10)
	if c[0] != 6 || c[10] != 15 || c[1] != 7 || c[11] != 7 || c[20] != 7 {
		t.Errorf("C = %v", c[:21])
	}
}

// BenchmarkGemm reports GFLOP/s on the shapes of the 256x256x3 separable
// operators' half-size products.
func BenchmarkGemm(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, dims := range [][3]int{{768, 128, 128}, {128, 256, 128}, {32, 256, 128}} {
		m, n, k := dims[0], dims[1], dims[2]
		a, bb, c := randSlice(rng, m*k), randSlice(rng, k*n), make([]float32, m*n)
		b.Run(fmt.Sprintf("%dx%dx%d", m, n, k), func(b *testing.B) {
			for b.Loop() {
				Gemm(false, false, m, n, k, a, k, bb, n, 0, c, n)
			}
			b.ReportMetric(float64(2*m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
