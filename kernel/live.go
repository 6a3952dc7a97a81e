package kernel

import (
	"fmt"
	"html"
	"math"
	"strings"

	"github.com/disintegration/imaging"
	"github.com/janpfeifer/gonb/gonbui"

	"github.com/restorelab/restorelab/restore"
	"github.com/restorelab/restorelab/viz"
)

// LiveOptions configure LiveHook. The zero value shows image 0 of the batch
// with 96-pixel thumbnails and the change-per-step curve.
type LiveOptions struct {
	// Title heads the display.
	Title string
	// Reference is the clean image in [0, 1], batch item Item, or nil. When
	// given, the curve is the PSNR of x0_hat against it; otherwise it is
	// the RMS change of x0_hat since the previous step, which shows the
	// estimate settling.
	Reference *restore.Tensor
	// Item is the batch item shown.
	Item int
	// Thumb is the thumbnails' longer side in pixels; 0 means 96.
	Thumb int
}

// live is the state of one LiveHook display.
type live struct {
	opt    LiveOptions
	every  int
	id     string
	metric []float64
	prev   []float32 // x0_hat of the previous step, for the change curve
	thumbs []string  // HTML of the thumbnails shown so far
}

// LiveHook returns a step hook that shows a sampler run as it goes, in one
// output updated in place every `every` steps: thumbnails of the x0
// estimate at the refreshed steps and a curve of a metric at every step (see
// LiveOptions). After the last step the updating output is cleared and the
// same display is shown as a persistent output. A run that stops early keeps
// its last update. every < 1 is taken as 1. For latent samplers the display
// shows the decoded estimates, which costs a decoder call at every step
// (StepInfo.Image).
func LiveHook(every int, opt LiveOptions) restore.Hook {
	if opt.Thumb <= 0 {
		opt.Thumb = 96
	}
	l := &live{opt: opt, every: max(every, 1), id: "live_" + gonbui.UniqueId()}
	return l.step
}

func (l *live) step(s *restore.StepInfo) error {
	if !inNotebook() {
		return nil
	}
	est, err := s.Image()
	if err != nil {
		return fmt.Errorf("kernel: live display: %w", err)
	}
	if l.opt.Item < 0 || l.opt.Item >= est.N {
		return fmt.Errorf("kernel: live display of item %d, but the batch holds %d images", l.opt.Item, est.N)
	}
	x0 := unitImage(est.Item(l.opt.Item))
	v, err := l.measure(x0)
	if err != nil {
		return err
	}
	l.metric = append(l.metric, v)
	last := s.Index == s.Count-1
	if s.Index%l.every != 0 && !last {
		return nil
	}
	t := &restore.Tensor{N: 1, Shape: est.Shape, Data: x0}
	img, err := viz.Image(t, 0, false)
	if err != nil {
		return err
	}
	img = imaging.Fit(img, l.opt.Thumb, l.opt.Thumb, imaging.Box)
	th, err := ImageHTML(img, fmt.Sprintf("step %d, t=%d", s.Index+1, s.T))
	if err != nil {
		return err
	}
	l.thumbs = append(l.thumbs, th)
	page := l.html(s)
	if last {
		showHTML(l.id, "")
		showHTML("", page)
	} else {
		showHTML(l.id, page)
	}
	return nil
}

// measure returns the curve's value for an x0 estimate in [0, 1].
func (l *live) measure(x0 []float32) (float64, error) {
	if ref := l.opt.Reference; ref != nil {
		if l.opt.Item >= ref.N || len(ref.Item(l.opt.Item)) != len(x0) {
			return 0, fmt.Errorf("kernel: the reference image does not match the sampler's images; pass the clean image the measurement was made from")
		}
		return restore.PSNR(x0, ref.Item(l.opt.Item)), nil
	}
	defer func() { l.prev = x0 }()
	if l.prev == nil {
		return math.NaN(), nil
	}
	var sum float64
	for i, v := range x0 {
		d := float64(v - l.prev[i])
		sum += d * d
	}
	return math.Sqrt(sum / float64(len(x0))), nil
}

func (l *live) metricName() string {
	if l.opt.Reference != nil {
		return "PSNR of x0_hat (dB)"
	}
	return "RMS change of x0_hat"
}

func (l *live) html(s *restore.StepInfo) string {
	var b strings.Builder
	b.WriteString(`<div>`)
	if l.opt.Title != "" {
		fmt.Fprintf(&b, `<div style="font-weight:bold">%s</div>`, html.EscapeString(l.opt.Title))
	}
	fmt.Fprintf(&b, `<div style="font-family:monospace">step %d/%d, t = %d, sigma = %.3g</div>`, s.Index+1, s.Count, s.T, s.Sigma)
	b.WriteString(`<div style="display:flex;flex-wrap:wrap;align-items:flex-end">`)
	for _, th := range l.thumbs {
		b.WriteString(th)
	}
	b.WriteString(`</div>`)
	b.WriteString(sparkline(l.metricName(), l.metric, s.Count))
	b.WriteString(`</div>`)
	return b.String()
}

// sparkline draws values (one per step, NaN for none) as a small SVG line
// chart over n steps, labelled with its title and value range.
func sparkline(title string, values []float64, n int) string {
	const w, h, pad = 320.0, 90.0, 4.0
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range values {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	var pts []string
	if lo <= hi {
		span := max(hi-lo, 1e-12)
		for i, v := range values {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			x := pad + (w-2*pad)*float64(i)/float64(max(n-1, 1))
			y := h - pad - (h-2*pad)*(v-lo)/span
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
		}
	}
	last := ""
	if len(values) > 0 && !math.IsNaN(values[len(values)-1]) {
		last = fmt.Sprintf(", now %.4g", values[len(values)-1])
	}
	rng := ""
	if lo <= hi {
		rng = fmt.Sprintf(" (%.4g to %.4g%s)", lo, hi, last)
	}
	return fmt.Sprintf(`<div style="font-size:small">%s%s</div>`+
		`<svg width="%.0f" height="%.0f" style="background:#f8f8f8;border:1px solid #ddd">`+
		`<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="%s"/></svg>`,
		html.EscapeString(title), rng, w, h, strings.Join(pts, " "))
}

// unitImage maps a [-1, 1] sample to a fresh [0, 1] slice, clamped.
func unitImage(x []float32) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = min(max((v+1)/2, 0), 1)
	}
	return out
}
