package restore

// Trace records every step of a run for analysis outside restorelab. Use its
// Hook with Run, then Write.
type Trace struct {
	t, tNext, ab, abNext []float32
	xt, x0, xNext        []*Tensor
}

// NewTrace returns an empty trace.
func NewTrace() *Trace { return &Trace{} }

// Hook records one step; it keeps references to the step's tensors, which
// samplers never modify after returning them.
func (tr *Trace) Hook(info *StepInfo) error {
	tr.t = append(tr.t, float32(info.T))
	tr.tNext = append(tr.tNext, float32(info.TNext))
	tr.ab = append(tr.ab, float32(info.AlphaBar))
	tr.abNext = append(tr.abNext, float32(info.AlphaBarNext))
	tr.xt = append(tr.xt, info.Xt)
	tr.x0 = append(tr.x0, info.X0Hat)
	tr.xNext = append(tr.xNext, info.XNext)
	return nil
}

// Steps is the number of steps recorded.
func (tr *Trace) Steps() int { return len(tr.t) }

// Write saves the trace as an .npz that numpy.load reads. Arrays, all
// float32: y, the measurement in [-1, 1] ([N, C, H, W]); result, the output
// in [0, 1]; and per step along a leading axis of length Steps: t, t_next,
// alpha_bar, alpha_bar_next ([S]) and x_t, x0_hat, x_next in [-1, 1]
// ([S, N, C, H, W]).
func (tr *Trace) Write(path string, y, result *Tensor) error {
	steps := len(tr.t)
	arrays := []NPZArray{
		{Name: "y", Shape: tensorDims(y), Data: y.Data},
		{Name: "result", Shape: tensorDims(result), Data: result.Data},
		{Name: "t", Shape: []int{steps}, Data: tr.t},
		{Name: "t_next", Shape: []int{steps}, Data: tr.tNext},
		{Name: "alpha_bar", Shape: []int{steps}, Data: tr.ab},
		{Name: "alpha_bar_next", Shape: []int{steps}, Data: tr.abNext},
	}
	for _, s := range []struct {
		name string
		ts   []*Tensor
	}{{"x_t", tr.xt}, {"x0_hat", tr.x0}, {"x_next", tr.xNext}} {
		arrays = append(arrays, stackSteps(s.name, s.ts))
	}
	return WriteNPZ(path, arrays)
}

func tensorDims(t *Tensor) []int { return []int{t.N, t.Shape.C, t.Shape.H, t.Shape.W} }

func stackSteps(name string, ts []*Tensor) NPZArray {
	a := NPZArray{Name: name, Shape: []int{len(ts), 0, 0, 0, 0}}
	if len(ts) == 0 {
		return a
	}
	copy(a.Shape[1:], tensorDims(ts[0]))
	for _, t := range ts {
		a.Data = append(a.Data, t.Data...)
	}
	return a
}
