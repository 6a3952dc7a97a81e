package restore

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestTaskMask(t *testing.T) {
	inpaint, _ := LookupTask("inpaint")
	sr4, _ := LookupTask("sr4")
	if !inpaint.TakesMask() || sr4.TakesMask() {
		t.Fatal("only inpaint takes a mask")
	}
	if keep, err := sr4.Mask("", 8, 8, 1); keep != nil || err != nil {
		t.Errorf("sr4 without a mask file: %v, %v; want nil, nil", keep, err)
	}
	if _, err := sr4.Mask("m.png", 8, 8, 1); err == nil || !strings.Contains(err.Error(), "inpaint") {
		t.Errorf("sr4 with a mask file: %v", err)
	}
	drawn, err := inpaint.Mask("", 8, 6, 3)
	if err != nil || len(drawn) != 48 {
		t.Fatalf("inpaint draws %d entries (%v), want 48", len(drawn), err)
	}
	missing := 0
	for _, k := range drawn {
		if !k {
			missing++
		}
	}
	if missing == 0 || missing == 48 {
		t.Errorf("drawn mask misses %d of 48 pixels", missing)
	}
	path := filepath.Join(t.TempDir(), "mask.png")
	img := NewTensor(1, Shape{C: 1, H: 8, W: 6})
	for k := range img.Data {
		if drawn[k] {
			img.Data[k] = 1
		}
	}
	if err := SaveImage(path, img, nil); err != nil {
		t.Fatal(err)
	}
	read, err := inpaint.Mask(path, 8, 6, 0)
	if err != nil {
		t.Fatal(err)
	}
	for k := range read {
		if read[k] != drawn[k] {
			t.Fatalf("mask read back differs at pixel %d", k)
		}
	}
	if _, err := inpaint.Mask(path, 4, 8, 0); err == nil || !strings.Contains(err.Error(), "size") {
		t.Errorf("mask of the wrong size: %v", err)
	}
}
