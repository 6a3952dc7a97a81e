//go:build !amd64

package sgemm

// fast is false without the assembly kernel: Gemm uses gonum.
var fast = false

func kernel(k int, a []float32, aes, aps int, b []float32, bps int, c []float32, ldc int) {
	kernelGo(k, a, aes, aps, b, bps, c, ldc)
}
