package viz

import (
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// palette is Okabe and Ito's set of colours, which stay distinct for readers
// with colour-vision deficiencies; its yellow is left out as too faint on
// white.
var palette = []color.Color{
	color.NRGBA{0x00, 0x72, 0xB2, 0xFF}, // blue
	color.NRGBA{0xD5, 0x5E, 0x00, 0xFF}, // vermilion
	color.NRGBA{0x00, 0x9E, 0x73, 0xFF}, // bluish green
	color.NRGBA{0xCC, 0x79, 0xA7, 0xFF}, // reddish purple
	color.NRGBA{0xE6, 0x9F, 0x00, 0xFF}, // orange
	color.NRGBA{0x56, 0xB4, 0xE9, 0xFF}, // sky blue
	color.NRGBA{0x00, 0x00, 0x00, 0xFF}, // black
}

func seriesColor(i int) color.Color { return palette[i%len(palette)] }

// dashes gives series i a line pattern too, so that curves stay apart in
// black-and-white print.
func dashes(i int) []vg.Length {
	patterns := [][]vg.Length{
		nil,
		{vg.Points(6), vg.Points(2)},
		{vg.Points(2), vg.Points(2)},
		{vg.Points(6), vg.Points(2), vg.Points(2), vg.Points(2)},
	}
	return patterns[i%len(patterns)]
}

func glyph(i int) draw.GlyphDrawer {
	shapes := []draw.GlyphDrawer{
		draw.CircleGlyph{}, draw.SquareGlyph{}, draw.TriangleGlyph{},
		draw.PlusGlyph{}, draw.CrossGlyph{}, draw.RingGlyph{}, draw.BoxGlyph{},
	}
	return shapes[i%len(shapes)]
}

// newPlot returns a plot with the given texts, set in Liberation Sans
// rather than gonum's default serif: sans reads better at small sizes.
func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, xLabel, yLabel
	for _, s := range []*text.Style{
		&p.Title.TextStyle, &p.Legend.TextStyle,
		&p.X.Label.TextStyle, &p.Y.Label.TextStyle,
		&p.X.Tick.Label, &p.Y.Tick.Label,
	} {
		s.Font.Variant = "Sans"
	}
	p.Title.Padding = vg.Points(4)
	p.Legend.Top = true
	return p
}

// styleLine gives series i its colour and dash pattern.
func styleLine(l *draw.LineStyle, i int) {
	l.Color = seriesColor(i)
	l.Width = vg.Points(1.5)
	l.Dashes = dashes(i)
}

// logAxis makes ax logarithmic. Call fitDecades once the data are added.
func logAxis(ax *plot.Axis) {
	ax.Scale = plot.LogScale{}
	ax.Tick.Marker = decadeTicks{}
}

// decadeTicks labels the powers of ten in an axis's range and marks the
// multiples between them. gonum's LogTicks truncates log10 towards zero, so
// it leaves the lowest decade unlabelled when that is below 1.
type decadeTicks struct{}

func (decadeTicks) Ticks(lo, hi float64) []plot.Tick {
	const eps = 1e-9 // rounding slack at the range's ends
	var ticks []plot.Tick
	for e := int(math.Floor(math.Log10(lo))); e <= int(math.Ceil(math.Log10(hi))); e++ {
		v := math.Pow10(e)
		for k := 1.0; k < 10; k++ {
			if t := k * v; t >= lo*(1-eps) && t <= hi*(1+eps) {
				tick := plot.Tick{Value: t}
				if k == 1 {
					tick.Label = strconv.FormatFloat(t, 'g', -1, 64)
				}
				ticks = append(ticks, tick)
			}
		}
	}
	return ticks
}

// fitDecades widens a log axis's range to whole decades, so that it always
// has labelled ticks (gonum labels only powers of ten) and never collapses
// to a single value.
func fitDecades(ax *plot.Axis) {
	// Pow10 is exact, so the ends match gonum's tick values.
	lo := math.Pow10(int(math.Floor(math.Log10(ax.Min))))
	hi := math.Pow10(int(math.Ceil(math.Log10(ax.Max))))
	if hi <= lo {
		hi = lo * 10
	}
	ax.Min, ax.Max = lo, hi
}

func finite(v ...float64) bool {
	for _, f := range v {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return false
		}
	}
	return true
}

// hline is a horizontal line across [x0, x1] at height y.
func hline(x0, x1, y float64) plotter.XYs {
	return plotter.XYs{{X: x0, Y: y}, {X: x1, Y: y}}
}

// lineLabels sets notes right-aligned just above their points, in a small
// sans font: placed at a horizontal line's right end, a note names the line.
func lineLabels(notes plotter.XYLabels) (*plotter.Labels, error) {
	l, err := plotter.NewLabels(notes)
	if err != nil {
		return nil, err
	}
	for i := range l.TextStyle {
		l.TextStyle[i].Font.Variant = "Sans"
		l.TextStyle[i].Font.Size = vg.Points(9)
		l.TextStyle[i].XAlign = draw.XRight
		l.TextStyle[i].YAlign = draw.YBottom
	}
	l.Offset = vg.Point{X: -vg.Points(2), Y: vg.Points(1)}
	return l, nil
}

// legendRoom raises the top of ax, whose data range is set, so that a
// legend of n entries in the top corner sits above the data rather than on
// it. An entry takes about a twelfth of the height of a default-sized plot.
func legendRoom(ax *plot.Axis, n int) {
	f := min(0.085*float64(n), 0.5)
	grow := func(lo, hi float64) float64 {
		if hi <= lo {
			hi = lo + 1
		}
		return hi + (hi-lo)*f/(1-f)
	}
	if _, ok := ax.Scale.(plot.LogScale); ok {
		ax.Max = math.Pow(10, grow(math.Log10(ax.Min), math.Log10(ax.Max)))
		return
	}
	if ax.Max <= ax.Min {
		// gonum would widen a flat range by 1 each way; do it first so the room is added on top.
		ax.Min, ax.Max = ax.Min-1, ax.Max+1
	}
	ax.Max = grow(ax.Min, ax.Max)
}
