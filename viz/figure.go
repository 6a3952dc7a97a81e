package viz

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/restorelab/restorelab/restore"
)

// Default plot size in pixels, used when a size of 0 is given.
const (
	DefaultWidth  = 400
	DefaultHeight = 300
)

// dpi is the raster resolution of plots. SVG files are sized in points at
// 72 per inch, which viewers show at 96 pixels per inch, so a figure has the
// same apparent size in both formats.
const dpi = 96

// Figure is a picture that can be shown inline or saved: a plot drawn at a
// fixed size, several plots side by side, or a raster image such as a grid.
type Figure interface {
	// Image renders the figure as pixels, e.g. for a notebook or WriteImage.
	Image() (image.Image, error)
	// WritePNG encodes the figure as a PNG.
	WritePNG(w io.Writer) error
	// WriteSVG encodes the figure as an SVG document. Plots are vectors with
	// text set in Liberation Sans; raster figures are embedded as a PNG shown
	// with crisp pixels.
	WriteSVG(w io.Writer) error
}

// SavePNG writes fig as a PNG file. The file is replaced atomically: it holds
// either its old content or the complete new picture.
func SavePNG(path string, fig Figure) error {
	if fig == nil {
		return errors.New("viz: no figure to save")
	}
	return restore.WriteFileAtomic(path, fig.WritePNG)
}

// SaveSVG writes fig as an SVG file, atomically like SavePNG.
func SaveSVG(path string, fig Figure) error {
	if fig == nil {
		return errors.New("viz: no figure to save")
	}
	return restore.WriteFileAtomic(path, fig.WriteSVG)
}

// FromPlot returns p drawn at width x height pixels; 0 selects the default
// size.
func FromPlot(p *plot.Plot, width, height int) Figure {
	return Panels(width, height, p)
}

// Panels returns plots drawn side by side in one figure of width x height
// pixels (0 selects DefaultWidth per panel and DefaultHeight), with their
// plotting areas aligned.
func Panels(width, height int, plots ...*plot.Plot) Figure {
	if width <= 0 {
		width = DefaultWidth * max(len(plots), 1)
	}
	if height <= 0 {
		height = DefaultHeight
	}
	return &plotFigure{plots: plots, w: width, h: height}
}

type plotFigure struct {
	plots []*plot.Plot
	w, h  int
}

// size is the figure's size in vg lengths (points).
func (f *plotFigure) size() (vg.Length, vg.Length) {
	return vg.Length(f.w) * vg.Inch / dpi, vg.Length(f.h) * vg.Inch / dpi
}

func (f *plotFigure) check() error {
	if len(f.plots) == 0 {
		return errors.New("viz: figure has no plots")
	}
	for i, p := range f.plots {
		if p == nil {
			return fmt.Errorf("viz: plot %d of the figure is nil", i)
		}
	}
	return nil
}

// draw paints a white background, then the plots in one aligned row.
func (f *plotFigure) draw(c vg.CanvasSizer) {
	dc := draw.New(c)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	if len(f.plots) == 1 {
		f.plots[0].Draw(dc)
		return
	}
	tiles := draw.Tiles{Rows: 1, Cols: len(f.plots), PadX: vg.Millimeter * 4}
	canvases := plot.Align([][]*plot.Plot{f.plots}, tiles, dc)
	for i, p := range f.plots {
		p.Draw(canvases[0][i])
	}
}

func (f *plotFigure) Image() (image.Image, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	w, h := f.size()
	c := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(dpi))
	f.draw(c)
	return c.Image(), nil
}

func (f *plotFigure) WritePNG(w io.Writer) error {
	img, err := f.Image()
	if err != nil {
		return err
	}
	return png.Encode(w, img)
}

func (f *plotFigure) WriteSVG(w io.Writer) error {
	if err := f.check(); err != nil {
		return err
	}
	c := vgsvg.New(f.size())
	f.draw(c)
	_, err := c.WriteTo(w)
	return err
}

// FromImage returns img as a figure, e.g. a grid from Grid.
func FromImage(img image.Image) Figure { return rasterFigure{img} }

type rasterFigure struct{ img image.Image }

func (f rasterFigure) Image() (image.Image, error) {
	if f.img == nil {
		return nil, errors.New("viz: figure has no image")
	}
	return f.img, nil
}

func (f rasterFigure) WritePNG(w io.Writer) error {
	img, err := f.Image()
	if err != nil {
		return err
	}
	return png.Encode(w, img)
}

func (f rasterFigure) WriteSVG(w io.Writer) error {
	img, err := f.Image()
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return err
	}
	b := img.Bounds()
	// image-rendering keeps upscaled pixels sharp, as in the PNG.
	_, err = fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="%[1]d" height="%[2]d" viewBox="0 0 %[1]d %[2]d">
<image width="%[1]d" height="%[2]d" style="image-rendering:pixelated" xlink:href="data:image/png;base64,%[3]s"/>
</svg>
`, b.Dx(), b.Dy(), base64.StdEncoding.EncodeToString(buf.Bytes()))
	return err
}
