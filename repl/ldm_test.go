package repl

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/restorelab/restorelab/restore"
)

// poolAutoencoder stands in for SRLDM's autoencoder: 4x4 means down,
// nearest-neighbour copies up.
type poolAutoencoder struct{}

func (poolAutoencoder) Factor() int         { return 4 }
func (poolAutoencoder) LatentChannels() int { return 3 }

func (poolAutoencoder) Encode(_ context.Context, x *restore.Tensor) (*restore.Tensor, error) {
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

func (poolAutoencoder) Decode(_ context.Context, z *restore.Tensor) (*restore.Tensor, error) {
	s := z.Shape
	x := restore.NewTensor(z.N, restore.Shape{C: s.C, H: 4 * s.H, W: 4 * s.W})
	for i := range x.Data {
		b, c, r, col := i/x.Shape.Len(), i/(x.Shape.H*x.Shape.W)%s.C, i/x.Shape.W%x.Shape.H, i%x.Shape.W
		x.Data[i] = z.Item(b)[c*s.H*s.W+r/4*s.W+col/4]
	}
	return x, nil
}

// condUNet stands in for SRLDM's UNet: its estimate of z0 is the
// low-resolution image it is conditioned on.
type condUNet struct{ sched *restore.Schedule }

func (u condUNet) Info() restore.DenoiserInfo {
	return restore.DenoiserInfo{Name: "cond", Schedule: u.sched, Channels: 3, CondChannels: 3, SizeMultiple: 1}
}

func (u condUNet) PredictEps(_ context.Context, x *restore.Tensor, t []int) (*restore.Tensor, error) {
	s := x.Shape
	eps := restore.NewTensor(x.N, restore.Shape{C: 3, H: s.H, W: s.W})
	plane := s.H * s.W
	for b := range x.N {
		ab := u.sched.AlphaBar(t[b])
		in, out := x.Item(b), eps.Item(b)
		for k := range out {
			out[k] = float32((float64(in[k]) - math.Sqrt(ab)*float64(in[3*plane+k])) / math.Sqrt(1-ab))
		}
	}
	return eps, nil
}

func ldmConfig(t *testing.T) Config {
	sched, err := restore.NewSchedule(restore.ScaledLinear, 0.0015, 0.0155, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return Config{OpenLDM: func(string) (restore.Denoiser, restore.Autoencoder, error) {
		return condUNet{sched}, poolAutoencoder{}, nil
	}}
}

func TestLatentMethods(t *testing.T) {
	clean := writeTestImage(t, 32)
	consistency := map[string]float64{}
	for _, method := range []string{"ldm", "ddrm-ldm"} {
		s := NewSession(ldmConfig(t))
		must(t, s.LoadClean(clean))
		must(t, s.Set("task", "sr4"))
		must(t, s.Set("method", method))
		must(t, s.Set("steps", "6"))
		must(t, s.Degrade("sr4"))
		must(t, s.Start())
		must(t, s.Step(context.Background(), 0, nil))
		x0 := tensor(t, s, "x0")
		if x0.Shape != (restore.Shape{C: 3, H: 32, W: 32}) {
			t.Fatalf("%s: x0_hat of shape %v, want the image's", method, x0.Shape)
		}
		if _, _, err := s.Picture("spectrum"); method == "ldm" && (err == nil || !strings.Contains(err.Error(), "no spectral view")) {
			t.Errorf("ldm: spectrum gave %v", err)
		}
		m, err := s.ResultMetrics()
		must(t, err)
		consistency[method] = m.Consistency
	}
	// DDRM-LDM pins the measured components of its result; SRLDM does not.
	if consistency["ddrm-ldm"] > consistency["ldm"]/10 {
		t.Errorf("consistency: ldm %g, ddrm-ldm %g", consistency["ldm"], consistency["ddrm-ldm"])
	}
	s := NewSession(Config{})
	must(t, s.LoadClean(clean))
	must(t, s.Degrade("sr4"))
	must(t, s.Set("method", "ldm"))
	if err := s.Start(); err == nil || !strings.Contains(err.Error(), "not available") {
		t.Errorf("ldm without an SRLDM: %v", err)
	}
	if err := s.Set("method", "srldm"); err == nil {
		t.Error("unknown method accepted")
	}
}

func TestMethodDefaultsFollowTheMethod(t *testing.T) {
	s := NewSession(Config{})
	check := func(steps int, eta float64) {
		t.Helper()
		if st := s.Settings(); st.Steps != steps || st.Eta != eta {
			t.Errorf("method %s: steps %d, eta %g; want %d, %g", st.Method, st.Steps, st.Eta, steps, eta)
		}
	}
	must(t, s.Set("method", "ldm"))
	check(100, 1)
	must(t, s.Set("method", "ddrm-ldm"))
	check(100, 1)
	must(t, s.Set("method", "ddrm"))
	check(20, 0.85)
	// Settings the user chose stay.
	must(t, s.Set("steps", "7"))
	must(t, s.Set("method", "ldm"))
	check(7, 0.85)
}
