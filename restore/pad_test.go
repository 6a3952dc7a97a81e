package restore

import "testing"

func TestPadReflectAndCrop(t *testing.T) {
	x := NewTensor(2, Shape{C: 2, H: 2, W: 3})
	for k := range x.Data {
		x.Data[k] = float32(k)
	}
	p, err := PadReflect(x, 5, 8)
	if err != nil {
		t.Fatal(err)
	}
	// Row 0 of channel 0 of image 0 is 0 1 2, reflected: 0 1 2 | 2 1 0 | 0 1.
	want := []float32{0, 1, 2, 2, 1, 0, 0, 1}
	for j, v := range want {
		if got := p.Data[j]; got != v {
			t.Fatalf("padded row %v, want %v", p.Data[:8], want)
		}
	}
	// Rows reflect too: padded rows 2, 3, 4 are rows 1, 0, 0.
	for i, src := range []int{0, 1, 1, 0, 0} {
		if p.Data[i*8] != x.Data[src*3] {
			t.Errorf("padded row %d starts %v, want row %d's %v", i, p.Data[i*8], src, x.Data[src*3])
		}
	}
	back, err := Crop(p, 2, 3)
	if err != nil || !equalBits(back.Data, x.Data) {
		t.Errorf("crop of the padding: %v, %v; want the original", back, err)
	}
	if _, err := PadReflect(x, 1, 3); err == nil {
		t.Error("padding to a smaller size accepted")
	}
	keep := []bool{true, false, true, false, true, true}
	pk := PadMask(keep, 2, 3, 3, 4)
	if len(pk) != 12 || pk[3] != true || pk[8] != false {
		t.Errorf("padded mask %v", pk)
	}
	if ck := CropMask(pk, 4, 2, 3); len(ck) != 6 || ck[1] || !ck[5] {
		t.Errorf("cropped mask %v", ck)
	}
}
