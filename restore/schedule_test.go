package restore

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func TestLinearScheduleMatchesDDRMFacts(t *testing.T) {
	s := DefaultDDPMSchedule()
	// Reference values from the DDRM setting: sigma_950 ~= 97.1, sigma_0 ~= 0.0100.
	if got := s.Sigma(950); math.Abs(got-97.1) > 0.1 {
		t.Errorf("sigma_950 = %v, want about 97.1", got)
	}
	if got := s.Sigma(0); math.Abs(got-0.0100) > 0.0001 {
		t.Errorf("sigma_0 = %v, want about 0.0100", got)
	}
	if s.AlphaBar(-1) != 1 {
		t.Errorf("alpha_bar_-1 = %v, want 1", s.AlphaBar(-1))
	}
}

func TestAlphaBarIsCumulativeProduct(t *testing.T) {
	for _, kind := range []ScheduleKind{Linear, ScaledLinear, Cosine} {
		s, err := NewSchedule(kind, 0.0015, 0.0155, 1000)
		if err != nil {
			t.Fatal(err)
		}
		prod := 1.0
		for i := 0; i < s.T; i++ {
			prod *= 1 - s.Beta(i)
			if math.Abs(prod-s.AlphaBar(i)) > 1e-12 {
				t.Fatalf("%s: alpha_bar_%d = %v, product = %v", kind, i, s.AlphaBar(i), prod)
			}
			if i > 0 && s.AlphaBar(i) >= s.AlphaBar(i-1) {
				t.Fatalf("%s: alpha_bar not decreasing at %d", kind, i)
			}
		}
	}
}

func TestScaledLinearEndpoints(t *testing.T) {
	s, _ := NewSchedule(ScaledLinear, 0.0015, 0.0155, 1000)
	if math.Abs(s.Beta(0)-0.0015) > 1e-15 || math.Abs(s.Beta(999)-0.0155) > 1e-15 {
		t.Errorf("betas = %v..%v, want 0.0015..0.0155", s.Beta(0), s.Beta(999))
	}
	mid := math.Pow((math.Sqrt(0.0015)+math.Sqrt(0.0155))/2, 2)
	// linspace over 1000 points has no exact middle; compare neighbours' mean.
	if got := (s.Beta(499) + s.Beta(500)) / 2; math.Abs(got-mid)/mid > 1e-5 {
		t.Errorf("middle beta = %v, want %v", got, mid)
	}
}

func TestCosineClosedForm(t *testing.T) {
	s, _ := NewSchedule(Cosine, 0, 0, 1000)
	f := func(t float64) float64 { c := math.Cos((t/1000 + 0.008) / 1.008 * math.Pi / 2); return c * c }
	for _, step := range []int{0, 10, 500, 900} {
		want := f(float64(step+1)) / f(0)
		if math.Abs(s.AlphaBar(step)-want) > 1e-9 {
			t.Errorf("alpha_bar_%d = %v, want %v", step, s.AlphaBar(step), want)
		}
	}
}

func TestTimesteps(t *testing.T) {
	s := DefaultDDPMSchedule()
	seq, err := s.TimeSteps(SkipSteps, 20)
	if err != nil {
		t.Fatal(err)
	}
	if len(seq) != 20 || seq[0] != 950 || seq[1] != 900 || seq[19] != 0 {
		t.Errorf("DDRM steps = %v, want 950, 900, ..., 0", seq)
	}
	ddim, _ := s.TimeSteps(LDMSteps, 100)
	if len(ddim) != 100 || ddim[0] != 991 || ddim[99] != 1 {
		t.Errorf("DDIM steps = %v, want 991, ..., 1", ddim)
	}
	for _, n := range []int{0, 1001} {
		if _, err := s.TimeSteps(SkipSteps, n); err == nil {
			t.Errorf("steps %d accepted", n)
		}
	}
	// DiffPIR's quadratic sequence, as numpy computes it in the reference:
	// 999 - int(sqrt(linspace(0, 1000**2, 20))), the last lowered by one.
	quad, err := s.TimeSteps(QuadSteps, 20)
	want := []int{999, 770, 675, 602, 541, 487, 438, 393, 351, 311, 274, 239, 205, 172, 141, 111, 82, 54, 26, 0}
	if err != nil || !slices.Equal(quad, want) {
		t.Errorf("quadratic steps = %v (%v), want %v", quad, err, want)
	}
	quad, _ = s.TimeSteps(QuadSteps, 100)
	if len(quad) != 100 || quad[1] != 899 || quad[50] != 289 || quad[98] != 5 || quad[99] != 0 {
		t.Errorf("100 quadratic steps = %v", quad)
	}
	if _, err := s.TimeSteps(QuadSteps, 900); err == nil || !strings.Contains(err.Error(), "fewer") {
		t.Errorf("900 quadratic steps, which repeat time steps: %v", err)
	}
	if _, err := NewSchedule("quadratic", 1e-4, 0.02, 1000); err == nil {
		t.Error("unknown kind accepted")
	}
}
