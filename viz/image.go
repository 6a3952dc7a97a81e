package viz

import (
	"errors"
	"fmt"
	"image"
	"math"

	"github.com/disintegration/imaging"

	"github.com/restorelab/restorelab/restore"
)

// Image returns image i of the batch t as pixels: *image.Gray for one
// channel, *image.NRGBA for three. Values are read as [0, 1], or as [-1, 1]
// when signed is true (the samplers' space), and clipped to that range; NaN
// shows as black.
func Image(t *restore.Tensor, i int, signed bool) (image.Image, error) {
	if t == nil {
		return nil, errors.New("viz: nil tensor")
	}
	s := t.Shape
	if s.H < 1 || s.W < 1 {
		return nil, fmt.Errorf("viz: tensor of shape %v has no pixels", s)
	}
	if i < 0 || i >= t.N {
		return nil, fmt.Errorf("viz: image %d is out of range; the batch holds %d", i, t.N)
	}
	if len(t.Data) != t.N*s.Len() {
		return nil, fmt.Errorf("viz: tensor holds %d values, not %d for %d images of shape %v", len(t.Data), t.N*s.Len(), t.N, s)
	}
	px := t.Item(i)
	hw := s.H * s.W
	switch s.C {
	case 1:
		img := image.NewGray(image.Rect(0, 0, s.W, s.H))
		for k, v := range px {
			img.Pix[k] = toByte(v, signed)
		}
		return img, nil
	case 3:
		img := image.NewNRGBA(image.Rect(0, 0, s.W, s.H))
		for k := range hw {
			img.Pix[4*k] = toByte(px[k], signed)
			img.Pix[4*k+1] = toByte(px[hw+k], signed)
			img.Pix[4*k+2] = toByte(px[2*hw+k], signed)
			img.Pix[4*k+3] = 255
		}
		return img, nil
	}
	return nil, fmt.Errorf("viz: cannot show %d channels as an image; give 1 (gray) or 3 (RGB)", s.C)
}

func toByte(v float32, signed bool) uint8 {
	f := float64(v)
	if signed {
		f = (f + 1) / 2
	}
	if math.IsNaN(f) {
		return 0
	}
	return uint8(math.Round(255 * min(max(f, 0), 1)))
}

// fitHeight scales img to height h, keeping its aspect ratio. Enlarging
// uses nearest neighbour so that the pixels of a small image stay visible;
// shrinking averages.
func fitHeight(img image.Image, h int) *image.NRGBA {
	b := img.Bounds()
	w := max(1, int(math.Round(float64(b.Dx())*float64(h)/float64(b.Dy()))))
	switch {
	case h == b.Dy():
		return imaging.Clone(img)
	case h > b.Dy():
		return imaging.Resize(img, w, h, imaging.NearestNeighbor)
	}
	return imaging.Resize(img, w, h, imaging.Box)
}
