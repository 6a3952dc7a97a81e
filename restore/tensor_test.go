package restore

import (
	"math"
	"testing"
)

func TestMeanStdMatchesTwoPass(t *testing.T) {
	x := ioTestTensor(5, Shape{C: 2, H: 3, W: 4}, 3)
	x.Data[7] = 1e3 // a large value, where one-pass sums lose digits in float32
	mean, std := MeanStd(x)
	for k := range x.Shape.Len() {
		var m float64
		for i := range x.N {
			m += float64(x.Item(i)[k])
		}
		m /= float64(x.N)
		var v float64
		for i := range x.N {
			d := float64(x.Item(i)[k]) - m
			v += d * d
		}
		sd := math.Sqrt(v / float64(x.N))
		if math.Abs(float64(mean.Data[k])-m) > 1e-6*max(1, math.Abs(m)) || math.Abs(float64(std.Data[k])-sd) > 1e-4*max(1, sd) {
			t.Fatalf("value %d: mean %g std %g, want %g %g", k, mean.Data[k], std.Data[k], m, sd)
		}
	}
	if one, sd := MeanStd(x.Image(2)); one.Data[0] != x.Item(2)[0] || sd.Data[0] != 0 {
		t.Errorf("one image: mean %g std %g", one.Data[0], sd.Data[0])
	}
	r := x.Image(1).Repeat(3)
	if r.N != 3 || r.Item(2)[5] != x.Item(1)[5] {
		t.Errorf("Repeat gave %d images, item 2 value %g", r.N, r.Item(2)[5])
	}
}
