package repl

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/disintegration/imaging"
	"github.com/restorelab/restorelab/restore"
	"github.com/restorelab/restorelab/viz"
	"gonum.org/v1/plot"
)

// Pictures are the names Picture accepts: the images of Tensor and three
// views of the run.
var Pictures = append(append([]string(nil), Images...), "grid", "spectrum", "metrics")

// gridThumbs is how many x0_hat thumbnails the grid shows at most.
const gridThumbs = 8

// thumbSide is the longest side of a grid thumbnail, in pixels.
const thumbSide = 64

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
func picture(t *restore.Tensor, item int) image.Image {
	img, err := viz.Image(t, item, false)
	if err != nil {
		// Tensors here come from the session and always have 1 or 3 channels.
		return image.NewNRGBA(image.Rect(0, 0, 1, 1))
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
	var labels []string
	for j := range k {
		i := j * (n - 1) / max(k-1, 1)
		imgs = append(imgs, r.thumbs[i])
		labels = append(labels, fmt.Sprintf("t=%d", r.records[i].T))
	}
	grid, err := viz.Grid([][]image.Image{imgs}, nil, labels, viz.GridOptions{CellHeight: thumbSide})
	if err != nil {
		return nil, "", err
	}
	return grid, fmt.Sprintf("x0_hat at %d of the %d steps taken (run of %d)", k, n, r.sampler.Len()), nil
}

func (s *Session) spectrum() (image.Image, string, error) {
	r, err := s.sampling()
	if err != nil {
		return nil, "", err
	}
	switch {
	case r.last == nil:
		return nil, "", errors.New("no step to show; take a step first")
	case r.last.Spectral == nil:
		return nil, "", fmt.Errorf("the %s method samples in a latent space and has no spectral view; DDRM has one", r.method)
	}
	sv := r.last.Spectral
	// The thresholds are those of the step's end; after the last step
	// (sigma' = 0) every observed component is less noisy than y.
	var sigmas []float64
	var labels []string
	if r.last.SigmaNext > 0 {
		sigmas, labels = []float64{r.last.SigmaNext}, []string{fmt.Sprintf("t=%d", r.last.TNext)}
	}
	sp, err := viz.SpectrumPlot(sv.Singulars, sv.SigmaY, sigmas, labels)
	if err != nil {
		return nil, "", err
	}
	energy, err := viz.SpectralEnergyPlot(sv, 6) // more bands crowd their labels
	if err != nil {
		return nil, "", err
	}
	img, err := viz.Panels(2*viz.DefaultWidth, viz.DefaultHeight, sp, energy).Image()
	if err != nil {
		return nil, "", err
	}
	var counts [3]int
	for _, c := range sv.Cases {
		counts[c]++
	}
	caption := fmt.Sprintf("spectrum after step %d/%d: %d components noisier than y, %d less noisy, %d missing",
		r.sampler.Index(), r.sampler.Len(), counts[restore.NoisierThanY], counts[restore.LessNoisy], counts[restore.Missing])
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
	steps := make([]float64, len(recs))
	psnr := make([]float64, len(recs))
	cons := make([]float64, len(recs))
	for i, rec := range recs {
		steps[i], psnr[i], cons[i] = float64(rec.Index+1), rec.PSNR, rec.Consistency
	}
	consPlot, err := viz.CurvePlot("measurement consistency", "step", "||H x0_hat - y|| / sqrt(m)", viz.Series{Name: "x0_hat", X: steps, Y: cons})
	if err != nil {
		return nil, "", err
	}
	plots := []*plot.Plot{consPlot}
	caption := fmt.Sprintf("metrics over %d steps: ||H x0_hat - y|| %.3g -> %.3g", len(recs), recs[0].Consistency, recs[len(recs)-1].Consistency)
	if r.ref != nil {
		psnrPlot, err := viz.CurvePlot("PSNR of x0_hat", "step", "PSNR (dB)", viz.Series{Name: "x0_hat", X: steps, Y: psnr})
		if err != nil {
			return nil, "", err
		}
		plots = append(plots, psnrPlot)
		caption += fmt.Sprintf(", PSNR %.2f -> %.2f dB", recs[0].PSNR, recs[len(recs)-1].PSNR)
	}
	img, err := viz.Panels(len(plots)*viz.DefaultWidth, viz.DefaultHeight, plots...).Image()
	return img, caption, err
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
