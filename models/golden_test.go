package models

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/restorelab/restorelab/restore"
)

// updateGolden rewrites the bundled-model golden files from the current code,
// for when a bundled model changes. The committed files were last made on an
// AMD EPYC with AVX-512, when the bundled SRLDM was trained on.
var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/golden_bundled.json and .npz")

const (
	goldenBundledJSON = "testdata/golden_bundled.json"
	goldenBundledNPZ  = "testdata/golden_bundled.npz"
)

// goldenBundled is what the golden test pins: per run the sha256 of its
// output bits, and per network the sha256 of its output on a fixed probe.
// ONNX Runtime's kernels and the operators' matrix product
// (restore/internal/sgemm's, gonum's where the processor lacks AVX2) differ
// between processors, so the bits can only be compared where the probes give
// the same bits; elsewhere the outputs are compared with the saved arrays to
// a tolerance.
type goldenBundled struct {
	Runs   map[string]string `json:"runs"`
	Probes map[string]string `json:"probes"`
}

func bitsHash(ts ...*restore.Tensor) string {
	h := sha256.New()
	var b [4]byte
	for _, t := range ts {
		for _, v := range t.Data {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
			h.Write(b[:])
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// goldenImage is a 32x32 crop of samples/cat.png.
func goldenImage(t *testing.T) *restore.Tensor {
	full, err := restore.LoadImage("../samples/cat.png")
	if err != nil {
		t.Fatal(err)
	}
	full = restore.ToRGB(full)
	s := full.Shape
	x := restore.NewTensor(1, restore.Shape{C: 3, H: 32, W: 32})
	for c := range 3 {
		for i := range 32 {
			row := (c*s.H+s.H/2-16+i)*s.W + s.W/2 - 16
			copy(x.Data[(c*32+i)*32:][:32], full.Data[row:row+32])
		}
	}
	return x
}

func TestGoldenBundled(t *testing.T) {
	needRuntime(t)
	ctx := context.Background()
	prior, err := OpenONNX(DefaultPrior, Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer prior.Close()
	l, err := OpenLDM(DefaultLDM, Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	got := goldenBundled{Runs: map[string]string{}, Probes: map[string]string{}}
	outputs := map[string]*restore.Tensor{}
	probe, ts := randomBatch(rand.New(rand.NewPCG(8, 1)), 1, restore.Shape{C: 3, H: 32, W: 32})
	eps, err := prior.PredictEps(ctx, probe, ts)
	if err != nil {
		t.Fatal(err)
	}
	got.Probes["prior"] = bitsHash(eps)
	lowProbe, _ := randomBatch(rand.New(rand.NewPCG(8, 2)), 1, restore.Shape{C: 6, H: 8, W: 8})
	if eps, err = l.UNet.PredictEps(ctx, lowProbe, ts); err != nil {
		t.Fatal(err)
	}
	got.Probes["unet"] = bitsHash(eps)
	z := &restore.Tensor{N: 1, Shape: restore.Shape{C: 3, H: 8, W: 8}, Data: lowProbe.Data[:192]}
	dec, err := l.Autoencoder.Decode(ctx, z)
	if err != nil {
		t.Fatal(err)
	}
	got.Probes["decoder"] = bitsHash(dec)
	// The operators' matrix product: its rounding moves the outputs too.
	sr4, _ := restore.LookupTask("sr4")
	sop, err := sr4.Operator(probe.Shape, nil)
	if err != nil {
		t.Fatal(err)
	}
	spec := restore.NewTensor(1, probe.Shape)
	sop.Vt(spec.Data, probe.Data)
	got.Probes["operator"] = bitsHash(spec)

	x := goldenImage(t)
	for _, name := range []string{"sr4", "deblur", "denoise", "sr4-noisy"} {
		task, err := restore.LookupTask(name)
		if err != nil {
			t.Fatal(err)
		}
		op, err := task.Operator(x.Shape, nil)
		if err != nil {
			t.Fatal(err)
		}
		y, err := restore.Degrade(op, x, task.SigmaY, 3)
		if err != nil {
			t.Fatal(err)
		}
		cfg := restore.DefaultDDRMConfig()
		cfg.Steps, cfg.SigmaY, cfg.Seed = 10, task.SigmaY, 5
		d, err := restore.NewDDRM(prior, op, y, cfg)
		if err != nil {
			t.Fatal(err)
		}
		outputs["ddrm_"+name] = runGolden(t, d)
		if name != "sr4" && name != "sr4-noisy" {
			continue
		}
		low, err := restore.LowResInput(task, op, y, 4)
		if err != nil {
			t.Fatal(err)
		}
		ls, err := restore.NewLDMSR(l.UNet, l.Autoencoder, low, restore.DDIMConfig{Steps: 10, Eta: 1, Seed: 5})
		if err != nil {
			t.Fatal(err)
		}
		outputs["ldm_"+name] = runGolden(t, ls)
		h, err := restore.NewDDRMLDM(l.UNet, l.Autoencoder, low, op, y, restore.DDRMLDMConfig{DDRMConfig: restore.DDRMConfig{Steps: 10, Eta: 1, EtaB: 1, SigmaY: task.SigmaY, Seed: 5}, CorrectEvery: 1})
		if err != nil {
			t.Fatal(err)
		}
		outputs["ddrmldm_"+name] = runGolden(t, h)
	}
	for name, out := range outputs {
		got.Runs[name] = bitsHash(out)
	}

	if *updateGolden {
		raw, err := json.MarshalIndent(got, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenBundledJSON, append(raw, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		var arrays []restore.NPZArray
		for name, out := range outputs {
			arrays = append(arrays, restore.NPZArray{Name: name, Shape: []int{out.N, out.Shape.C, out.Shape.H, out.Shape.W}, Data: out.Data})
		}
		if err := restore.WriteNPZ(goldenBundledNPZ, arrays); err != nil {
			t.Fatal(err)
		}
		return
	}

	raw, err := os.ReadFile(goldenBundledJSON)
	if err != nil {
		t.Fatal(err)
	}
	var want goldenBundled
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	sameKernels := true
	for k, v := range want.Probes {
		sameKernels = sameKernels && got.Probes[k] == v
	}
	saved, err := restore.ReadNPZ(goldenBundledNPZ)
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Runs) != len(outputs) {
		t.Errorf("%d golden runs, %d now", len(want.Runs), len(outputs))
	}
	for name, out := range outputs {
		if sameKernels {
			if got.Runs[name] != want.Runs[name] {
				t.Errorf("%s: output bits changed", name)
			}
			continue
		}
		// Other kernels round differently; the chain must still land on
		// the same image.
		ref, ok := saved[name]
		if !ok || len(ref.Data) != len(out.Data) {
			t.Fatalf("%s: no saved output of its size", name)
		}
		worst := 0.0
		for i, v := range out.Data {
			worst = math.Max(worst, math.Abs(float64(v-ref.Data[i])))
		}
		if worst > 2e-3 {
			t.Errorf("%s: output differs from the golden one by up to %.2g", name, worst)
		}
	}
	if !sameKernels {
		t.Logf("ONNX Runtime or the operators' product round differently here: outputs compared to 2e-3 instead of bit for bit")
	}
}

func runGolden(t *testing.T, s restore.Sampler) *restore.Tensor {
	t.Helper()
	out, err := restore.Run(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
