package models

import (
	"encoding/binary"

	"github.com/x448/float16"
)

// ONNX Runtime reads and writes tensors in host byte order.
var hostOrder = binary.NativeEndian

// putFloat16s writes src as IEEE 754 half-precision values into dst, which
// must hold 2*len(src) bytes. Conversion rounds to nearest, ties to even;
// values beyond ±65504 become ±Inf.
func putFloat16s(dst []byte, src []float32) {
	for i, v := range src {
		hostOrder.PutUint16(dst[2*i:], float16.Fromfloat32(v).Bits())
	}
}

// getFloat16s reads half-precision values from src, two bytes each, into dst.
// The conversion to float32 is exact.
func getFloat16s(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = float16.Frombits(hostOrder.Uint16(src[2*i:])).Float32()
	}
}
