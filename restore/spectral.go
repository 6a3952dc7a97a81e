package restore

import "fmt"

// singularCutoff is the fraction of the largest singular value below which
// a component counts as unobserved: dividing the measurement by a smaller
// value would amplify float32 rounding more than the component is worth.
const singularCutoff = 1e-4

// measured is a measurement seen in its operator's spectral space, as
// every sampler that reads one uses it.
type measured struct {
	op     Operator
	sigmaY float64 // in [-1, 1] space
	s      []float32
	cut    float32 // singular values at or below cut count as unobserved
	y      *Tensor // the measurement in [-1, 1] space
	yBar   *Tensor // U^T y / s in spectral layout, 0 where unobserved
}

// newMeasured checks y (a batch of op's OutShape images in [0, 1], noise
// sigmaY on that scale), maps it to [-1, 1] and computes y_bar. Since H is
// linear, H(2x - 1) = 2 H x - H 1, so the signed measurement is 2 y - H 1.
func newMeasured(op Operator, y *Tensor, sigmaY float64) (measured, error) {
	if y == nil || y.Shape != op.OutShape() {
		got := "none"
		if y != nil {
			got = y.Shape.String()
		}
		return measured{}, fmt.Errorf("measurement of shape %s does not match the operator's %v; degrade with the same task and image size", got, op.OutShape())
	}
	if y.N < 1 {
		return measured{}, fmt.Errorf("empty batch of measurements")
	}
	if err := checkFinite(y.Data, "the measurement"); err != nil {
		return measured{}, err
	}
	m := measured{op: op, sigmaY: 2 * sigmaY, s: op.Singulars()}
	for _, v := range m.s {
		m.cut = max(m.cut, v*singularCutoff)
	}
	in, out := op.InShape(), op.OutShape()
	ones := make([]float32, in.Len())
	for i := range ones {
		ones[i] = 1
	}
	h1 := make([]float32, out.Len())
	ApplyH(op, h1, ones)
	m.yBar = NewTensor(y.N, in)
	m.y = NewTensor(y.N, out)
	for b := range y.N {
		signed := m.y.Item(b)
		for i, v := range y.Item(b) {
			signed[i] = 2*v - h1[i]
		}
		yb := m.yBar.Item(b)
		op.Ut(yb, signed)
		for k := range yb {
			if m.observed(k) {
				yb[k] /= m.s[k]
			} else {
				yb[k] = 0
			}
		}
	}
	return m, nil
}

// observed reports whether component k carries measurement information.
func (m *measured) observed(k int) bool { return m.s[k] > m.cut }

// Measurement returns the measurement in the sampler's [-1, 1] space,
// 2 y - H 1. It is shared: do not modify it.
func (m *measured) Measurement() *Tensor { return m.y }

// cases classifies every component for a step ending at noise level sigN:
// missing, or observed and the sample at sigN noisier than y (s sigN >
// sigma_y) or not.
func (m *measured) cases(sigN float64) []ComponentCase {
	c := make([]ComponentCase, len(m.s))
	for k, s := range m.s {
		switch {
		case !m.observed(k):
			c[k] = Missing
		case float64(s)*sigN > m.sigmaY:
			c[k] = NoisierThanY
		default:
			c[k] = LessNoisy
		}
	}
	return c
}

// dataStep is the data-consistency step the samplers share: it moves each
// image of x (in [-1, 1]) toward the measurement in the operator's spectral
// space, x_bar_k + w_k (y_bar_k - x_bar_k) for every component k, and
// returns the result and x_bar = V^T x. w_k = 1 on every observed
// component is the projection onto {x : H x = y} that keeps the null space,
// H^+ y + (I - H^+ H) x.
func (m *measured) dataStep(x *Tensor, w []float64) (xc, xBar *Tensor) {
	xBar = NewTensor(x.N, x.Shape)
	xc = NewTensor(x.N, x.Shape)
	spec := make([]float32, x.Shape.Len())
	for b := range x.N {
		xb, yb := xBar.Item(b), m.yBar.Item(b)
		m.op.Vt(xb, x.Item(b))
		for k, v := range xb {
			spec[k] = float32(float64(v) + w[k]*float64(yb[k]-v))
		}
		m.op.V(xc.Item(b), spec)
	}
	return xc, xBar
}

// view is the spectral view of a step whose data step used weights w.
func (m *measured) view(x0Bar *Tensor, cases []ComponentCase, w []float32) *SpectralView {
	return &SpectralView{X0HatBar: x0Bar, YBar: m.yBar, Singulars: m.s, Cases: cases, Weights: w, SigmaY: m.sigmaY}
}

// float32s converts data-step weights for a spectral view.
func float32s(w []float64) []float32 {
	out := make([]float32, len(w))
	for k, v := range w {
		out[k] = float32(v)
	}
	return out
}
