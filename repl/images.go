package repl

import (
	"image"
	"io"

	"github.com/restorelab/restorelab/viz"
)

// ImageWriter draws an image inline on a terminal.
type ImageWriter interface {
	WriteImage(w io.Writer, img image.Image) error
}

// Terminal draws images inline with one of viz's terminal protocols
// (kitty, iTerm2, sixel or 24-bit colour half blocks), shrunk to MaxCols
// character cells (80 when 0).
type Terminal struct {
	Protocol viz.Protocol
	MaxCols  int
}

// WriteImage implements ImageWriter.
func (t Terminal) WriteImage(w io.Writer, img image.Image) error {
	return viz.WriteImage(w, img, t.Protocol, t.MaxCols)
}
