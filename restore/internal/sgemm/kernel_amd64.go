package sgemm

import "golang.org/x/sys/cpu"

//go:noescape
func kernel6x16(k int, a *float32, aes, aps int, b *float32, bps int, c *float32, ldc int)

//go:noescape
func kernel6x32(k int, a *float32, aes, aps int, b *float32, bps int, c *float32, ldc int)

// fast reports whether an assembly kernel can run on this processor; wide
// whether the AVX-512 one can, which takes panels of 32 columns.
var (
	fast = cpu.X86.HasAVX2 && cpu.X86.HasFMA
	wide = fast && cpu.X86.HasAVX512F
)

func init() {
	if wide {
		nr = 32
	}
}

// kernel is C[0:mr][0:nr] += A B over k steps: A's mr values of step p at
// a[p*aps + i*aes], B's nr values at b[p*bps:], C's rows ldc apart.
func kernel(k int, a []float32, aes, aps int, b []float32, bps int, c []float32, ldc int) {
	if wide {
		kernel6x32(k, &a[0], 4*aes, 4*aps, &b[0], 4*bps, &c[0], ldc)
		return
	}
	kernel6x16(k, &a[0], 4*aes, 4*aps, &b[0], 4*bps, &c[0], ldc)
}
