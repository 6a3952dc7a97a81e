package viz_test

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot"

	"github.com/restorelab/restorelab/restore"
	"github.com/restorelab/restorelab/viz"
)

func TestImage(t *testing.T) {
	nan := float32(math.NaN())
	gray := &restore.Tensor{N: 2, Shape: restore.Shape{C: 1, H: 1, W: 4}, Data: []float32{
		0, 0, 0, 0,
		-1, 0.5, 2, nan,
	}}
	img, err := viz.Image(gray, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	g, ok := img.(*image.Gray)
	if !ok {
		t.Fatalf("one channel gave %T, want *image.Gray", img)
	}
	if want := []uint8{0, 128, 255, 0}; !bytes.Equal(g.Pix, want) {
		t.Errorf("[0, 1] pixels %v, want %v", g.Pix, want)
	}
	img, _ = viz.Image(gray, 1, true)
	if want := []uint8{0, 191, 255, 0}; !bytes.Equal(img.(*image.Gray).Pix, want) {
		t.Errorf("[-1, 1] pixels %v, want %v", img.(*image.Gray).Pix, want)
	}

	rgb := &restore.Tensor{N: 1, Shape: restore.Shape{C: 3, H: 1, W: 2}, Data: []float32{1, 0, 0, 1, 0, 0.2}}
	img, err = viz.Image(rgb, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := img.(*image.NRGBA).Pix; !bytes.Equal(got, []uint8{255, 0, 0, 255, 0, 255, 51, 255}) {
		t.Errorf("RGB pixels %v", got)
	}

	for name, c := range map[string]struct {
		t *restore.Tensor
		i int
	}{
		"nil":          {nil, 0},
		"index":        {gray, 2},
		"negative":     {gray, -1},
		"two channels": {restore.NewTensor(1, restore.Shape{C: 2, H: 2, W: 2}), 0},
		"short data":   {&restore.Tensor{N: 1, Shape: restore.Shape{C: 1, H: 2, W: 2}, Data: make([]float32, 3)}, 0},
		"no pixels":    {restore.NewTensor(1, restore.Shape{C: 1, H: 0, W: 2}), 0},
	} {
		if _, err := viz.Image(c.t, c.i, false); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func solid(w, h int, c color.Color) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, c)
		}
	}
	return img
}

func TestGridLayout(t *testing.T) {
	red, blue := color.NRGBA{R: 255, A: 255}, color.NRGBA{B: 255, A: 255}
	checker := image.NewNRGBA(image.Rect(0, 0, 2, 2))
	checker.Set(0, 0, red)
	checker.Set(1, 1, red)
	checker.Set(1, 0, blue)
	checker.Set(0, 1, blue)
	// Row 0: a 2x2 checker beside an 8x8 image; row 1: a 4x2 image and an empty cell.
	cells := [][]image.Image{{checker, solid(8, 8, blue)}, {solid(4, 2, red)}}
	g, err := viz.Grid(cells, nil, nil, viz.GridOptions{Gap: 1})
	if err != nil {
		t.Fatal(err)
	}
	// Row heights 8 and 2; column widths 8 and 8; gaps of 1 around and between.
	if got, want := g.Bounds(), image.Rect(0, 0, 1+8+1+8+1, 1+8+1+2+1); got != want {
		t.Fatalf("grid is %v, want %v", got, want)
	}
	// The checker is enlarged 4 times by nearest neighbour: sharp 4x4 squares.
	for _, p := range []struct {
		x, y int
		want color.NRGBA
	}{{1, 1, red}, {4, 4, red}, {5, 1, blue}, {8, 4, blue}, {1, 5, blue}, {5, 5, red}, {8, 8, red}} {
		if got := g.NRGBAAt(p.x, p.y); got != p.want {
			t.Errorf("pixel (%d, %d) = %v, want %v", p.x, p.y, got, p.want)
		}
	}
	// The 4x2 cell is centred in its 8 pixel column; the rest is background.
	if got := g.NRGBAAt(1+2, 10); got != red {
		t.Errorf("4x2 cell pixel = %v, want red", got)
	}
	if got := g.NRGBAAt(1+1, 10); got != (color.NRGBA{255, 255, 255, 255}) {
		t.Errorf("pixel beside the 4x2 cell = %v, want white", got)
	}

	// Labels add room on the left and on top, and put ink there.
	lg, err := viz.Grid(cells, []string{"first", "second"}, []string{"a", "b"}, viz.GridOptions{Gap: 1})
	if err != nil {
		t.Fatal(err)
	}
	if lg.Bounds().Dx() <= g.Bounds().Dx() || lg.Bounds().Dy() <= g.Bounds().Dy() {
		t.Errorf("labelled grid %v is not larger than %v", lg.Bounds(), g.Bounds())
	}
	if !hasInk(lg, image.Rect(0, 0, lg.Bounds().Dx()-2*8-2, lg.Bounds().Dy())) {
		t.Error("no row label ink")
	}
}

// hasInk reports whether r of img holds a dark pixel.
func hasInk(img *image.NRGBA, r image.Rectangle) bool {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if c := img.NRGBAAt(x, y); c.R < 128 && c.G < 128 && c.B < 128 {
				return true
			}
		}
	}
	return false
}

func TestGridErrors(t *testing.T) {
	img := solid(2, 2, color.Black)
	for name, c := range map[string]struct {
		cells     [][]image.Image
		rows, col []string
	}{
		"no cells":    {nil, nil, nil},
		"empty rows":  {[][]image.Image{{}, {}}, nil, nil},
		"all nil":     {[][]image.Image{{nil, nil}}, nil, nil},
		"row labels":  {[][]image.Image{{img}}, []string{"a", "b"}, nil},
		"col labels":  {[][]image.Image{{img, img}}, nil, []string{"a"}},
		"empty image": {[][]image.Image{{image.NewNRGBA(image.Rect(0, 0, 0, 0))}}, nil, nil},
	} {
		if _, err := viz.Grid(c.cells, c.rows, c.col, viz.GridOptions{}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := viz.MethodGrid([]string{"a"}, []image.Image{img, img}, viz.GridOptions{}); err == nil {
		t.Error("MethodGrid with 1 name for 2 images: no error")
	}
}

func TestGridDeterministic(t *testing.T) {
	d, err := runDemo()
	if err != nil {
		t.Fatal(err)
	}
	encode := func() []byte {
		g, err := viz.StepGrid(d.steps, 4, viz.GridOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, g); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	if !bytes.Equal(encode(), encode()) {
		t.Error("two renderings of one grid differ")
	}
}

// steps returns n fake steps of one 8x8 gray image, with t = 900, 800, ...
func steps(n int) []*restore.StepInfo {
	var infos []*restore.StepInfo
	for i := range n {
		infos = append(infos, &restore.StepInfo{Index: i, Count: n, T: 900 - 100*i,
			X0Hat: restore.NewTensor(1, restore.Shape{C: 1, H: 8, W: 8})})
	}
	return infos
}

func TestStepGrid(t *testing.T) {
	// Steps 0, 3, 6 and the last, 9; cells 64 high, no gaps, and narrow
	// labels, so the width is 4 cells.
	g, err := viz.StepGrid(steps(10), 3, viz.GridOptions{CellHeight: 64, Gap: -1, FontSize: 8})
	if err != nil {
		t.Fatal(err)
	}
	if g.Bounds().Dx() != 4*64 {
		t.Errorf("grid is %d wide, want 4 columns of 64", g.Bounds().Dx())
	}
	if _, err := viz.StepGrid(nil, 1, viz.GridOptions{}); err == nil {
		t.Error("no steps: no error")
	}
	if _, err := viz.StepGrid(steps(3), 0, viz.GridOptions{}); err == nil {
		t.Error("every = 0: no error")
	}
	bad := steps(3)
	bad[2].X0Hat = restore.NewTensor(2, restore.Shape{C: 1, H: 8, W: 8})
	if _, err := viz.StepGrid(bad, 1, viz.GridOptions{}); err == nil {
		t.Error("changing batch size: no error")
	}
	bad[2] = nil
	if _, err := viz.StepGrid(bad, 1, viz.GridOptions{}); err == nil {
		t.Error("nil step: no error")
	}
}

func TestStepGridDecodesLatents(t *testing.T) {
	// Latent steps: 2x2 latents that decode to white 8x16 images. The grid
	// shows the decoded images and decodes only the steps it shows.
	infos, decoded := steps(10), 0
	for _, info := range infos {
		info.X0Hat = restore.NewTensor(1, restore.Shape{C: 3, H: 2, W: 2})
		info.PixelX0Hat = func() (*restore.Tensor, error) {
			decoded++
			img := restore.NewTensor(1, restore.Shape{C: 3, H: 8, W: 16})
			for i := range img.Data {
				img.Data[i] = 1
			}
			return img, nil
		}
	}
	g, err := viz.StepGrid(infos, 3, viz.GridOptions{CellHeight: 64, Gap: -1, FontSize: 8})
	if err != nil {
		t.Fatal(err)
	}
	if decoded != 4 {
		t.Errorf("decoded %d steps; the grid shows 4", decoded)
	}
	if g.Bounds().Dx() != 4*128 {
		t.Errorf("grid is %d wide, want 4 columns of 128 (the decoded images' 2:1)", g.Bounds().Dx())
	}
	b := g.Bounds()
	if r, gg, bb, _ := g.At(b.Min.X+64, b.Max.Y-32).RGBA(); r>>8 != 255 || gg>>8 != 255 || bb>>8 != 255 {
		t.Errorf("cell colour (%d, %d, %d); the decoded images are white", r>>8, gg>>8, bb>>8)
	}
	infos[5].PixelX0Hat = func() (*restore.Tensor, error) { return nil, errors.New("decoder failed") }
	infos[6].PixelX0Hat = infos[5].PixelX0Hat
	if _, err := viz.StepGrid(infos, 3, viz.GridOptions{}); err == nil || !strings.Contains(err.Error(), "decoder failed") {
		t.Errorf("failing decoder: error %v", err)
	}
}

// svgText renders p as SVG, whose text elements hold the plot's labels.
func svgText(t *testing.T, p *plot.Plot) string {
	t.Helper()
	var buf bytes.Buffer
	if err := viz.FromPlot(p, 0, 0).WriteSVG(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func wantText(t *testing.T, svg string, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if !strings.Contains(svg, ">"+s+"<") {
			t.Errorf("figure has no text %q", s)
		}
	}
}

func TestCurvePlot(t *testing.T) {
	p, err := viz.CurvePlot("Consistency", "step", "||H x0_hat - y||",
		viz.Series{Name: "sr4", X: []float64{0, 1, 2}, Y: []float64{3, 2, 1}},
		viz.Series{Name: "deblur", X: []float64{0, 1, 2}, Y: []float64{2, 2, 2}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Title.Text != "Consistency" || p.X.Label.Text != "step" || p.Y.Label.Text != "||H x0_hat - y||" {
		t.Errorf("texts %q, %q, %q", p.Title.Text, p.X.Label.Text, p.Y.Label.Text)
	}
	wantText(t, svgText(t, p), "Consistency", "sr4", "deblur")

	// A flat single-point curve still draws.
	p, err = viz.CurvePlot("", "", "", viz.Series{X: []float64{1}, Y: []float64{5}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := viz.FromPlot(p, 50, 40).Image(); err != nil {
		t.Error(err)
	}

	for name, s := range map[string][]viz.Series{
		"none":     nil,
		"empty":    {{Name: "a"}},
		"lengths":  {{Name: "a", X: []float64{1, 2}, Y: []float64{1}}},
		"NaN":      {{Name: "a", X: []float64{1}, Y: []float64{math.NaN()}}},
		"infinite": {{Name: "a", X: []float64{math.Inf(1)}, Y: []float64{1}}},
	} {
		if _, err := viz.CurvePlot("", "", "", s...); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestStepSeries(t *testing.T) {
	s, err := viz.StepSeries("t", steps(3), func(info *restore.StepInfo) float64 { return float64(info.Index) })
	if err != nil {
		t.Fatal(err)
	}
	if len(s.X) != 3 || s.X[2] != 700 || s.Y[2] != 2 {
		t.Errorf("series %+v", s)
	}
	if _, err := viz.StepSeries("t", steps(3), nil); err == nil {
		t.Error("nil metric: no error")
	}
}

func TestSpectrumPlot(t *testing.T) {
	s := []float32{0, 0.5, 1, 0, 0.01, 0.2}
	p, err := viz.SpectrumPlot(s, 0.1, []float64{10, 1}, []string{"t=900", "t=100"})
	if err != nil {
		t.Fatal(err)
	}
	wantText(t, svgText(t, p), "Singular values, σy = 0.1", "s = 0 for 2, drawn at 0.0001",
		"t=900: σy/σ = 0.01", "t=100: σy/σ = 0.1", "rank", "singular value s")

	// Flat spectra with no zeros and no thresholds still get a log range.
	ones := make([]float32, 4096)
	for i := range ones {
		ones[i] = 1
	}
	p, err = viz.SpectrumPlot(ones, 0, []float64{1}, []string{"t=0"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.Title.Text, "every observed component is noisier than y") {
		t.Errorf("title %q does not explain sigma_y = 0", p.Title.Text)
	}
	if _, err := viz.FromPlot(p, 0, 0).Image(); err != nil {
		t.Error(err)
	}

	// A 256x256 RGB operator's spectrum draws a bounded number of points.
	big := make([]float32, 3*256*256)
	for i := range big {
		big[i] = float32(math.Exp(-float64(i) / 20000))
	}
	p, err = viz.SpectrumPlot(big, 0.1, []float64{1}, []string{"t=500"})
	if err != nil {
		t.Fatal(err)
	}
	if svg := svgText(t, p); len(svg) > 200000 {
		t.Errorf("SVG of the spectrum is %d bytes; the curve should be thinned", len(svg))
	}

	for name, c := range map[string]struct {
		s      []float32
		sigmaY float64
		sigmas []float64
		labels []string
	}{
		"empty":     {nil, 0.1, nil, nil},
		"all zero":  {[]float32{0, 0}, 0.1, nil, nil},
		"negative":  {[]float32{1, -1}, 0.1, nil, nil},
		"NaN":       {[]float32{1, float32(math.NaN())}, 0.1, nil, nil},
		"labels":    {[]float32{1}, 0.1, []float64{1}, nil},
		"sigma 0":   {[]float32{1}, 0.1, []float64{0}, []string{"a"}},
		"sigma_y<0": {[]float32{1}, -1, nil, nil},
	} {
		if _, err := viz.SpectrumPlot(c.s, c.sigmaY, c.sigmas, c.labels); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestSpectralEnergyPlot(t *testing.T) {
	d, err := runDemo()
	if err != nil {
		t.Fatal(err)
	}
	view := d.steps[5].Spectral
	p, err := viz.SpectralEnergyPlot(view, 3)
	if err != nil {
		t.Fatal(err)
	}
	// Three bands of observed components and the missing one.
	svg := svgText(t, p)
	wantText(t, svg, "V^T x0_hat", "y_bar = U^T y / s", "0", "missing")
	if n := strings.Count(svg, ">≥"); n != 3 {
		t.Errorf("%d observed band labels, want 3", n)
	}

	// More bands than components: one per component.
	small := &restore.SpectralView{
		X0HatBar:  &restore.Tensor{N: 1, Shape: restore.Shape{C: 1, H: 1, W: 3}, Data: []float32{1, 2, 3}},
		YBar:      &restore.Tensor{N: 1, Shape: restore.Shape{C: 1, H: 1, W: 3}, Data: []float32{1, 2, 0}},
		Singulars: []float32{1, 0.5, 0},
		Cases:     []restore.ComponentCase{restore.NoisierThanY, restore.LessNoisy, restore.Missing},
	}
	p, err = viz.SpectralEnergyPlot(small, 10)
	if err != nil {
		t.Fatal(err)
	}
	wantText(t, svgText(t, p), "≥1", "noisier", "≥0.5", "less noisy", "missing")

	bad := *small
	bad.Cases = bad.Cases[:2]
	nan := *small
	nan.YBar = small.YBar.Clone()
	nan.YBar.Data[1] = float32(math.NaN())
	for name, v := range map[string]*restore.SpectralView{"nil": nil, "cases": &bad, "no tensors": {}, "NaN": &nan} {
		if _, err := viz.SpectralEnergyPlot(v, 4); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := viz.SpectralEnergyPlot(small, 0); err == nil {
		t.Error("0 bands: no error")
	}
}

func TestSchedulePlot(t *testing.T) {
	s := restore.DefaultDDPMSchedule()
	sigma, ab, err := viz.SchedulePlot(s, 999, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantText(t, svgText(t, sigma), "2 steps visited")
	if ab.Y.Min != 0 || ab.Y.Max != 1 {
		t.Errorf("alpha_bar axis %g..%g, want 0..1", ab.Y.Min, ab.Y.Max)
	}
	if _, _, err := viz.SchedulePlot(nil); err == nil {
		t.Error("nil schedule: no error")
	}
	if _, _, err := viz.SchedulePlot(s, 1000); err == nil {
		t.Error("step outside the schedule: no error")
	}
}

func TestBarChart(t *testing.T) {
	p, err := viz.BarChart("SSIM", "SSIM", []string{"sr4", "deblur"}, []viz.BarSeries{
		{Name: "baseline", Values: []float64{0.6, 0.7}},
		{Name: "ddrm", Values: []float64{0.8, math.NaN()}},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantText(t, svgText(t, p), "SSIM", "sr4", "deblur", "baseline", "ddrm")
	for name, s := range map[string][]viz.BarSeries{
		"no series": nil,
		"lengths":   {{Name: "a", Values: []float64{1}}},
		"all NaN":   {{Name: "a", Values: []float64{math.NaN(), math.NaN()}}},
		"infinite":  {{Name: "a", Values: []float64{1, math.Inf(-1)}}},
	} {
		if _, err := viz.BarChart("", "", []string{"x", "y"}, s); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestPivotBars(t *testing.T) {
	rows := []struct {
		task, method string
		psnr         float64
	}{{"sr4", "baseline", 24}, {"sr4", "ddrm", 27}, {"deblur", "ddrm", 31}, {"denoise", "baseline", 20}}
	groups, series := viz.PivotBars(len(rows),
		func(i int) string { return rows[i].task },
		func(i int) string { return rows[i].method },
		func(i int) float64 { return rows[i].psnr })
	if want := []string{"sr4", "deblur", "denoise"}; strings.Join(groups, ",") != strings.Join(want, ",") {
		t.Errorf("groups %v, want %v", groups, want)
	}
	if len(series) != 2 || series[0].Name != "baseline" || series[1].Name != "ddrm" {
		t.Fatalf("series %+v", series)
	}
	for _, c := range []struct {
		s, g int
		want float64
	}{{0, 0, 24}, {0, 1, math.NaN()}, {0, 2, 20}, {1, 0, 27}, {1, 1, 31}, {1, 2, math.NaN()}} {
		got := series[c.s].Values[c.g]
		if got != c.want && !(math.IsNaN(got) && math.IsNaN(c.want)) {
			t.Errorf("%s in %s = %g, want %g", series[c.s].Name, groups[c.g], got, c.want)
		}
	}
	if _, err := viz.BarChart("PSNR", "dB", groups, series); err != nil {
		t.Error(err)
	}
}

func TestScatterThroughput(t *testing.T) {
	p, err := viz.ScatterThroughput("FID", "FID", []viz.ScatterPoint{{Label: "ddrm", ImagesPerSecond: 0.5, Value: 30}})
	if err != nil {
		t.Fatal(err)
	}
	wantText(t, svgText(t, p), "ddrm", "images per second", "FID")
	for name, pts := range map[string][]viz.ScatterPoint{
		"none":       nil,
		"zero speed": {{Label: "a", ImagesPerSecond: 0, Value: 1}},
		"NaN":        {{Label: "a", ImagesPerSecond: 1, Value: math.NaN()}},
	} {
		if _, err := viz.ScatterThroughput("", "", pts); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestSVGDeterministic(t *testing.T) {
	p, err := viz.BarChart("PSNR", "dB", []string{"a", "b"}, []viz.BarSeries{{Name: "m", Values: []float64{1, 2}}})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := svgText(t, p), svgText(t, p); a != b {
		t.Error("two SVG renderings of one plot differ")
	}
}

func TestSave(t *testing.T) {
	dir := t.TempDir()
	p, err := viz.CurvePlot("x", "", "", viz.Series{X: []float64{0, 1}, Y: []float64{0, 1}})
	if err != nil {
		t.Fatal(err)
	}
	fig := viz.Panels(0, 0, p, p)
	img, err := fig.Image()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := img.Bounds(), image.Rect(0, 0, 2*viz.DefaultWidth, viz.DefaultHeight); got != want {
		t.Errorf("two default panels are %v, want %v", got, want)
	}
	path := filepath.Join(dir, "fig.png")
	if err := viz.SavePNG(path, viz.FromPlot(p, 120, 90)); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil || cfg.Width != 120 || cfg.Height != 90 {
		t.Errorf("saved PNG is %dx%d, %v; want 120x90", cfg.Width, cfg.Height, err)
	}

	svg := filepath.Join(dir, "grid.svg")
	if err := viz.SaveSVG(svg, viz.FromImage(solid(3, 2, color.Black))); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(svg)
	if !strings.Contains(string(b), `width="3" height="2"`) || !strings.Contains(string(b), "data:image/png;base64,") {
		t.Errorf("raster SVG lacks its size or image: %.200s", b)
	}

	if err := viz.SavePNG(filepath.Join(dir, "missing", "a.png"), viz.FromPlot(p, 0, 0)); err == nil {
		t.Error("saving into a missing folder: no error")
	}
	if err := viz.SavePNG(filepath.Join(dir, "nil.png"), nil); err == nil {
		t.Error("nil figure: no error")
	}
	if err := viz.SaveSVG(filepath.Join(dir, "nil.svg"), viz.Panels(0, 0, p, nil)); err == nil {
		t.Error("nil plot: no error")
	}
	if _, err := viz.FromImage(nil).Image(); err == nil {
		t.Error("nil image: no error")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("folder holds %d files after the failures, want 2 (no temporary files left)", len(entries))
	}
}

func TestMostDifferentCropFindsTheDisagreement(t *testing.T) {
	s := restore.Shape{C: 3, H: 40, W: 50}
	a, b, c := restore.NewTensor(1, s), restore.NewTensor(1, s), restore.NewTensor(1, s)
	for i := range a.Data {
		a.Data[i] = 0.5
	}
	copy(b.Data, a.Data)
	copy(c.Data, a.Data)
	// b and c disagree with a in a 6x6 patch at rows 20..25, columns 30..35.
	for ch := range 3 {
		for i := 20; i < 26; i++ {
			for j := 30; j < 36; j++ {
				b.Data[(ch*40+i)*50+j] = 1
				c.Data[(ch*40+i)*50+j] = 0
			}
		}
	}
	r, err := viz.MostDifferentCrop([]*restore.Tensor{a, b, c}, 16, 16)
	if err != nil {
		t.Fatal(err)
	}
	if !image.Rect(30, 20, 36, 26).In(r) || r.Dx() != 16 || r.Dy() != 16 {
		t.Errorf("crop %v misses the patch (30,20)-(36,26)", r)
	}
	if _, err := viz.MostDifferentCrop([]*restore.Tensor{a}, 8, 8); err == nil {
		t.Error("one image has no disagreement to find")
	}
}

func TestComparisonRejectsBadCrop(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 8, 8))
	for _, crop := range []image.Rectangle{{}, image.Rect(4, 4, 12, 12)} {
		if _, err := viz.Comparison([]string{"a"}, nil, []image.Image{img}, crop, 2, viz.GridOptions{}); err == nil {
			t.Errorf("crop %v of an 8x8 image accepted", crop)
		}
	}
}
