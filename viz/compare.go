package viz

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"

	"github.com/disintegration/imaging"

	"github.com/restorelab/restorelab/restore"
)

// Comparison shows images of one scene side by side at their own
// resolution, each named above and captioned below (a PSNR, say), over a
// second row of the same crop of each, enlarged zoom times with
// nearest-neighbour sampling so that single pixels stay visible. The crop
// is outlined on the full images. Images of another size than the first,
// such as a 4x downsampled measurement, are resized to its size first, so
// that the crop covers the same part of the scene in every column.
func Comparison(names, captions []string, images []image.Image, crop image.Rectangle, zoom int, opts GridOptions) (*image.NRGBA, error) {
	if len(images) == 0 {
		return nil, errors.New("viz: nothing to compare")
	}
	if len(names) != len(images) || (captions != nil && len(captions) != len(images)) {
		return nil, fmt.Errorf("viz: %d names and %d captions for %d images", len(names), len(captions), len(images))
	}
	if zoom < 1 {
		return nil, fmt.Errorf("viz: zoom %d; enlarge the crop at least once", zoom)
	}
	size := images[0].Bounds().Size()
	if crop.Empty() || !crop.In(image.Rectangle{Max: size}) {
		return nil, fmt.Errorf("viz: crop %v is not inside the %dx%d images", crop, size.X, size.Y)
	}
	full := make([]image.Image, len(images))
	zoomed := make([]image.Image, len(images))
	for i, img := range images {
		f := imaging.Clone(img)
		if b := img.Bounds(); b.Dx() != size.X || b.Dy() != size.Y {
			f = imaging.Resize(img, size.X, size.Y, imaging.NearestNeighbor)
		}
		zoomed[i] = imaging.Resize(imaging.Crop(f, crop), crop.Dx()*zoom, crop.Dy()*zoom, imaging.NearestNeighbor)
		outline(f, crop, color.NRGBA{R: 230, G: 30, B: 30, A: 255})
		full[i] = f
	}
	opts.Footers = captions
	opts.CellHeight = 0
	return Grid([][]image.Image{full, zoomed}, nil, names, opts)
}

// outline draws a two-pixel frame just outside r, clipped to the image.
func outline(img *image.NRGBA, r image.Rectangle, c color.Color) {
	ink := image.NewUniform(c)
	o := r.Inset(-2)
	for _, band := range []image.Rectangle{
		{o.Min, image.Pt(o.Max.X, r.Min.Y)}, {image.Pt(o.Min.X, r.Max.Y), o.Max},
		{image.Pt(o.Min.X, r.Min.Y), image.Pt(r.Min.X, r.Max.Y)}, {image.Pt(r.Max.X, r.Min.Y), image.Pt(o.Max.X, r.Max.Y)},
	} {
		draw.Draw(img, band.Intersect(img.Bounds()), ink, image.Point{}, draw.Src)
	}
}

// MostDifferentCrop returns the w x h window where the images (same shape,
// such as the restorations of several methods) disagree most: the largest
// sum over the window of the per-pixel variance across images, summed over
// channels. Windows are tried on a grid of quarter-window steps.
func MostDifferentCrop(images []*restore.Tensor, w, h int) (image.Rectangle, error) {
	if len(images) < 2 {
		return image.Rectangle{}, errors.New("viz: the crop where images differ needs at least two images")
	}
	s := images[0].Shape
	for _, t := range images[1:] {
		if t.Shape != s {
			return image.Rectangle{}, fmt.Errorf("viz: images of shapes %v and %v; compare images of one size", s, t.Shape)
		}
	}
	w, h = min(w, s.W), min(h, s.H)
	if w < 1 || h < 1 {
		return image.Rectangle{}, fmt.Errorf("viz: crop of %dx%d; give a positive size", w, h)
	}
	// Integral image of the variance, so each window costs four lookups.
	sum := make([]float64, (s.H+1)*(s.W+1))
	n := float64(len(images))
	for i := range s.H {
		for j := range s.W {
			var v float64
			for c := range s.C {
				k := (c*s.H+i)*s.W + j
				var m, m2 float64
				for _, t := range images {
					x := float64(t.Data[k])
					m += x
					m2 += x * x
				}
				m /= n
				v += max(m2/n-m*m, 0)
			}
			sum[(i+1)*(s.W+1)+j+1] = v + sum[i*(s.W+1)+j+1] + sum[(i+1)*(s.W+1)+j] - sum[i*(s.W+1)+j]
		}
	}
	at := func(i, j int) float64 { return sum[i*(s.W+1)+j] }
	best, bestV := image.Rectangle{}, -1.0
	stepY, stepX := max(h/4, 1), max(w/4, 1)
	for i := 0; i+h <= s.H; i += stepY {
		for j := 0; j+w <= s.W; j += stepX {
			if v := at(i+h, j+w) - at(i, j+w) - at(i+h, j) + at(i, j); v > bestV {
				best, bestV = image.Rect(j, i, j+w, i+h), v
			}
		}
	}
	return best, nil
}
