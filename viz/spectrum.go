package viz

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/restorelab/restorelab/restore"
)

// spectrumPoints bounds the points drawn for a spectrum: an operator on a
// 256x256 RGB image has 196608 singular values, far more than a figure has
// pixels across.
const spectrumPoints = 2000

// SpectrumPlot draws the singular values of an operator sorted in decreasing
// order against their rank, both on log scales. Zeros (components the
// operator does not observe) cannot sit on a log axis; they are drawn at a
// floor a decade below the smallest value shown, and labelled so.
//
// For each noise level sigmas[i], labelled labels[i] (e.g. "t=950"), a
// horizontal line marks sigmaY / sigmas[i]. DDRM treats a component of
// singular value s as noisier than the measurement at a step ending at noise
// level sigma' when s > sigmaY / sigma', so the curve above a step's line is
// what that step takes from y, and below it what y only nudges. Give sigmaY
// and the sigmas on the sampler's scale: SpectralView.SigmaY and
// StepInfo.SigmaNext.
func SpectrumPlot(singulars []float32, sigmaY float64, sigmas []float64, labels []string) (*plot.Plot, error) {
	n := len(singulars)
	if n == 0 {
		return nil, errors.New("viz: no singular values to plot")
	}
	if len(labels) != len(sigmas) {
		return nil, fmt.Errorf("viz: %d labels for %d noise levels", len(labels), len(sigmas))
	}
	if !(sigmaY >= 0) || !finite(sigmaY) {
		return nil, fmt.Errorf("viz: sigma_y = %g; give the measurement noise level, 0 or more", sigmaY)
	}
	for i, sig := range sigmas {
		if !(sig > 0) || !finite(sig) {
			return nil, fmt.Errorf("viz: noise level %d (%s) is %g; it must be positive", i, labels[i], sig)
		}
	}
	s := make([]float64, n)
	for i, v := range singulars {
		f := float64(v)
		if !(f >= 0) || !finite(f) {
			return nil, fmt.Errorf("viz: singular value %d is %g; singular values are finite and non-negative", i, f)
		}
		s[i] = f
	}
	slices.SortFunc(s, func(a, b float64) int { return -cmpFloat(a, b) })
	pos := n
	for pos > 0 && s[pos-1] == 0 {
		pos--
	}
	if pos == 0 {
		return nil, errors.New("viz: every singular value is 0; the operator observes nothing")
	}

	low := s[pos-1]
	var levels []float64
	if sigmaY > 0 {
		for _, sig := range sigmas {
			levels = append(levels, sigmaY/sig)
			low = min(low, sigmaY/sig)
		}
	}
	title := fmt.Sprintf("Singular values, σy = %.3g", sigmaY)
	switch {
	case len(sigmas) > 0 && sigmaY == 0:
		title += "\nσy = 0: every observed component is noisier than y"
	case len(sigmas) > 0:
		title += "\nabove a step's line: noisier than y"
	}
	p := newPlot(title, "rank", "singular value s")
	logAxis(&p.X)
	logAxis(&p.Y)
	// Ranks count from 1, so that the first sits on the log axis.
	right := float64(max(n, 10))

	curve, err := plotter.NewLine(logSample(s[:pos], spectrumPoints))
	if err != nil {
		return nil, err
	}
	styleLine(&curve.LineStyle, 0)
	p.Add(curve)
	var notes plotter.XYLabels
	if zeros := n - pos; zeros > 0 {
		floor := math.Pow10(int(math.Floor(math.Log10(low))) - 1)
		// Points as well as a line, so that a single zero still shows.
		l, pts, err := plotter.NewLinePoints(hline(float64(pos+1), float64(n), floor))
		if err != nil {
			return nil, err
		}
		l.LineStyle = draw.LineStyle{Color: seriesColor(0), Width: vg.Points(1.5), Dashes: []vg.Length{vg.Points(1), vg.Points(2)}}
		pts.GlyphStyle = draw.GlyphStyle{Color: seriesColor(0), Radius: vg.Points(1.5), Shape: draw.CircleGlyph{}}
		p.Add(l, pts)
		notes.XYs = append(notes.XYs, plotter.XY{X: right, Y: floor})
		notes.Labels = append(notes.Labels, fmt.Sprintf("s = 0 for %d, drawn at %g", zeros, floor))
	}
	for i, level := range levels {
		l, err := plotter.NewLine(hline(1, right, level))
		if err != nil {
			return nil, err
		}
		styleLine(&l.LineStyle, i+1)
		p.Add(l)
		notes.XYs = append(notes.XYs, plotter.XY{X: right, Y: level})
		notes.Labels = append(notes.Labels, fmt.Sprintf("%s: σy/σ = %.3g", labels[i], level))
	}
	if len(notes.Labels) > 0 {
		// Labels on the lines rather than in a legend, which would cover them.
		l, err := lineLabels(notes)
		if err != nil {
			return nil, err
		}
		p.Add(l)
	}
	p.X.Min, p.X.Max = 1, right
	fitDecades(&p.Y)
	return p, nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// logSample returns about m points of the curve (rank i+1, s[i]), spaced
// evenly in log rank to suit the log axis, always with the first and last.
// The curve is monotone, so straight lines between them stay close to it.
func logSample(s []float64, m int) plotter.XYs {
	xy := make(plotter.XYs, 0, min(len(s), m+1))
	last := -1
	for k := range m + 1 {
		i := int(math.Round(math.Pow(float64(len(s)), float64(k)/float64(m)))) - 1
		if i > last && i < len(s) {
			xy = append(xy, plotter.XY{X: float64(i + 1), Y: s[i]})
			last = i
		}
	}
	if last != len(s)-1 {
		xy = append(xy, plotter.XY{X: float64(len(s)), Y: s[len(s)-1]})
	}
	return xy
}

// SpectralEnergyPlot compares, per band of singular values, the energy of
// the estimate V^T x0_hat with that of the measurement y_bar = U^T y / s at
// one DDRM step. Observed components, sorted by decreasing singular value,
// are split into bands of equal size; unobserved ones form a last band of
// their own, where y_bar carries nothing. Each point is a mean square over
// the band's components and the batch's images, on a log scale. A band's
// label gives its range of s and the DDRM case its components fall in at
// this step ("mixed" when they differ). Bands run from the largest singular
// values on the left, each labelled with its smallest.
func SpectralEnergyPlot(view *restore.SpectralView, bands int) (*plot.Plot, error) {
	if view == nil || view.X0HatBar == nil || view.YBar == nil {
		return nil, errors.New("viz: no spectral view; the sampler must provide StepInfo.Spectral")
	}
	if bands < 1 {
		return nil, fmt.Errorf("viz: bands = %d; use 1 or more", bands)
	}
	x, y := view.X0HatBar, view.YBar
	k := len(view.Singulars)
	if k == 0 || x.Shape.Len() != k || y.Shape.Len() != k || len(view.Cases) != k || x.N != y.N || x.N < 1 ||
		len(x.Data) != x.N*k || len(y.Data) != y.N*k {
		return nil, fmt.Errorf("viz: spectral view is inconsistent: %d singular values, %d cases, x0_bar %dx%v, y_bar %dx%v",
			k, len(view.Cases), x.N, x.Shape, y.N, y.Shape)
	}
	for _, t := range []*restore.Tensor{x, y} {
		for _, v := range t.Data {
			if !finite(float64(v)) {
				return nil, errors.New("viz: spectral view holds NaN or Inf values")
			}
		}
	}
	var observed, missing []int
	for i, c := range view.Cases {
		if c == restore.Missing {
			missing = append(missing, i)
		} else {
			observed = append(observed, i)
		}
	}
	// Stable, so that equal singular values keep the layout's order.
	slices.SortStableFunc(observed, func(a, b int) int {
		return -cmpFloat(float64(view.Singulars[a]), float64(view.Singulars[b]))
	})
	bands = min(bands, len(observed))

	meanSq := func(t *restore.Tensor, idx []int) float64 {
		var sum float64
		for b := range t.N {
			item := t.Item(b)
			for _, i := range idx {
				v := float64(item[i])
				sum += v * v
			}
		}
		return sum / float64(len(idx)*t.N)
	}
	var xs, ys plotter.XYs
	var names []string
	for b := range bands {
		idx := observed[b*len(observed)/bands : (b+1)*len(observed)/bands]
		lo := view.Singulars[idx[len(idx)-1]]
		names = append(names, fmt.Sprintf("s ≥ %.2g\n%s", lo, bandCase(view.Cases, idx)))
		pos := float64(b)
		if e := meanSq(x, idx); e > 0 {
			xs = append(xs, plotter.XY{X: pos, Y: e})
		}
		if e := meanSq(y, idx); e > 0 {
			ys = append(ys, plotter.XY{X: pos, Y: e})
		}
	}
	var xMissing plotter.XYs
	if len(missing) > 0 {
		names = append(names, "s = 0\nmissing")
		if e := meanSq(x, missing); e > 0 {
			xMissing = plotter.XYs{{X: float64(bands), Y: e}}
		}
	}
	if len(xs)+len(ys)+len(xMissing) == 0 {
		return nil, errors.New("viz: x0_bar and y_bar are zero everywhere; nothing to show on a log scale")
	}

	p := newPlot(fmt.Sprintf("Spectral energy by band of s (%d images)", x.N), "band of singular values s", "mean square")
	logAxis(&p.Y)
	for i, series := range []struct {
		name string
		xy   plotter.XYs
	}{{"V^T x0_hat", xs}, {"y_bar = U^T y / s", ys}} {
		gs := draw.GlyphStyle{Color: seriesColor(i), Radius: vg.Points(3), Shape: glyph(i)}
		if len(series.xy) > 0 {
			l, pts, err := plotter.NewLinePoints(series.xy)
			if err != nil {
				return nil, err
			}
			styleLine(&l.LineStyle, i)
			pts.GlyphStyle = gs
			p.Add(l, pts)
			p.Legend.Add(series.name, l, pts)
		}
		if i == 0 && len(xMissing) > 0 {
			// The missing band is not a neighbour of the others: no line to it.
			sc, err := plotter.NewScatter(xMissing)
			if err != nil {
				return nil, err
			}
			sc.GlyphStyle = gs
			p.Add(sc)
			if len(series.xy) == 0 {
				p.Legend.Add(series.name, sc)
			}
		}
	}
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.5, float64(len(names))-0.5
	legendRoom(&p.Y, 2)
	fitDecades(&p.Y)
	return p, nil
}

// bandCase names the DDRM case shared by the components idx, or "mixed",
// in few words: band labels sit side by side.
func bandCase(cases []restore.ComponentCase, idx []int) string {
	c := cases[idx[0]]
	for _, i := range idx[1:] {
		if cases[i] != c {
			return "mixed"
		}
	}
	if c == restore.NoisierThanY {
		return "noisier"
	}
	return c.String()
}
