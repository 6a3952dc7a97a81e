package repl

import (
	"bufio"
	"fmt"
	"image"
	"io"

	"github.com/disintegration/imaging"
)

// ImageWriter draws an image inline on a terminal.
type ImageWriter interface {
	WriteImage(w io.Writer, img image.Image) error
}

// Blocks draws images with 24-bit colour half blocks, which most terminals
// show: each character cell is an upper half block '▀' whose foreground is
// one pixel and background the pixel below, so cells hold square pixels.
// Images are scaled down to fit MaxCols columns (80 when 0) and MaxRows
// rows (no limit when 0); smaller ones are drawn at one pixel per column.
type Blocks struct {
	MaxCols, MaxRows int
}

// WriteImage implements ImageWriter.
func (b Blocks) WriteImage(w io.Writer, img image.Image) error {
	cols := b.MaxCols
	if cols <= 0 {
		cols = 80
	}
	bnd := img.Bounds()
	if bnd.Empty() {
		return nil
	}
	width, height := bnd.Dx(), bnd.Dy()
	if width > cols {
		width, height = cols, max(1, height*cols/width)
	}
	if rows := b.MaxRows; rows > 0 && height > 2*rows {
		width, height = max(1, width*2*rows/height), 2*rows
	}
	if width == bnd.Dx() {
		img = imaging.Clone(img)
	} else {
		img = imaging.Resize(img, width, height, imaging.Box)
	}
	// imaging returns NRGBA images at the origin.
	m := img.(*image.NRGBA)
	bw := bufio.NewWriter(w)
	for y := 0; y < height; y += 2 {
		for x := range width {
			top := m.NRGBAAt(x, y)
			fmt.Fprintf(bw, "\x1b[38;2;%d;%d;%dm", top.R, top.G, top.B)
			if y+1 < height {
				bot := m.NRGBAAt(x, y+1)
				fmt.Fprintf(bw, "\x1b[48;2;%d;%d;%dm", bot.R, bot.G, bot.B)
			} else {
				bw.WriteString("\x1b[49m")
			}
			bw.WriteString("▀")
		}
		bw.WriteString("\x1b[0m\n")
	}
	return bw.Flush()
}
