package restore

import (
	"fmt"
	"math"
)

// PSNR returns the peak signal-to-noise ratio in dB between two images with
// values in [0, 1]: 10 log10(1 / MSE), with the data range taken as 1. It is
// +Inf for identical images. a and b must have the same length; PSNR panics
// otherwise (PSNRTensor checks shapes and returns an error instead).
func PSNR(a, b []float32) float64 {
	if len(a) != len(b) {
		panic(fmt.Sprintf("restore.PSNR: images have %d and %d values", len(a), len(b)))
	}
	var sum float64
	for i, v := range a {
		d := float64(v) - float64(b[i])
		sum += d * d
	}
	// 1/0 is +Inf, so identical images need no special case.
	return 10 * math.Log10(1/(sum/float64(len(a))))
}

// PSNRTensor returns the mean over the batch of the per-image PSNR of a
// against b, the way restoration papers average it. It is +Inf if any image
// pair is identical.
func PSNRTensor(a, b *Tensor) (float64, error) {
	if err := metricsSameShape(a, b); err != nil {
		return 0, fmt.Errorf("psnr: %w", err)
	}
	var sum float64
	for i := range a.N {
		sum += PSNR(a.Item(i), b.Item(i))
	}
	return sum / float64(a.N), nil
}

// SSIM window constants, as in Wang et al. 2004 and scikit-image with
// gaussian_weights=True: sigma 1.5, truncated at 3.5 sigma, which gives
// scipy's radius int(3.5*1.5 + 0.5) = 5 and an 11-tap window.
const (
	ssimSigma  = 1.5
	ssimRadius = 5
	ssimTaps   = 2*ssimRadius + 1
	ssimK1     = 0.01
	ssimK2     = 0.03
)

// SSIM returns the structural similarity of two images of shape s with values
// in [0, 1], as scikit-image 0.19 computes
// structural_similarity(a, b, channel_axis=0, gaussian_weights=True,
// sigma=1.5, use_sample_covariance=False, data_range=1.0): per channel, local
// means, variances and covariance under a Gaussian window, the SSIM map
// averaged after cropping 5 pixels from each border, then the mean over
// channels. Both sides must be at least 11 pixels.
func SSIM(a, b []float32, s Shape) (float64, error) {
	if s.C < 1 || len(a) != s.Len() || len(b) != s.Len() {
		return 0, fmt.Errorf("ssim: images have %d and %d values, shape %v needs %d", len(a), len(b), s, s.Len())
	}
	if s.H < ssimTaps || s.W < ssimTaps {
		return 0, fmt.Errorf("ssim: image of %dx%d pixels is smaller than the 11x11 SSIM window; use images at least 11 pixels on each side", s.H, s.W)
	}
	win := ssimWindow()
	hw := s.H * s.W
	var sum float64
	for c := range s.C {
		sum += ssimChannel(a[c*hw:(c+1)*hw], b[c*hw:(c+1)*hw], s.H, s.W, win)
	}
	return sum / float64(s.C), nil
}

// SSIMTensor returns the mean over the batch of the per-image SSIM of a
// against b.
func SSIMTensor(a, b *Tensor) (float64, error) {
	if err := metricsSameShape(a, b); err != nil {
		return 0, fmt.Errorf("ssim: %w", err)
	}
	var sum float64
	for i := range a.N {
		v, err := SSIM(a.Item(i), b.Item(i), a.Shape)
		if err != nil {
			return 0, err
		}
		sum += v
	}
	return sum / float64(a.N), nil
}

func metricsSameShape(a, b *Tensor) error {
	if a.N != b.N || a.Shape != b.Shape {
		return fmt.Errorf("comparing %d images of %v with %d images of %v; the restored and reference images must have the same count and size", a.N, a.Shape, b.N, b.Shape)
	}
	if a.N < 1 {
		return fmt.Errorf("no images to compare")
	}
	return nil
}

// ssimWindow returns scipy's normalised 1-D Gaussian kernel
// (ndimage._gaussian_kernel1d) for sigma 1.5 and radius 5.
func ssimWindow() [ssimTaps]float64 {
	var w [ssimTaps]float64
	var sum float64
	for i := range w {
		x := float64(i - ssimRadius)
		w[i] = math.Exp(-0.5 / (ssimSigma * ssimSigma) * x * x)
		sum += w[i]
	}
	for i := range w {
		w[i] /= sum
	}
	return w
}

// ssimChannel returns the mean SSIM map of one h x w channel over the pixels
// at least ssimRadius from every border.
//
// scikit-image filters the whole image with scipy's 'reflect' padding and
// then crops (win_size-1)/2 = ssimRadius pixels per side. As the crop equals
// the filter radius, no padded value ever reaches a pixel that is averaged,
// so only the valid part of each filter is computed here.
func ssimChannel(a, b []float32, h, w int, win [ssimTaps]float64) float64 {
	const c1 = ssimK1 * ssimK1 // (K1 * data range)^2 with data range 1
	const c2 = ssimK2 * ssimK2
	ow, oh := w-2*ssimRadius, h-2*ssimRadius

	// Horizontal pass: the five moment images (x, y, x², y², xy), filtered
	// along rows, for the valid columns of every row.
	var rows [5][]float64
	for j := range rows {
		rows[j] = make([]float64, h*ow)
	}
	var line [5][]float64
	for j := range line {
		line[j] = make([]float64, w)
	}
	for y := range h {
		for x := range w {
			p, q := float64(a[y*w+x]), float64(b[y*w+x])
			line[0][x], line[1][x], line[2][x], line[3][x], line[4][x] = p, q, p*p, q*q, p*q
		}
		for j, src := range line {
			dst := rows[j][y*ow : (y+1)*ow]
			for x := range dst {
				// The window is symmetric: pair the taps around the centre.
				s := (*[ssimTaps]float64)(src[x:])
				sum := win[ssimRadius] * s[ssimRadius]
				for k := range ssimRadius {
					sum += win[k] * (s[k] + s[2*ssimRadius-k])
				}
				dst[x] = sum
			}
		}
	}

	// Vertical pass, one output row at a time, and the SSIM map, averaged.
	var m [5][]float64
	for j := range m {
		m[j] = make([]float64, ow)
	}
	var total float64
	for y := range oh {
		for j, dst := range m {
			clear(dst)
			for k, wk := range win {
				src := rows[j][(y+k)*ow : (y+k+1)*ow]
				for x := range dst {
					dst[x] += wk * src[x]
				}
			}
		}
		for x := range ow {
			ux, uy := m[0][x], m[1][x]
			vx := m[2][x] - ux*ux
			vy := m[3][x] - uy*uy
			vxy := m[4][x] - ux*uy
			total += (2*ux*uy + c1) * (2*vxy + c2) / ((ux*ux + uy*uy + c1) * (vx + vy + c2))
		}
	}
	return total / float64(oh*ow)
}

// Consistency is how far restorations x (in [0, 1]) are from explaining
// their measurements y: ||H x_b - y_b|| / sqrt(m) for each image b, m being
// the size of one measurement, averaged over the batch. A restoration that
// reproduces a measurement of noise sigma_y scores about sigma_y.
func Consistency(op Operator, x, y *Tensor) float64 {
	hx := make([]float32, op.OutShape().Len())
	var total float64
	for b := range x.N {
		ApplyH(op, hx, x.Item(b))
		var sum float64
		for i, v := range hx {
			d := float64(v) - float64(y.Item(b)[i])
			sum += d * d
		}
		total += math.Sqrt(sum / float64(len(hx)))
	}
	return total / float64(x.N)
}
