package repl

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"github.com/disintegration/imaging"
	"github.com/restorelab/restorelab/restore"
)

// Pictures are the names Picture accepts: the images of Tensor and three
// views of the run.
var Pictures = append(append([]string(nil), Images...), "grid", "spectrum", "metrics")

// gridThumbs is how many x0_hat thumbnails the grid shows at most.
const gridThumbs = 8

// thumbSide is the longest side of a grid thumbnail, in pixels.
const thumbSide = 64

var background = color.NRGBA{24, 24, 24, 255}

// Picture draws one of Pictures for display, with a one-line caption:
//
//	y, xt, x0, result, clean  the image of Tensor, clamped to [0, 1]
//	grid      x0_hat thumbnails of up to 8 steps taken, evenly spaced
//	spectrum  the latest step in the operator's spectral space: per channel,
//	          the DDRM case of each component (top) and log |V^T x0_hat|
//	metrics   PSNR (green) and ||H x0_hat - y|| (orange, log scale) by step
//
// Only the first image of a batch is drawn.
func (s *Session) Picture(what string) (image.Image, string, error) {
	switch what {
	case "grid":
		return s.grid()
	case "spectrum":
		return s.spectrum()
	case "metrics":
		return s.chart()
	}
	if !slices.Contains(Images, what) {
		return nil, "", fmt.Errorf("unknown picture %q; use one of %s", what, strings.Join(Pictures, ", "))
	}
	t, err := s.Tensor(what)
	if err != nil {
		return nil, "", err
	}
	caption := fmt.Sprintf("%s: %v", describe(what), t.Shape)
	if r := s.run; r != nil && r.sampler != nil && (what == "xt" || what == "x0" || what == "result") {
		caption += fmt.Sprintf(", step %d/%d", r.sampler.Index(), r.sampler.Len())
	}
	if t.N > 1 {
		caption += fmt.Sprintf(", image 1 of %d", t.N)
	}
	return picture(t, 0), caption, nil
}

func describe(what string) string {
	switch what {
	case "y":
		return "measurement y"
	case "xt":
		return "sample x_t"
	case "x0":
		return "estimate x0_hat"
	case "clean":
		return "clean image"
	}
	return what
}

// picture converts image item of t, on the [0, 1] scale, to 8-bit RGB.
func picture(t *restore.Tensor, item int) *image.NRGBA {
	s := t.Shape
	hw := s.H * s.W
	v := t.Item(item)
	img := image.NewNRGBA(image.Rect(0, 0, s.W, s.H))
	q := func(f float32) uint8 { return uint8(math.Floor(float64(min(max(f, 0), 1))*255 + 0.5)) }
	for i := range hw {
		r, g, b := v[i], v[i], v[i]
		if s.C >= 3 {
			g, b = v[hw+i], v[2*hw+i]
		}
		img.Pix[4*i], img.Pix[4*i+1], img.Pix[4*i+2], img.Pix[4*i+3] = q(r), q(g), q(b), 255
	}
	return img
}

func thumbnail(img image.Image) image.Image {
	b := img.Bounds()
	if b.Dx() <= thumbSide && b.Dy() <= thumbSide {
		return img
	}
	return imaging.Fit(img, thumbSide, thumbSide, imaging.Box)
}

// strip lays images out left to right with a gap, top-aligned.
func strip(imgs []image.Image, gap int) *image.NRGBA {
	w, h := -gap, 0
	for _, im := range imgs {
		w += im.Bounds().Dx() + gap
		h = max(h, im.Bounds().Dy())
	}
	out := imaging.New(max(w, 1), max(h, 1), background)
	x := 0
	for _, im := range imgs {
		out = imaging.Paste(out, im, image.Pt(x, 0))
		x += im.Bounds().Dx() + gap
	}
	return out
}

func (s *Session) grid() (image.Image, string, error) {
	r, err := s.sampling()
	if err != nil {
		return nil, "", err
	}
	n := len(r.thumbs)
	if n == 0 {
		return nil, "", errors.New("no steps taken yet")
	}
	k := min(n, gridThumbs)
	var imgs []image.Image
	var steps []string
	for j := range k {
		i := j * (n - 1) / max(k-1, 1)
		imgs = append(imgs, r.thumbs[i])
		steps = append(steps, fmt.Sprint(i+1))
	}
	return strip(imgs, 2), fmt.Sprintf("x0_hat after steps %s of %d", strings.Join(steps, ", "), r.sampler.Len()), nil
}

// caseColors paints the DDRM case of a spectral component.
var caseColors = [...]color.NRGBA{
	restore.Missing:      {90, 90, 90, 255},
	restore.NoisierThanY: {70, 130, 230, 255},
	restore.LessNoisy:    {80, 200, 120, 255},
}

func (s *Session) spectrum() (image.Image, string, error) {
	r, err := s.sampling()
	if err != nil {
		return nil, "", err
	}
	if r.last == nil || r.last.Spectral == nil {
		return nil, "", errors.New("no step to show; take a step first")
	}
	sv, shape := r.last.Spectral, r.op.InShape()
	hw := shape.H * shape.W
	bar := sv.X0HatBar.Item(0)
	// Log magnitudes span many decades; show the top six.
	hi := math.Inf(-1)
	logs := make([]float64, len(bar))
	for k, v := range bar {
		logs[k] = math.Log10(math.Abs(float64(v)) + 1e-12)
		hi = max(hi, logs[k])
	}
	lo := hi - 6
	var counts [3]int
	const gap = 2
	img := imaging.New(shape.C*(shape.W+gap)-gap, 2*shape.H+gap, background)
	for k, c := range sv.Cases {
		counts[c]++
		ch, y, x := k/hw, k%hw/shape.W, k%shape.W
		px := ch*(shape.W+gap) + x
		img.SetNRGBA(px, y, caseColors[c])
		g := uint8(255 * min(max((logs[k]-lo)/(hi-lo), 0), 1))
		img.SetNRGBA(px, shape.H+gap+y, color.NRGBA{g, g, g, 255})
	}
	caption := fmt.Sprintf("spectrum at step %d/%d, one panel per channel; top: %d less noisy than y (green), %d noisier than y (blue), %d missing (gray); bottom: log |V^T x0_hat|",
		r.sampler.Index(), r.sampler.Len(), counts[restore.LessNoisy], counts[restore.NoisierThanY], counts[restore.Missing])
	return img, caption, nil
}

// chart plots the PSNR and the consistency of x0_hat by step.
func (s *Session) chart() (image.Image, string, error) {
	r, err := s.sampling()
	if err != nil {
		return nil, "", err
	}
	recs := r.records
	if len(recs) == 0 {
		return nil, "", errors.New("no steps taken yet")
	}
	const w, h, margin = 320, 120, 6
	img := imaging.New(w, h, background)
	psnr := make([]float64, len(recs))
	cons := make([]float64, len(recs))
	for i, rec := range recs {
		psnr[i], cons[i] = rec.PSNR, math.Log10(rec.Consistency)
	}
	plot(img, cons, margin, color.NRGBA{240, 150, 40, 255})
	caption := fmt.Sprintf("metrics over %d steps: ||H x0_hat - y|| %.3g -> %.3g (orange, log scale)", len(recs), recs[0].Consistency, recs[len(recs)-1].Consistency)
	if r.ref != nil {
		plot(img, psnr, margin, color.NRGBA{80, 200, 120, 255})
		caption += fmt.Sprintf(", PSNR %.2f -> %.2f dB (green)", recs[0].PSNR, recs[len(recs)-1].PSNR)
	}
	return img, caption, nil
}

// plot draws ys as a polyline scaled to fill img within margin; non-finite
// values are skipped.
func plot(img *image.NRGBA, ys []float64, margin int, c color.NRGBA) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range ys {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	if lo > hi {
		return
	}
	b := img.Bounds()
	w, h := float64(b.Dx()-2*margin-1), float64(b.Dy()-2*margin-1)
	point := func(i int) (float64, float64) {
		x, y := w/2, h/2
		if len(ys) > 1 {
			x = w * float64(i) / float64(len(ys)-1)
		}
		if hi > lo {
			y = h * (hi - ys[i]) / (hi - lo)
		}
		return float64(margin) + x, float64(margin) + y
	}
	prevOK := false
	var px, py float64
	for i, v := range ys {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			prevOK = false
			continue
		}
		x, y := point(i)
		if !prevOK {
			px, py = x, y
		}
		// Enough samples along the segment to leave no gaps.
		n := int(max(math.Abs(x-px), math.Abs(y-py))) + 1
		for k := 0; k <= n; k++ {
			f := float64(k) / float64(n)
			img.SetNRGBA(int(px+f*(x-px)+0.5), int(py+f*(y-py)+0.5), c)
		}
		px, py, prevOK = x, y, true
	}
}

// Save writes one of Pictures to path, by its extension: images of Tensor
// as .png (8-bit, clamped) or .npy (float32, [0, 1] scale), the views as
// .png, and metrics as .csv too (one row per step). y keeps its inpainting
// mask: transparent in a PNG, NaN in an .npy.
func (s *Session) Save(what, path string) error {
	ext := strings.ToLower(filepath.Ext(path))
	if what == "metrics" && ext == ".csv" {
		if s.run == nil || len(s.run.records) == 0 {
			return errors.New("no steps taken yet")
		}
		return restore.WriteFileAtomic(path, func(w io.Writer) error { return writeCSV(w, s.run.records) })
	}
	if slices.Contains(Images, what) {
		t, err := s.Tensor(what)
		if err != nil {
			return err
		}
		var keep []bool
		if what == "y" {
			keep = s.keep
		}
		return restore.SaveImage(path, t, keep)
	}
	img, _, err := s.Picture(what)
	if err != nil {
		return err
	}
	if ext != ".png" {
		if what == "metrics" {
			return fmt.Errorf("cannot save metrics as %s; use .png or .csv", path)
		}
		return fmt.Errorf("cannot save %s as %s; use .png", what, path)
	}
	return restore.WriteFileAtomic(path, func(w io.Writer) error { return png.Encode(w, img) })
}

func writeCSV(w io.Writer, recs []StepRecord) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "step,t,t_next,sigma,psnr,ssim,consistency")
	for _, r := range recs {
		fmt.Fprintf(bw, "%d,%d,%d,%g,%g,%g,%g\n", r.Index+1, r.T, r.TNext, r.Sigma, r.PSNR, r.SSIM, r.Consistency)
	}
	return bw.Flush()
}
