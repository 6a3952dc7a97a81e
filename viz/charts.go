package viz

import (
	"errors"
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/restorelab/restorelab/restore"
)

// Series is one named curve.
type Series struct {
	Name string
	X, Y []float64
}

// markerLimit is the most points a curve marks with glyphs; denser curves
// are drawn as plain lines.
const markerLimit = 50

// CurvePlot draws series as lines, each in its own colour and dash pattern,
// with a legend: e.g. PSNR, SSIM or ||H x0_hat - y|| against the step.
// Curves of at most 50 points also mark their points.
//
// To read a run from left to right with x = t, which decreases, set
// p.X.Scale = plot.InvertedScale{Normalizer: plot.LinearScale{}}.
func CurvePlot(title, xLabel, yLabel string, series ...Series) (*plot.Plot, error) {
	if len(series) == 0 {
		return nil, errors.New("viz: no series to plot")
	}
	p := newPlot(title, xLabel, yLabel)
	named := 0
	for i, s := range series {
		if len(s.X) != len(s.Y) {
			return nil, fmt.Errorf("viz: series %q has %d x values and %d y values", s.Name, len(s.X), len(s.Y))
		}
		if len(s.X) == 0 {
			return nil, fmt.Errorf("viz: series %q is empty", s.Name)
		}
		xy := make(plotter.XYs, len(s.X))
		for k := range s.X {
			if !finite(s.X[k], s.Y[k]) {
				return nil, fmt.Errorf("viz: point %d of series %q is (%g, %g); values must be finite", k, s.Name, s.X[k], s.Y[k])
			}
			xy[k] = plotter.XY{X: s.X[k], Y: s.Y[k]}
		}
		l, pts, err := plotter.NewLinePoints(xy)
		if err != nil {
			return nil, err
		}
		styleLine(&l.LineStyle, i)
		p.Add(l)
		thumbs := []plot.Thumbnailer{l}
		if len(xy) <= markerLimit {
			pts.GlyphStyle = draw.GlyphStyle{Color: seriesColor(i), Radius: vg.Points(2.5), Shape: glyph(i)}
			p.Add(pts)
			thumbs = append(thumbs, pts)
		}
		if s.Name != "" {
			p.Legend.Add(s.Name, thumbs...)
			named++
		}
	}
	legendRoom(&p.Y, named)
	return p, nil
}

// StepSeries measures every step of a run with metric, against the step's
// time t, for CurvePlot: e.g. the PSNR of x0_hat against the clean image.
func StepSeries(name string, infos []*restore.StepInfo, metric func(*restore.StepInfo) float64) (Series, error) {
	s := Series{Name: name}
	if metric == nil {
		return s, errors.New("viz: no metric")
	}
	for i, info := range infos {
		if info == nil {
			return s, fmt.Errorf("viz: step %d is nil", i)
		}
		s.X = append(s.X, float64(info.T))
		s.Y = append(s.Y, metric(info))
	}
	return s, nil
}

// SchedulePlot draws a noise schedule against t as two plots: the noise
// level sigma_t = sqrt(1 - alpha_bar_t) / sqrt(alpha_bar_t) on a log scale,
// and alpha_bar_t. Show them together with Panels. Steps given in visited,
// such as a DDRM run's Timesteps, are marked on both curves.
func SchedulePlot(s *restore.Schedule, visited ...int) (sigma, alphaBar *plot.Plot, err error) {
	if s == nil {
		return nil, nil, errors.New("viz: nil schedule")
	}
	for _, t := range visited {
		if t < 0 || t >= s.T {
			return nil, nil, fmt.Errorf("viz: visited step %d is outside the schedule's 0..%d", t, s.T-1)
		}
	}
	sig, ab := make(plotter.XYs, s.T), make(plotter.XYs, s.T)
	for t := range s.T {
		sig[t] = plotter.XY{X: float64(t), Y: s.Sigma(t)}
		ab[t] = plotter.XY{X: float64(t), Y: s.AlphaBar(t)}
	}
	sub := fmt.Sprintf("%s schedule, T = %d", s.Kind, s.T)
	sigma = newPlot("σt = √(1 − ᾱt) / √ᾱt\n"+sub, "t", "σt")
	logAxis(&sigma.Y)
	alphaBar = newPlot("ᾱt\n"+sub, "t", "ᾱt")
	for _, c := range []struct {
		p  *plot.Plot
		xy plotter.XYs
		f  func(int) float64
	}{{sigma, sig, s.Sigma}, {alphaBar, ab, s.AlphaBar}} {
		l, err := plotter.NewLine(c.xy)
		if err != nil {
			return nil, nil, err
		}
		styleLine(&l.LineStyle, 0)
		c.p.Add(l)
		if len(visited) > 0 {
			marks := make(plotter.XYs, len(visited))
			for i, t := range visited {
				marks[i] = plotter.XY{X: float64(t), Y: c.f(t)}
			}
			sc, err := plotter.NewScatter(marks)
			if err != nil {
				return nil, nil, err
			}
			sc.GlyphStyle = draw.GlyphStyle{Color: seriesColor(1), Radius: vg.Points(2.5), Shape: draw.CircleGlyph{}}
			c.p.Add(sc)
			c.p.Legend.Add(fmt.Sprintf("%d steps visited", len(visited)), sc)
		}
	}
	fitDecades(&sigma.Y)
	sigma.Legend.Left = true
	alphaBar.Y.Min, alphaBar.Y.Max = 0, 1
	return sigma, alphaBar, nil
}

// BarSeries is one set of bars, one value per group; NaN marks a missing
// value, which leaves a gap.
type BarSeries struct {
	Name   string
	Values []float64
}

// BarChart draws grouped bars: one group per entry of groups (e.g. tasks)
// holding one bar per series (e.g. methods), with a legend of the series.
func BarChart(title, yLabel string, groups []string, series []BarSeries) (*plot.Plot, error) {
	if len(groups) == 0 || len(series) == 0 {
		return nil, errors.New("viz: bar chart needs at least one group and one series")
	}
	bars := &groupedBars{groups: len(groups), series: series}
	drawn := false
	for _, s := range series {
		if len(s.Values) != len(groups) {
			return nil, fmt.Errorf("viz: bar series %q has %d values for %d groups", s.Name, len(s.Values), len(groups))
		}
		for g, v := range s.Values {
			if math.IsInf(v, 0) {
				return nil, fmt.Errorf("viz: bar series %q is infinite in group %q", s.Name, groups[g])
			}
			drawn = drawn || !math.IsNaN(v)
		}
	}
	if !drawn {
		return nil, errors.New("viz: every bar value is missing (NaN)")
	}
	p := newPlot(title, "", yLabel)
	p.Add(bars)
	for i, s := range series {
		p.Legend.Add(s.Name, barThumb{seriesColor(i)})
	}
	p.NominalX(groups...)
	p.X.Min, p.X.Max = -0.5, float64(len(groups))-0.5
	legendRoom(&p.Y, len(series))
	return p, nil
}

// PivotBars turns a long table of n rows, such as the study's per-task and
// per-method summaries, into BarChart's groups and series: row i puts
// value(i) in group group(i) of series series(i). Groups and series keep
// the order in which they first appear; combinations without a row are NaN,
// and a repeated combination keeps its last value.
func PivotBars(n int, group, series func(i int) string, value func(i int) float64) ([]string, []BarSeries) {
	var groups []string
	var out []BarSeries
	gi, si := map[string]int{}, map[string]int{}
	for i := range n {
		g, s := group(i), series(i)
		if _, ok := gi[g]; !ok {
			gi[g] = len(groups)
			groups = append(groups, g)
			for k := range out {
				out[k].Values = append(out[k].Values, math.NaN())
			}
		}
		if _, ok := si[s]; !ok {
			si[s] = len(out)
			vals := make([]float64, len(groups))
			for k := range vals {
				vals[k] = math.NaN()
			}
			out = append(out, BarSeries{Name: s, Values: vals})
		}
		out[si[s]].Values[gi[g]] = value(i)
	}
	return groups, out
}

// groupedBars draws bars sized in data units, so they fill their group's
// slot at any figure size (gonum's BarChart takes a width in points).
type groupedBars struct {
	groups int
	series []BarSeries
}

// barSlot is the fraction of a group's width its bars take.
const barSlot = 0.8

func (b *groupedBars) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	w := barSlot / float64(len(b.series))
	for i, s := range b.series {
		for g, v := range s.Values {
			if math.IsNaN(v) {
				continue
			}
			x0 := float64(g) - barSlot/2 + float64(i)*w
			x1 := x0 + w
			pts := []vg.Point{
				{X: trX(x0), Y: trY(0)}, {X: trX(x0), Y: trY(v)},
				{X: trX(x1), Y: trY(v)}, {X: trX(x1), Y: trY(0)},
			}
			c.FillPolygon(seriesColor(i), c.ClipPolygonXY(pts))
			outline := append(pts, pts[0])
			c.StrokeLines(draw.LineStyle{Color: color.Black, Width: vg.Points(0.5)}, c.ClipLinesXY(outline)...)
		}
	}
}

func (b *groupedBars) DataRange() (xmin, xmax, ymin, ymax float64) {
	for _, s := range b.series {
		for _, v := range s.Values {
			if !math.IsNaN(v) {
				ymin, ymax = min(ymin, v), max(ymax, v)
			}
		}
	}
	return -0.5, float64(b.groups) - 0.5, ymin, ymax
}

// barThumb is a series' swatch in the legend.
type barThumb struct{ color color.Color }

func (t barThumb) Thumbnail(c *draw.Canvas) {
	r := c.Rectangle
	pts := []vg.Point{r.Min, {X: r.Min.X, Y: r.Max.Y}, r.Max, {X: r.Max.X, Y: r.Min.Y}}
	c.FillPolygon(t.color, pts)
}

// ScatterPoint is one method's speed and score.
type ScatterPoint struct {
	Label           string
	ImagesPerSecond float64
	Value           float64
}

// ScatterThroughput draws each method's score (e.g. FID or KID, named by
// yLabel) against its throughput in images per second on a log scale,
// labelling every point: the study's quality-against-speed figure.
func ScatterThroughput(title, yLabel string, points []ScatterPoint) (*plot.Plot, error) {
	if len(points) == 0 {
		return nil, errors.New("viz: no points to plot")
	}
	xy := plotter.XYLabels{XYs: make(plotter.XYs, len(points)), Labels: make([]string, len(points))}
	for i, pt := range points {
		if !(pt.ImagesPerSecond > 0) || !finite(pt.ImagesPerSecond, pt.Value) {
			return nil, fmt.Errorf("viz: point %q at (%g images/s, %g); throughput must be positive and values finite", pt.Label, pt.ImagesPerSecond, pt.Value)
		}
		xy.XYs[i] = plotter.XY{X: pt.ImagesPerSecond, Y: pt.Value}
		xy.Labels[i] = pt.Label
	}
	p := newPlot(title, "images per second", yLabel)
	logAxis(&p.X)
	sc, err := plotter.NewScatter(xy)
	if err != nil {
		return nil, err
	}
	sc.GlyphStyle = draw.GlyphStyle{Color: seriesColor(0), Radius: vg.Points(3), Shape: draw.CircleGlyph{}}
	labels, err := plotter.NewLabels(xy)
	if err != nil {
		return nil, err
	}
	for i := range labels.TextStyle {
		labels.TextStyle[i].Font.Variant = "Sans"
		labels.TextStyle[i].YAlign = draw.YCenter
	}
	labels.Offset = vg.Point{X: vg.Points(5)}
	p.Add(sc, labels)
	fitDecades(&p.X)
	return p, nil
}
