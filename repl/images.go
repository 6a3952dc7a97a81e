package repl

import (
	"image"
	"io"

	"github.com/disintegration/imaging"

	"github.com/restorelab/restorelab/viz"
)

// ImageWriter draws an image inline on a terminal.
type ImageWriter interface {
	WriteImage(w io.Writer, img image.Image) error
}

// Terminal draws images inline with one of viz's terminal protocols
// (kitty, iTerm2, sixel or 24-bit colour half blocks), shrunk to fit
// MaxCols character cells across (80 when 0) and MaxRows down (no limit
// when 0), so that a whole image stays on the screen.
type Terminal struct {
	Protocol         viz.Protocol
	MaxCols, MaxRows int
}

// cellPixelsH is the height of a character cell assumed for pixel protocols;
// half blocks draw two pixels per cell, one above the other.
const cellPixelsH = 20

// WriteImage implements ImageWriter.
func (t Terminal) WriteImage(w io.Writer, img image.Image) error {
	if t.MaxRows > 0 {
		maxH := t.MaxRows * cellPixelsH
		if t.Protocol == viz.Blocks {
			maxH = 2 * t.MaxRows
		}
		if img.Bounds().Dy() > maxH {
			img = imaging.Resize(img, 0, maxH, imaging.Box)
		}
	}
	return viz.WriteImage(w, img, t.Protocol, t.MaxCols)
}
