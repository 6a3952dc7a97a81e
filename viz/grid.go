package viz

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"

	xfont "golang.org/x/image/font"
	"golang.org/x/image/math/fixed"
	"gonum.org/v1/plot/font"

	"github.com/restorelab/restorelab/restore"
)

// GridOptions sets the look of Grid. Zero values select the defaults.
type GridOptions struct {
	// CellHeight is the height in pixels every row is scaled to. By default
	// each row takes the height of its tallest cell.
	CellHeight int
	// Gap is the space in pixels between cells and around the grid: 4 by
	// default, none when negative.
	Gap int
	// FontSize is the label size in pixels, 13 by default.
	FontSize float64
	// Background fills gaps and empty cells, white by default.
	Background color.Color
	// Text colours the labels, black by default.
	Text color.Color
	// Footers, when given, are one single-line text per column, drawn under
	// the grid: a score under each method, say.
	Footers []string
}

func (o GridOptions) withDefaults() GridOptions {
	switch {
	case o.Gap == 0:
		o.Gap = 4
	case o.Gap < 0:
		o.Gap = 0
	}
	if o.FontSize <= 0 {
		o.FontSize = 13
	}
	if o.Background == nil {
		o.Background = color.White
	}
	if o.Text == nil {
		o.Text = color.Black
	}
	return o
}

// labelFace returns Liberation Sans at size pixels. The font ships with
// gonum/plot, so labels look the same on every machine.
func labelFace(size float64) xfont.Face {
	f := font.DefaultCache.Lookup(font.Font{Typeface: "Liberation", Variant: "Sans"}, font.Length(size))
	return f.FontFace(72) // at 72 dpi a point is a pixel
}

// Grid lays cells out in rows and columns with text labels on the left and
// on top. Rows may have different lengths and cells may be nil (left
// empty). Every cell is scaled to its row's height, so a 64x64 measurement
// next to a 256x256 restoration shows its pixels enlarged four times; each
// column is as wide as its widest cell or label. rowLabels and colLabels may
// be nil; otherwise they need one single-line entry per row and per column.
func Grid(cells [][]image.Image, rowLabels, colLabels []string, opts GridOptions) (*image.NRGBA, error) {
	opts = opts.withDefaults()
	cols := 0
	for _, row := range cells {
		cols = max(cols, len(row))
	}
	if len(cells) == 0 || cols == 0 {
		return nil, errors.New("viz: grid has no cells")
	}
	if rowLabels != nil && len(rowLabels) != len(cells) {
		return nil, fmt.Errorf("viz: %d row labels for %d rows", len(rowLabels), len(cells))
	}
	if colLabels != nil && len(colLabels) != cols {
		return nil, fmt.Errorf("viz: %d column labels for %d columns", len(colLabels), cols)
	}
	if opts.Footers != nil && len(opts.Footers) != cols {
		return nil, fmt.Errorf("viz: %d footers for %d columns", len(opts.Footers), cols)
	}

	// Scale the cells and size the rows and columns.
	scaled := make([][]*image.NRGBA, len(cells))
	rowH := make([]int, len(cells))
	colW := make([]int, cols)
	drawn := false
	for r, row := range cells {
		h := opts.CellHeight
		if h <= 0 {
			for _, c := range row {
				if c != nil {
					h = max(h, c.Bounds().Dy())
				}
			}
		}
		rowH[r] = h
		scaled[r] = make([]*image.NRGBA, len(row))
		for c, img := range row {
			if img == nil {
				continue
			}
			if img.Bounds().Empty() {
				return nil, fmt.Errorf("viz: grid cell (%d, %d) is an empty image", r, c)
			}
			scaled[r][c] = fitHeight(img, h)
			colW[c] = max(colW[c], scaled[r][c].Bounds().Dx())
			drawn = true
		}
	}
	if !drawn {
		return nil, errors.New("viz: every grid cell is nil")
	}
	face := labelFace(opts.FontSize)
	defer face.Close()
	m := face.Metrics()
	lineH := (m.Ascent + m.Descent).Ceil()
	labelW := 0
	for _, l := range rowLabels {
		labelW = max(labelW, xfont.MeasureString(face, l).Ceil())
	}
	for c, l := range colLabels {
		colW[c] = max(colW[c], xfont.MeasureString(face, l).Ceil())
	}
	for c, l := range opts.Footers {
		colW[c] = max(colW[c], xfont.MeasureString(face, l).Ceil())
	}
	gap := opts.Gap
	left := gap
	if labelW > 0 {
		left += labelW + gap
	}
	top := gap
	if hasText(colLabels) {
		top += lineH + gap
	}
	width := left + gap*(cols-1) + gap
	for _, w := range colW {
		width += w
	}
	height := top + gap*(len(cells)-1) + gap
	for _, h := range rowH {
		height += h
	}
	if hasText(opts.Footers) {
		height += lineH + gap
	}

	out := image.NewNRGBA(image.Rect(0, 0, width, height))
	draw.Draw(out, out.Bounds(), image.NewUniform(opts.Background), image.Point{}, draw.Src)
	ink := image.NewUniform(opts.Text)
	text := func(s string, x, y int) { // y is the baseline
		d := xfont.Drawer{Dst: out, Src: ink, Face: face, Dot: fixed.P(x, y)}
		d.DrawString(s)
	}
	x := left
	for c, l := range colLabels {
		w := xfont.MeasureString(face, l).Ceil()
		text(l, x+(colW[c]-w)/2, gap+m.Ascent.Ceil())
		x += colW[c] + gap
	}
	y := top
	for r, row := range scaled {
		if rowLabels != nil {
			w := xfont.MeasureString(face, rowLabels[r]).Ceil()
			text(rowLabels[r], gap+labelW-w, y+(rowH[r]-lineH)/2+m.Ascent.Ceil())
		}
		x := left
		for c := range cols {
			if c < len(row) && row[c] != nil {
				b := row[c].Bounds()
				at := image.Pt(x+(colW[c]-b.Dx())/2, y)
				draw.Draw(out, b.Sub(b.Min).Add(at), row[c], b.Min, draw.Over)
			}
			x += colW[c] + gap
		}
		y += rowH[r] + gap
	}
	x = left
	for c, l := range opts.Footers {
		w := xfont.MeasureString(face, l).Ceil()
		text(l, x+(colW[c]-w)/2, y+m.Ascent.Ceil())
		x += colW[c] + gap
	}
	return out, nil
}

func hasText(labels []string) bool {
	for _, l := range labels {
		if l != "" {
			return true
		}
	}
	return false
}

// StepGrid shows the estimate x0_hat of every image of a run (rows) at every
// every-th step and the last one (columns labelled "t=950" and so on). infos
// are the steps in order, as a Hook receives them; for latent samplers the
// grid shows the decoded estimates (StepInfo.PixelX0Hat), decoding only the
// steps it shows. Rows are labelled
// "image 1", "image 2", ... when the batch holds more than one image.
func StepGrid(infos []*restore.StepInfo, every int, opts GridOptions) (*image.NRGBA, error) {
	if len(infos) == 0 {
		return nil, errors.New("viz: no steps to show")
	}
	if every < 1 {
		return nil, fmt.Errorf("viz: every = %d; show every step with 1, or every n-th with n > 1", every)
	}
	var picked []*restore.Tensor
	var colLabels []string
	for i, info := range infos {
		if i%every != 0 && i != len(infos)-1 {
			continue
		}
		x0, err := info.Image()
		if err != nil {
			return nil, fmt.Errorf("viz: step %d: %w", i, err)
		}
		if len(picked) > 0 && x0.N != picked[0].N {
			return nil, fmt.Errorf("viz: step %d has %d images, the first %d", i, x0.N, picked[0].N)
		}
		picked = append(picked, x0)
		colLabels = append(colLabels, fmt.Sprintf("t=%d", info.T))
	}
	n := picked[0].N
	cells := make([][]image.Image, n)
	for _, x0 := range picked {
		for b := range n {
			img, err := Image(x0, b, true)
			if err != nil {
				return nil, err
			}
			cells[b] = append(cells[b], img)
		}
	}
	var rowLabels []string
	if n > 1 {
		for b := range n {
			rowLabels = append(rowLabels, fmt.Sprintf("image %d", b+1))
		}
	}
	return Grid(cells, rowLabels, colLabels, opts)
}

// MethodGrid shows images side by side in one row, each labelled with its
// name: typically the clean image, the degraded one, the baseline and each
// method's restoration.
func MethodGrid(names []string, images []image.Image, opts GridOptions) (*image.NRGBA, error) {
	if len(names) != len(images) {
		return nil, fmt.Errorf("viz: %d names for %d images", len(names), len(images))
	}
	return Grid([][]image.Image{images}, nil, names, opts)
}
