package restore

// Operator is a linear degradation y = H x with its singular value
// decomposition H = U diag(s) V^T, applied without ever forming a dense matrix.
//
// x is an image of InShape and y an image of OutShape, both flattened
// channel-major. The spectral space has InShape().Len() components: Vt maps an
// image into it and V back. Singulars gives s in the spectral layout, one value
// per component, with 0 for components H does not observe (its null space).
// Ut maps a measurement into the spectral layout (zeros where s = 0 and the
// component has no row in U), and U maps spectral coefficients back to a
// measurement, reading only the observed components.
type Operator interface {
	InShape() Shape
	OutShape() Shape
	Singulars() []float32
	Vt(dst, x []float32)
	V(dst, xBar []float32)
	Ut(dst, y []float32)
	U(dst, yBar []float32)
}

// ApplyH computes dst = H x through the decomposition.
func ApplyH(op Operator, dst, x []float32) {
	spec := make([]float32, op.InShape().Len())
	op.Vt(spec, x)
	for i, s := range op.Singulars() {
		spec[i] *= s
	}
	op.U(dst, spec)
}

// ApplyHt computes dst = H^T y through the decomposition.
func ApplyHt(op Operator, dst, y []float32) {
	spec := make([]float32, op.InShape().Len())
	op.Ut(spec, y)
	for i, s := range op.Singulars() {
		spec[i] *= s
	}
	op.V(dst, spec)
}

// ApplyPinv computes dst = H^+ y, the minimum-norm least-squares solution.
// Components whose singular value is below cutoff are treated as unobserved.
func ApplyPinv(op Operator, dst, y []float32, cutoff float32) {
	spec := make([]float32, op.InShape().Len())
	op.Ut(spec, y)
	for i, s := range op.Singulars() {
		if s > cutoff {
			spec[i] /= s
		} else {
			spec[i] = 0
		}
	}
	op.V(dst, spec)
}
