package kernel

import (
	"fmt"
	"image"
	"image/color"

	"github.com/restorelab/restorelab/restore"
)

// tensorImage returns image i of t, in [0, 1] or [-1, 1] when signed, as pixels.
func tensorImage(t *restore.Tensor, i int, signed bool) (image.Image, error) {
	s := t.Shape
	if i < 0 || i >= t.N || (s.C != 1 && s.C != 3) {
		return nil, fmt.Errorf("kernel: cannot show image %d of a %d-image batch of shape %v", i, t.N, s)
	}
	px, hw := t.Item(i), s.H*s.W
	b := func(v float32) uint8 {
		if signed {
			v = (v + 1) / 2
		}
		return uint8(min(max(v, 0), 1)*255 + 0.5)
	}
	img := image.NewNRGBA(image.Rect(0, 0, s.W, s.H))
	for k := range hw {
		c := color.NRGBA{A: 255}
		c.R = b(px[k])
		c.G, c.B = c.R, c.R
		if s.C == 3 {
			c.G, c.B = b(px[hw+k]), b(px[2*hw+k])
		}
		img.SetNRGBA(k%s.W, k/s.W, c)
	}
	return img, nil
}

// ShowTensor shows image i of t, a batch in [0, 1], as a PNG output.
func ShowTensor(t *restore.Tensor, i int) error {
	img, err := tensorImage(t, i, false)
	if err != nil {
		return err
	}
	return ShowImage(img)
}
