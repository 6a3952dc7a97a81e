package restore

import (
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// benchOperator times one V plus one V^T of a 256x256 RGB image.
func benchOperator(b *testing.B, build func(s Shape) (Operator, error)) {
	op, err := build(Shape{3, 256, 256})
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 1))
	x := make([]float32, op.InShape().Len())
	for i := range x {
		x[i] = r.Float32()
	}
	spec := make([]float32, len(x))
	b.ReportAllocs()
	for b.Loop() {
		op.Vt(spec, x)
		op.V(x, spec)
	}
}

func BenchmarkIdentity(b *testing.B) {
	benchOperator(b, func(s Shape) (Operator, error) { return NewIdentity(s), nil })
}

func BenchmarkInpaint(b *testing.B) {
	benchOperator(b, func(s Shape) (Operator, error) { return NewInpaint(s, RandomMask(s.H, s.W, 0.5, 1)) })
}

func BenchmarkColorize(b *testing.B) { benchOperator(b, NewColorize) }

func BenchmarkBicubicDown4(b *testing.B) {
	benchOperator(b, func(s Shape) (Operator, error) { return NewBicubicDown(s, 4) })
}

func BenchmarkBicubicDown2(b *testing.B) {
	benchOperator(b, func(s Shape) (Operator, error) { return NewBicubicDown(s, 2) })
}

func BenchmarkBlockAverage4(b *testing.B) {
	benchOperator(b, func(s Shape) (Operator, error) { return NewBlockAverage(s, 4) })
}

func BenchmarkGaussianBlur(b *testing.B) {
	benchOperator(b, func(s Shape) (Operator, error) {
		k, err := GaussianKernel(1)
		if err != nil {
			return nil, err
		}
		return NewBlur(s, k, k)
	})
}

func BenchmarkUniformBlur9(b *testing.B) {
	benchOperator(b, func(s Shape) (Operator, error) {
		k, err := UniformKernel(9)
		if err != nil {
			return nil, err
		}
		return NewBlur(s, k, k)
	})
}

func BenchmarkAnisotropicBlur(b *testing.B) {
	benchOperator(b, func(s Shape) (Operator, error) {
		kr, err := GaussianKernel(3)
		if err != nil {
			return nil, err
		}
		kc, err := GaussianKernel(0.5)
		if err != nil {
			return nil, err
		}
		return NewBlur(s, kr, kc)
	})
}

// BenchmarkSeparableDense times a separable operator whose random 1-D
// matrices have no symmetry, the dense fallback.
func BenchmarkSeparableDense(b *testing.B) {
	benchOperator(b, func(s Shape) (Operator, error) {
		r := rand.New(rand.NewPCG(2, 2))
		ar, ac := mat.NewDense(s.H/4, s.H, nil), mat.NewDense(s.W/4, s.W, nil)
		for _, a := range []*mat.Dense{ar, ac} {
			raw := a.RawMatrix().Data
			for i := range raw {
				raw[i] = r.NormFloat64()
			}
		}
		return NewSeparable(s, ar, ac)
	})
}

// BenchmarkResizeBicubic times the 4x enlargement of a 64x64 RGB image.
func BenchmarkResizeBicubic(b *testing.B) {
	x := NewTensor(1, Shape{3, 64, 64})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ResizeBicubic(x, 256, 256); err != nil {
			b.Fatal(err)
		}
	}
}
