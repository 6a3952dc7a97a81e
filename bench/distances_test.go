package bench

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/restorelab/restorelab/restore"
)

// momentFeatures is a stand-in feature network: per channel, the mean, the
// standard deviation and the mean absolute horizontal difference.
type momentFeatures struct{ calls int }

func (f *momentFeatures) Features(_ context.Context, x *restore.Tensor) ([][]float32, error) {
	var out [][]float32
	s := x.Shape
	for i := range x.N {
		img := x.Item(i)
		var v []float32
		for c := range s.C {
			plane := img[c*s.H*s.W:][:s.H*s.W]
			var sum, sq, dx float64
			for k, p := range plane {
				sum += float64(p)
				sq += float64(p) * float64(p)
				if k%s.W > 0 {
					dx += math.Abs(float64(p - plane[k-1]))
				}
			}
			n := float64(len(plane))
			mean := sum / n
			v = append(v, float32(mean), float32(math.Sqrt(max(sq/n-mean*mean, 0))), float32(dx/n))
		}
		out = append(out, v)
		f.calls++
	}
	return out, nil
}

// distanceRun runs the baseline on n small images for sr4 and inpaint.
func distanceRun(t *testing.T, n int) (string, []Result) {
	t.Helper()
	dir := t.TempDir()
	var images []string
	for i := range n {
		x := restore.NewTensor(1, restore.Shape{C: 3, H: 32, W: 32})
		for k := range x.Data {
			x.Data[k] = float32((k*(i+2)+i*7)%64) / 63
		}
		p := filepath.Join(dir, string(rune('a'+i))+".png")
		if err := restore.SaveImage(p, x, nil); err != nil {
			t.Fatal(err)
		}
		images = append(images, p)
	}
	out := filepath.Join(dir, "out")
	results, _, err := Run(context.Background(), Config{Images: images, Tasks: []string{"sr4", "inpaint"}, Methods: []Entry{entry(t, "baseline")}, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	return out, results
}

func TestDistancesFromSavedImages(t *testing.T) {
	out, results := distanceRun(t, 4)
	f := &momentFeatures{}
	metrics, err := Distances(context.Background(), out, results, f, DistanceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Each clean image once for both tasks, then every restoration.
	if f.calls != 4+len(results) {
		t.Errorf("%d feature computations; want %d", f.calls, 4+len(results))
	}
	if len(metrics) != 2 {
		t.Fatalf("%d metrics; want one per task and method: %+v", len(metrics), metrics)
	}
	for _, m := range metrics {
		if m.Images != 4 || m.Features != 9 || m.Problem != "" || m.FID == nil || m.KIDMean == nil {
			t.Fatalf("metrics %+v", m)
		}
		if math.IsNaN(*m.FID) || *m.FID <= 0 || math.IsNaN(*m.KIDMean) {
			t.Errorf("%s: FID %g, KID %g", m.Task, *m.FID, *m.KIDMean)
		}
		// 4 images: every KID subset is the whole set, so there is no
		// spread to give; 4 images of 9 features are few.
		if m.KIDStd != nil || m.KIDSpread != KIDSpreadWholeSet || !m.FewImages {
			t.Errorf("%s: KID spread %v (%q), few images %v", m.Task, m.KIDStd, m.KIDSpread, m.FewImages)
		}
	}
	// The inpaint task's clean image is saved whole: it is the reference.
	if m, err := restore.LoadMeasurement(ImagePath(out, "inpaint", "a", "clean")); err != nil || m.Keep != nil {
		t.Errorf("inpaint's clean image has missing pixels (%v)", err)
	}
	// Recomputing from the files gives the same numbers, as a resumed run would.
	again, err := Distances(context.Background(), out, results, &momentFeatures{}, DistanceOptions{})
	if err != nil || *again[0].FID != *metrics[0].FID || *again[1].KIDMean != *metrics[1].KIDMean {
		t.Errorf("recomputed metrics differ: %+v, %v", again, err)
	}

	s := Summarise(results)
	AttachMetrics(s, metrics)
	md := Markdown(s, nil)
	if strings.Count(md, "± n/a (whole set)") != 2 || !strings.Contains(md, "fewer than the 9 feature dimensions") || !strings.Contains(md, "KID is unbiased") {
		t.Errorf("table:\n%s", md)
	}
	if err := WriteSummaryCSV(out, s); err != nil {
		t.Fatal(err)
	}
	csv, _ := os.ReadFile(filepath.Join(out, "summary.csv"))
	lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
	if len(lines) != 3 || !strings.HasSuffix(lines[0], ",fid,fid_low,fid_high,kid_mean,kid_std,kid_spread,few_images") || !strings.HasSuffix(lines[1], ",,n/a (whole set),true") {
		t.Errorf("summary.csv:\n%s", csv)
	}
}

// TestDistancesBootstrap: with a bootstrap, FID gets an interval around it
// and KID a spread, which the table shows.
func TestDistancesBootstrap(t *testing.T) {
	out, results := distanceRun(t, 5)
	metrics, err := Distances(context.Background(), out, results, &momentFeatures{}, DistanceOptions{Bootstrap: 50, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range metrics {
		if m.FIDLow == nil || !(*m.FIDLow <= *m.FIDHigh) || m.KIDStd == nil || !(*m.KIDStd > 0) || !strings.HasPrefix(m.KIDSpread, KIDSpreadBootstrap) {
			t.Errorf("%s: FID interval %v-%v, KID spread %v (%q)", m.Task, m.FIDLow, m.FIDHigh, m.KIDStd, m.KIDSpread)
		}
	}
	s := Summarise(results)
	AttachMetrics(s, metrics)
	if md := Markdown(s, nil); strings.Count(md, " [") < 2 || strings.Contains(md, "n/a") {
		t.Errorf("table:\n%s", md)
	}
}

func TestDistancesReportsTooFewImages(t *testing.T) {
	out, results := distanceRun(t, 1)
	metrics, err := Distances(context.Background(), out, results, &momentFeatures{}, DistanceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(metrics) != 2 || metrics[0].FID != nil || !strings.Contains(metrics[0].Problem, "at least 2 images") {
		t.Fatalf("metrics %+v", metrics)
	}
	s := Summarise(results)
	AttachMetrics(s, metrics)
	if md := Markdown(s, nil); !strings.Contains(md, "n/a (fewer than 2 images)") {
		t.Errorf("table:\n%s", md)
	}
}

func TestDistancesNeedsTheSavedImages(t *testing.T) {
	out, results := distanceRun(t, 2)
	if err := os.Remove(ImagePath(out, "sr4", "b", "baseline")); err != nil {
		t.Fatal(err)
	}
	_, err := Distances(context.Background(), out, results, &momentFeatures{}, DistanceOptions{})
	if err == nil || !strings.Contains(err.Error(), "b_baseline.png") || !strings.Contains(err.Error(), "saved images") {
		t.Errorf("missing restored image: %v", err)
	}
}

func TestMarkdownShowsDistancesOnlyWhereComputed(t *testing.T) {
	s := Summarise([]Result{{Task: "sr4", Method: "baseline", PSNR: 20}, {Task: "sr4", Method: "ddrm", PSNR: 21}, {Task: "deblur", Method: "ddrm", PSNR: 30}})
	fid, kid, sd := 12.5, 0.01, 0.002
	AttachMetrics(s, []Metrics{{Task: "sr4", Method: "ddrm", FID: &fid, KIDMean: &kid, KIDStd: &sd}})
	md := Markdown(s, nil)
	sr4, deblur, _ := strings.Cut(md, "### deblur")
	if !strings.Contains(sr4, "| FID ↓ | KID ↓ |") || strings.Count(sr4, NoFeatures) != 2 || !strings.Contains(sr4, "12.50") {
		t.Errorf("sr4 table, with distances for ddrm only:\n%s", sr4)
	}
	if strings.Contains(deblur, "FID") {
		t.Errorf("deblur table, without distances:\n%s", deblur)
	}
}
