package method_test

import (
	"context"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/restorelab/restorelab/internal/fakes"
	"github.com/restorelab/restorelab/method"
	"github.com/restorelab/restorelab/restore"
)

var snake = regexp.MustCompile(`^[a-z]+(_[a-z]+)*$`)

func TestRegistry(t *testing.T) {
	seen := map[string]bool{}
	for _, m := range method.All() {
		if seen[m.Name] || m.Name == "" || m.Summary == "" || m.Reference == "" {
			t.Errorf("method %q: duplicate, or no summary or reference", m.Name)
		}
		seen[m.Name] = true
		if got, err := method.Lookup(m.Name); err != nil || got != m {
			t.Errorf("Lookup(%q) = %v, %v", m.Name, got, err)
		}
		for _, p := range m.Params {
			if !snake.MatchString(p.Key) || p.Help == "" {
				t.Errorf("%s: setting %q is not snake_case or has no help", m.Name, p.Key)
			}
		}
		// Defaults must parse, and building fills the configuration by
		// field name (a missing field panics).
		s := m.Defaults()
		for _, k := range m.Keys() {
			if err := s.Set(k, s.Value(k)); err != nil {
				t.Errorf("%s: default %s=%s does not parse: %v", m.Name, k, s.Value(k), err)
			}
		}
	}
	if _, err := method.Lookup("ddpm"); err == nil || !strings.Contains(err.Error(), "ddnm+") {
		t.Errorf("unknown method: %v, want the list of names", err)
	}
}

// TestParamRangesAgreeWithValidate checks each number setting's declared
// range against the sampler's own validation: the bounds are accepted and
// values just outside refused.
func TestParamRangesAgreeWithValidate(t *testing.T) {
	validate := map[string]func(method.Settings) error{
		"ddrm": func(s method.Settings) error {
			c := restore.DefaultDDRMConfig()
			fillFrom(t, s, &c.Steps, &c.Eta, &c.EtaB)
			return c.Validate(1000)
		},
		"ddnm+": func(s method.Settings) error {
			c := restore.DefaultDDNMConfig()
			c.Steps, _ = strconv.Atoi(s.Value("steps"))
			c.Eta, _ = strconv.ParseFloat(s.Value("eta"), 64)
			c.TravelLength, _ = strconv.Atoi(s.Value("travel_length"))
			c.TravelRepeat, _ = strconv.Atoi(s.Value("travel_repeat"))
			return c.Validate(1000)
		},
		"diffpir": func(s method.Settings) error {
			c := restore.DefaultDiffPIRConfig()
			c.Steps, _ = strconv.Atoi(s.Value("steps"))
			c.Lambda, _ = strconv.ParseFloat(s.Value("lambda"), 64)
			c.Zeta, _ = strconv.ParseFloat(s.Value("zeta"), 64)
			return c.Validate(1000)
		},
		"ldm": func(s method.Settings) error {
			c := restore.DefaultDDIMConfig()
			c.Steps, _ = strconv.Atoi(s.Value("steps"))
			c.Eta, _ = strconv.ParseFloat(s.Value("eta"), 64)
			return c.Validate(1000)
		},
	}
	for name, valid := range validate {
		m, _ := method.Lookup(name)
		for _, p := range m.Params {
			if p.Kind != method.Int && p.Kind != method.Float {
				continue
			}
			for _, v := range []float64{p.Min, p.Max} {
				if p.MinOpen && v == p.Min {
					continue
				}
				s := m.Defaults()
				if p.Key == "travel_length" {
					// Only travel with room to go back is valid.
					continue
				}
				if err := s.Set(p.Key, strconv.FormatFloat(v, 'g', -1, 64)); err != nil {
					t.Errorf("%s: %s = %g refused by the settings: %v", name, p.Key, v, err)
					continue
				}
				if err := valid(s); err != nil {
					t.Errorf("%s: %s = %g accepted by the settings, refused by the sampler: %v", name, p.Key, v, err)
				}
			}
			step := 1e-9
			if p.Kind == method.Int {
				step = 1
			}
			for _, v := range []float64{p.Min - step, p.Max + step} {
				if err := m.Defaults().Set(p.Key, strconv.FormatFloat(v, 'g', -1, 64)); err == nil {
					t.Errorf("%s: %s = %g outside %s accepted", name, p.Key, v, p.Range())
				}
			}
		}
	}
}

func fillFrom(t *testing.T, s method.Settings, steps *int, eta, etaB *float64) {
	t.Helper()
	*steps, _ = strconv.Atoi(s.Value("steps"))
	*eta, _ = strconv.ParseFloat(s.Value("eta"), 64)
	*etaB, _ = strconv.ParseFloat(s.Value("eta_b"), 64)
}

func TestSetErrorsNameTheProblem(t *testing.T) {
	s := method.DDRM.Defaults()
	for _, tc := range []struct{ key, value, want string }{
		{"lambda", "3", "diffpir"},
		{"steps", "0", "1..1000"},
		{"steps", "ten", "whole number"},
		{"eta", "NaN", "not a number"},
		{"eta-b", "2", "[0, 1]"},
	} {
		if err := s.Set(tc.key, tc.value); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("set %s %s: %v, want an error naming %q", tc.key, tc.value, err, tc.want)
		}
	}
	if err := s.Set("eta-b", "0.5"); err != nil || s.Value("eta_b") != "0.5" {
		t.Errorf("set eta-b 0.5: %v, value %s", err, s.Value("eta_b"))
	}
	if got := s.Changed(); len(got) != 1 || got[0] != "eta_b" {
		t.Errorf("Changed = %v, want [eta_b]", got)
	}
	if err := method.Baseline.Defaults().Set("steps", "3"); err == nil || !strings.Contains(err.Error(), "no settings") {
		t.Errorf("baseline steps: %v", err)
	}
}

// problem is sr4 of a smooth 32x32 image.
func problem(t *testing.T, task string) method.Problem {
	t.Helper()
	tk, err := restore.LookupTask(task)
	if err != nil {
		t.Fatal(err)
	}
	x := restore.NewTensor(1, restore.Shape{C: 3, H: 32, W: 32})
	for k := range x.Data {
		x.Data[k] = float32(0.5 + 0.4*math.Sin(float64(k)/7))
	}
	p, err := method.Degrade(tk, x, nil, tk.SigmaY, 1)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestEveryMethodRestores builds and runs each method with its defaults
// and few steps, and checks the number of network evaluations.
func TestEveryMethodRestores(t *testing.T) {
	p := problem(t, "sr4")
	ms := &fakes.Models{}
	for _, m := range method.All() {
		s := m.Defaults()
		if s.Has("steps") {
			if err := s.Set("steps", "5"); err != nil {
				t.Fatal(err)
			}
		}
		sampler, err := s.Sampler(ms, p, 3)
		if err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		x, err := restore.Run(context.Background(), sampler)
		if err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		if x.Shape != p.Op.InShape() {
			t.Errorf("%s: result %v, want %v", m.Name, x.Shape, p.Op.InShape())
		}
		want := 5
		if m == method.Baseline {
			want = 0
		}
		if sampler.Len() != want {
			t.Errorf("%s: %d network evaluations, want %d", m.Name, sampler.Len(), want)
		}
	}
}

// TestSettingsBuildTheSamplerTheyName checks that the layer adds nothing
// of its own: DDRM through the settings is bit for bit restore.NewDDRM with
// the same configuration.
func TestSettingsBuildTheSamplerTheyName(t *testing.T) {
	p := problem(t, "sr4-noisy")
	s := method.DDRM.Defaults()
	for k, v := range map[string]string{"steps": "7", "eta": "0.5", "eta_b": "0.8"} {
		if err := s.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	viaLayer, err := s.Sampler(method.Analytic{}, p, 9)
	if err != nil {
		t.Fatal(err)
	}
	direct, err := restore.NewDDRM(restore.NewGaussianDenoiser(nil), p.Op, p.Y, restore.DDRMConfig{Steps: 7, Eta: 0.5, EtaB: 0.8, SigmaY: p.SigmaY, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := restore.Run(context.Background(), viaLayer)
	b, _ := restore.Run(context.Background(), direct)
	for k := range a.Data {
		if math.Float32bits(a.Data[k]) != math.Float32bits(b.Data[k]) {
			t.Fatalf("value %d differs: %v vs %v", k, a.Data[k], b.Data[k])
		}
	}
}

func TestIdentityNamesTheWeights(t *testing.T) {
	id, err := method.DDRM.Defaults().Identity(method.Analytic{})
	if err != nil {
		t.Fatal(err)
	}
	if id["method"] != "ddrm" || id["model"] != "gaussian" || id["model_digest"] != "analytic" || id["steps"] != "20" {
		t.Errorf("identity %v", id)
	}
	if _, err := method.DDRM.Defaults().Identity(method.Analytic{}); err != nil {
		t.Fatal(err)
	}
	s := method.DDRM.Defaults()
	if err := s.Set("model", "ddrm-unet-small"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Identity(method.Analytic{}); err == nil {
		t.Error("a model the Models cannot open has an identity")
	}
}

func TestMeasureChecksMasks(t *testing.T) {
	denoise, _ := restore.LookupTask("denoise")
	inpaint, _ := restore.LookupTask("inpaint")
	y := restore.NewTensor(1, restore.Shape{C: 3, H: 4, W: 4})
	keep := make([]bool, 16)
	keep[3] = true
	if _, err := method.Measure(denoise, &restore.Measurement{Y: y, Keep: keep}, 0.1, ""); err == nil || !strings.Contains(err.Error(), "15 pixels missing") {
		t.Errorf("denoise with missing pixels: %v", err)
	}
	if _, err := method.Measure(inpaint, &restore.Measurement{Y: y}, 0, ""); err == nil || !strings.Contains(err.Error(), "needs a mask") {
		t.Errorf("inpaint without a mask: %v", err)
	}
	p, err := method.Measure(denoise, &restore.Measurement{Y: y, Quantisation: restore.QuantisationSigma}, 0.1, "")
	if err != nil || math.Abs(p.SigmaY-math.Hypot(0.1, restore.QuantisationSigma)) > 1e-15 {
		t.Errorf("8-bit denoise: sigma %v, %v", p.SigmaY, err)
	}
}
