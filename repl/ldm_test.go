package repl

import (
	"context"
	"strings"
	"testing"

	"github.com/restorelab/restorelab/internal/fakes"
	"github.com/restorelab/restorelab/restore"
)

func ldmConfig(*testing.T) Config { return Config{Models: &fakes.Models{}} }

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
	if err := s.Start(); err == nil || !strings.Contains(err.Error(), "no SRLDM") {
		t.Errorf("ldm without an SRLDM: %v", err)
	}
	if err := s.Set("method", "srldm"); err == nil {
		t.Error("unknown method accepted")
	}
}

func TestMethodDefaultsFollowTheMethod(t *testing.T) {
	s := NewSession(Config{})
	check := func(steps, eta string) {
		t.Helper()
		if st := s.Method(); st.Value("steps") != steps || st.Value("eta") != eta {
			t.Errorf("method %s: steps %s, eta %s; want %s, %s", st.Method().Name, st.Value("steps"), st.Value("eta"), steps, eta)
		}
	}
	must(t, s.Set("method", "ldm"))
	check("100", "1")
	must(t, s.Set("method", "ddrm-ldm"))
	check("100", "1")
	must(t, s.Set("method", "ddrm"))
	check("20", "0.85")
	// Settings the user chose stay.
	must(t, s.Set("steps", "7"))
	must(t, s.Set("method", "ldm"))
	check("7", "1")
	must(t, s.Set("method", "diffpir"))
	check("7", "")
	if err := s.Set("eta", "0.5"); err == nil || !strings.Contains(err.Error(), "ddrm") {
		t.Errorf("diffpir has no eta: %v", err)
	}
}
