package restore

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"math"
	"os"
	"testing"
)

// updateGolden rewrites testdata/golden_samplers.json from the current code.
// The committed file was made before the samplers moved onto the shared
// diffusion chain; it proves that DDRM, DDIM, LDMSR and DDRMLDM still give
// the same bits.
var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/golden_samplers.json")

const goldenPath = "testdata/golden_samplers.json"

// hashRun hashes every step's x0_hat and x_next and the result of a run,
// as float32 bits.
func hashRun(t *testing.T, s Sampler) string {
	t.Helper()
	h := sha256.New()
	add := func(x *Tensor) {
		var b [4]byte
		for _, v := range x.Data {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
			h.Write(b[:])
		}
	}
	res, err := Run(context.Background(), s, func(info *StepInfo) error {
		add(info.X0Hat)
		add(info.XNext)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	add(res)
	return hex.EncodeToString(h.Sum(nil))
}

// goldenRuns are the pure-Go runs whose bits are pinned: DDRM with the
// analytic prior on every kind of operator, DDIM with a diagonal Gaussian,
// and LDMSR and DDRMLDM with the closed-form SRLDM stand-ins.
func goldenRuns(t *testing.T) map[string]func() Sampler {
	x := testImage(t)
	x32 := NewTensor(1, Shape{C: 3, H: 32, W: 32})
	for c := range 3 {
		for i := range 32 {
			copy(x32.Data[(c*32+i)*32:][:32], x.Data[(c*64+16+i)*64+16:][:32])
		}
	}
	runs := map[string]func() Sampler{}
	for _, name := range []string{"sr4", "deblur", "denoise", "sr4-noisy", "colorize", "inpaint", "deblur-aniso"} {
		task, err := LookupTask(name)
		if err != nil {
			t.Fatal(err)
		}
		var keep []bool
		if name == "inpaint" {
			keep = RandomInpaintMask(32, 32, 5)
		}
		op, err := task.Operator(x32.Shape, keep)
		if err != nil {
			t.Fatal(err)
		}
		y, err := Degrade(op, x32, task.SigmaY, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, eta := range []float64{0.85, 0} {
			cfg := DefaultDDRMConfig()
			cfg.Steps, cfg.Eta, cfg.SigmaY, cfg.Seed = 10, eta, task.SigmaY, 11
			runs["ddrm/"+name+"/eta="+formatG(eta)] = func() Sampler {
				d, err := NewDDRM(NewGaussianDenoiser(nil), op, y, cfg)
				if err != nil {
					t.Fatal(err)
				}
				return d
			}
		}
	}
	lambda := make([]float64, 64)
	for k := range lambda {
		lambda[k] = math.Pow(10, float64(k%9)/3-1)
	}
	for _, eta := range []float64{1, 0.5, 0} {
		runs["ddim/eta="+formatG(eta)] = func() Sampler {
			d, err := NewDDIM(diagGauss{ldmSchedule(t), lambda}, 2, Shape{C: 1, H: 8, W: 8}, DDIMConfig{Steps: 25, Eta: eta, Seed: 4})
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
	}
	for _, name := range []string{"sr4", "sr4-noisy", "deblur"} {
		_, op, y, low, task := sr4Setup(t, name)
		runs["ldm/"+name] = func() Sampler {
			l, err := NewLDMSR(&gaussSRUNet{sched: ldmSchedule(t), tau: 0.1}, &poolAE{f: 4, levels: 32}, low, DDIMConfig{Steps: 20, Eta: 1, Seed: 9})
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
		for _, etaB := range []float64{1, 0.5} {
			runs["ddrm-ldm/"+name+"/eta_b="+formatG(etaB)] = func() Sampler {
				h, err := NewDDRMLDM(&gaussSRUNet{sched: ldmSchedule(t), tau: 0.1}, &poolAE{f: 4, levels: 32}, low, op, y,
					DDRMLDMConfig{DDRMConfig: DDRMConfig{Steps: 20, Eta: 1, EtaB: etaB, SigmaY: task.SigmaY, Seed: 9}, CorrectEvery: 1})
				if err != nil {
					t.Fatal(err)
				}
				return h
			}
		}
	}
	return runs
}

func formatG(v float64) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestGoldenSamplers pins the samplers' output bits for fixed seeds, with
// the operators' products computed by gonum, as when the hashes were made;
// the faster product the operators use rounds differently, and
// TestGoldenSamplersFastGemm bounds how far that moves the outputs.
func TestGoldenSamplers(t *testing.T) {
	fast := gemm
	defer func() { gemm = fast }()
	gemm = gonumGemm
	got := map[string]string{}
	for name, newRun := range goldenRuns(t) {
		got[name] = hashRun(t, newRun())
	}
	if *updateGolden {
		data, err := json.MarshalIndent(got, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenPath, append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %d hashes to %s", len(got), goldenPath)
		return
	}
	raw, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]string
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	if len(want) != len(got) {
		t.Errorf("%d golden hashes, %d runs", len(want), len(got))
	}
	for name, h := range got {
		if want[name] != h {
			t.Errorf("%s: output bits changed (sha256 %s, golden %s)", name, h[:16], want[name][:min(16, len(want[name]))])
		}
	}
}

// TestGoldenSamplersFastGemm runs the golden runs with the operators' own
// product and with gonum's: the outputs agree to float32 rounding, carried
// through the steps.
func TestGoldenSamplersFastGemm(t *testing.T) {
	runs := goldenRuns(t)
	for name, newRun := range runs {
		fast, err := Run(context.Background(), newRun())
		if err != nil {
			t.Fatal(err)
		}
		old := gemm
		gemm = gonumGemm
		ref, err := Run(context.Background(), newRun())
		gemm = old
		if err != nil {
			t.Fatal(err)
		}
		worst := 0.0
		for k := range fast.Data {
			worst = math.Max(worst, math.Abs(float64(fast.Data[k]-ref.Data[k])))
		}
		if worst > 1e-3 {
			t.Errorf("%s: outputs of the two products differ by up to %.3g", name, worst)
		}
	}
}
