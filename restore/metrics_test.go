package restore

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// TestMetricsMatchScikitImage compares with the values that
// testdata/make_metric_fixtures.py computed with scikit-image 0.19.
func TestMetricsMatchScikitImage(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "metrics_fixture.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fx struct {
		Pairs []struct {
			Name, A, B string
			Shape      []int
			PSNR, SSIM float64
		}
	}
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	if len(fx.Pairs) == 0 {
		t.Fatal("fixture has no image pairs")
	}
	for _, p := range fx.Pairs {
		a, err := LoadImage(filepath.Join("testdata", p.A))
		if err != nil {
			t.Fatal(err)
		}
		b, err := LoadImage(filepath.Join("testdata", p.B))
		if err != nil {
			t.Fatal(err)
		}
		if want := (Shape{p.Shape[0], p.Shape[1], p.Shape[2]}); a.N != 1 || a.Shape != want || b.Shape != want {
			t.Fatalf("%s: loaded shapes %v and %v, want %v", p.Name, a.Shape, b.Shape, want)
		}
		psnr := PSNR(a.Data, b.Data)
		if math.Abs(psnr-p.PSNR) > 1e-4*p.PSNR {
			t.Errorf("%s: PSNR %.8f, scikit-image %.8f", p.Name, psnr, p.PSNR)
		}
		ssim, err := SSIM(a.Data, b.Data, a.Shape)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(ssim-p.SSIM) > 1e-4 {
			t.Errorf("%s: SSIM %.8f, scikit-image %.8f", p.Name, ssim, p.SSIM)
		}
		t.Logf("%s %v: PSNR %.10f (skimage %.10f), SSIM %.10f (skimage %.10f, diff %.2g)",
			p.Name, a.Shape, psnr, p.PSNR, ssim, p.SSIM, ssim-p.SSIM)
	}
}

func TestMetricsClosedForms(t *testing.T) {
	s := Shape{C: 3, H: 16, W: 19}
	a := make([]float32, s.Len())
	for i := range a {
		a[i] = float32(math.Mod(float64(i)*0.37, 1)) * 0.8
	}
	if got := PSNR(a, a); !math.IsInf(got, 1) {
		t.Errorf("PSNR of identical images = %v, want +Inf", got)
	}
	ssim, err := SSIM(a, a, s)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(ssim-1) > 1e-12 {
		t.Errorf("SSIM of identical images = %v, want 1", ssim)
	}
	for _, d := range []float32{0.125, 0.1, 0.01} {
		b := make([]float32, len(a))
		for i, v := range a {
			b[i] = v + d
		}
		want := -20 * math.Log10(float64(d))
		if got := PSNR(a, b); math.Abs(got-want) > 1e-4*want {
			t.Errorf("PSNR for a constant offset %v = %v, want %v", d, got, want)
		}
	}
}

func TestMetricsTensorMeans(t *testing.T) {
	s := Shape{C: 1, H: 12, W: 12}
	a, b := NewTensor(2, s), NewTensor(2, s)
	for i := range a.Data {
		a.Data[i] = 0.5
		b.Data[i] = 0.5
	}
	for i := range s.Len() {
		b.Data[i] = 0.25          // image 0: offset 0.25, 12.04 dB
		b.Data[s.Len()+i] = 0.375 // image 1: offset 0.125, 18.06 dB
	}
	got, err := PSNRTensor(a, b)
	if err != nil {
		t.Fatal(err)
	}
	want := (-20*math.Log10(0.25) - 20*math.Log10(0.125)) / 2
	if math.Abs(got-want) > 1e-9 {
		t.Errorf("PSNRTensor = %v, want the mean of per-image PSNR %v", got, want)
	}
	ssim, err := SSIMTensor(a, a)
	if err != nil || math.Abs(ssim-1) > 1e-12 {
		t.Errorf("SSIMTensor of identical batches = %v, %v; want 1", ssim, err)
	}
	if _, err := PSNRTensor(a, NewTensor(1, s)); err == nil {
		t.Error("PSNRTensor accepted batches of different sizes")
	}
	if _, err := SSIMTensor(a, NewTensor(2, Shape{C: 1, H: 12, W: 13})); err == nil {
		t.Error("SSIMTensor accepted images of different shapes")
	}
}

func TestSSIMRejectsSmallOrMismatchedImages(t *testing.T) {
	s := Shape{C: 1, H: 10, W: 40}
	a := make([]float32, s.Len())
	if _, err := SSIM(a, a, s); err == nil {
		t.Error("SSIM accepted an image 10 pixels high")
	}
	if _, err := SSIM(a, a[1:], s); err == nil {
		t.Error("SSIM accepted images of different lengths")
	}
}

// TestConsistency checks ||H x - y|| / sqrt(m) against its closed form for
// the block average, whose H x is the mean of each block, per image.
func TestConsistency(t *testing.T) {
	op, err := NewBlockAverage(Shape{C: 1, H: 4, W: 4}, 2)
	if err != nil {
		t.Fatal(err)
	}
	x := NewTensor(2, op.InShape())
	for k := range x.Data {
		x.Data[k] = float32(k%5) / 4
	}
	y := NewTensor(2, op.OutShape())
	for k := range y.Data {
		y.Data[k] = float32(k%3) / 2
	}
	var want float64
	for b := range 2 {
		var sum float64
		for i := range 2 {
			for j := range 2 {
				var mean float64
				for di := range 2 {
					for dj := range 2 {
						mean += float64(x.Item(b)[(2*i+di)*4+2*j+dj]) / 4
					}
				}
				d := mean - float64(y.Item(b)[i*2+j])
				sum += d * d
			}
		}
		want += math.Sqrt(sum/4) / 2
	}
	if got := Consistency(op, x, y); math.Abs(got-want) > 1e-6 {
		t.Errorf("Consistency = %v, want %v", got, want)
	}
}
