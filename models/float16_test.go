package models

import (
	"math"
	"testing"
)

func TestFloat16KnownBits(t *testing.T) {
	tests := []struct {
		name string
		in   float32
		bits uint16
	}{
		{"one", 1, 0x3c00},
		{"minus two", -2, 0xc000},
		{"zero", 0, 0x0000},
		{"minus zero", float32(math.Copysign(0, -1)), 0x8000},
		{"one third", 1.0 / 3, 0x3555},
		{"tenth", 0.1, 0x2e66},
		{"largest", 65504, 0x7bff},
		// 65520 is halfway between 65504 and the next step, 65536, which
		// overflows; ties go to even, which is the overflow.
		{"overflow by rounding", 65520, 0x7c00},
		{"just below the overflow tie", 65519.996, 0x7bff},
		{"infinity", float32(math.Inf(1)), 0x7c00},
		{"minus infinity", float32(math.Inf(-1)), 0xfc00},
		// 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to even (1).
		{"tie to even, down", 1 + 1.0/2048, 0x3c00},
		// 1 + 3*2^-11 is halfway between 1+2^-10 (odd) and 1+2^-9 (even).
		{"tie to even, up", 1 + 3.0/2048, 0x3c02},
		{"just above a tie", 1 + 1.0/2048 + 1.0/(1<<20), 0x3c01},
		{"smallest subnormal", 1.0 / (1 << 24), 0x0001},
		// 2^-25 is halfway between 0 and the smallest subnormal: to even, 0.
		{"subnormal tie", 1.0 / (1 << 25), 0x0000},
		{"largest subnormal", 1023.0 / (1 << 24), 0x03ff},
		{"smallest normal", 1.0 / (1 << 14), 0x0400},
	}
	for _, tc := range tests {
		buf := make([]byte, 2)
		putFloat16s(buf, []float32{tc.in})
		if got := hostOrder.Uint16(buf); got != tc.bits {
			t.Errorf("%s: %g -> %#04x, want %#04x", tc.name, tc.in, got, tc.bits)
		}
	}
}

func TestFloat16Decode(t *testing.T) {
	tests := []struct {
		bits uint16
		want float32
	}{
		{0x3c00, 1},
		{0xc000, -2},
		{0x3555, 0.333251953125},
		{0x7bff, 65504},
		{0x0001, 1.0 / (1 << 24)},
		{0x7c00, float32(math.Inf(1))},
	}
	for _, tc := range tests {
		buf := make([]byte, 2)
		hostOrder.PutUint16(buf, tc.bits)
		got := make([]float32, 1)
		getFloat16s(got, buf)
		if got[0] != tc.want {
			t.Errorf("%#04x -> %g, want %g", tc.bits, got[0], tc.want)
		}
	}
	buf := []byte{0, 0}
	hostOrder.PutUint16(buf, 0x7e00)
	got := make([]float32, 1)
	getFloat16s(got, buf)
	if !math.IsNaN(float64(got[0])) {
		t.Errorf("0x7e00 -> %g, want NaN", got[0])
	}
}

// Every finite half-precision value survives the trip to float32 and back.
func TestFloat16RoundTrip(t *testing.T) {
	for b := range 1 << 16 {
		bits := uint16(b)
		if bits&0x7c00 == 0x7c00 && bits&0x03ff != 0 {
			continue // NaN payloads need not survive
		}
		buf := make([]byte, 2)
		hostOrder.PutUint16(buf, bits)
		f := make([]float32, 1)
		getFloat16s(f, buf)
		putFloat16s(buf, f)
		if got := hostOrder.Uint16(buf); got != bits {
			t.Fatalf("%#04x -> %g -> %#04x", bits, f[0], got)
		}
	}
}
