// Package fakes holds closed-form stand-ins for the SRLDM networks, for
// the tests of the packages that run the latent methods without ONNX
// Runtime.
package fakes

import (
	"context"
	"math"

	"github.com/restorelab/restorelab/method"
	"github.com/restorelab/restorelab/restore"
)

// PoolAutoencoder stands in for SRLDM's autoencoder: 4x4 means down,
// nearest-neighbour copies up.
type PoolAutoencoder struct{}

// Factor implements restore.Autoencoder.
func (PoolAutoencoder) Factor() int { return 4 }

// LatentChannels implements restore.Autoencoder.
func (PoolAutoencoder) LatentChannels() int { return 3 }

// Encode implements restore.Autoencoder.
func (PoolAutoencoder) Encode(_ context.Context, x *restore.Tensor) (*restore.Tensor, error) {
	s := x.Shape
	z := restore.NewTensor(x.N, restore.Shape{C: s.C, H: s.H / 4, W: s.W / 4})
	for i := range z.Data {
		b, c, r, col := i/z.Shape.Len(), i/(z.Shape.H*z.Shape.W)%s.C, i/z.Shape.W%z.Shape.H, i%z.Shape.W
		var sum float32
		for dy := range 4 {
			for dx := range 4 {
				sum += x.Item(b)[c*s.H*s.W+(4*r+dy)*s.W+4*col+dx]
			}
		}
		z.Data[i] = sum / 16
	}
	return z, nil
}

// Decode implements restore.Autoencoder.
func (PoolAutoencoder) Decode(_ context.Context, z *restore.Tensor) (*restore.Tensor, error) {
	s := z.Shape
	x := restore.NewTensor(z.N, restore.Shape{C: s.C, H: 4 * s.H, W: 4 * s.W})
	for i := range x.Data {
		b, c, r, col := i/x.Shape.Len(), i/(x.Shape.H*x.Shape.W)%s.C, i/x.Shape.W%x.Shape.H, i%x.Shape.W
		x.Data[i] = z.Item(b)[c*s.H*s.W+r/4*s.W+col/4]
	}
	return x, nil
}

// CondUNet stands in for SRLDM's UNet: its estimate of z0 is the
// low-resolution image it is conditioned on.
type CondUNet struct{ Schedule *restore.Schedule }

// Info implements restore.Denoiser.
func (u CondUNet) Info() restore.DenoiserInfo {
	return restore.DenoiserInfo{Name: "cond", Schedule: u.Schedule, Channels: 3, CondChannels: 3, SizeMultiple: 1, Digest: "analytic"}
}

// PredictEps implements restore.Denoiser.
func (u CondUNet) PredictEps(_ context.Context, x *restore.Tensor, t []int) (*restore.Tensor, error) {
	s := x.Shape
	eps := restore.NewTensor(x.N, restore.Shape{C: 3, H: s.H, W: s.W})
	plane := s.H * s.W
	for b := range x.N {
		ab := u.Schedule.AlphaBar(t[b])
		in, out := x.Item(b), eps.Item(b)
		for k := range out {
			out[k] = float32((float64(in[k]) - math.Sqrt(ab)*float64(in[3*plane+k])) / math.Sqrt(1-ab))
		}
	}
	return eps, nil
}

// Models serves the analytic Gaussian prior and, under any name, an SRLDM
// made of CondUNet and PoolAutoencoder. Opened counts the SRLDMs opened.
type Models struct {
	method.Analytic
	Opened int
}

// SRLDM implements method.Models.
func (m *Models) SRLDM(string) (*method.SRLDMModel, error) {
	sched, err := restore.NewSchedule(restore.ScaledLinear, 0.0015, 0.0155, 1000)
	if err != nil {
		return nil, err
	}
	m.Opened++
	return &method.SRLDMModel{Name: "fake-srldm", UNet: CondUNet{sched}, Autoencoder: PoolAutoencoder{}, Digest: "analytic"}, nil
}
