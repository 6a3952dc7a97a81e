package models

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/restorelab/restorelab/restore"
)

// The closed forms of the ldm fixture (see testdata/make_fixtures.py).
const (
	fixtureTau    = 0.1
	fixtureLevels = 8
	fixtureFactor = 4
)

func ldmFixtureSchedule(tb testing.TB) *restore.Schedule {
	tb.Helper()
	s, err := restore.NewSchedule(restore.ScaledLinear, 0.0015, 0.0155, 1000)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// goLDM computes the fixture's three parts in Go. It implements both
// restore.Denoiser (the UNet) and restore.Autoencoder.
type goLDM struct{ sched *restore.Schedule }

func (g goLDM) Info() restore.DenoiserInfo {
	return restore.DenoiserInfo{Name: "go-ldm", Schedule: g.sched, Channels: 3, CondChannels: 3, SizeMultiple: 2}
}

func (g goLDM) PredictEps(_ context.Context, x *restore.Tensor, t []int) (*restore.Tensor, error) {
	s := restore.Shape{C: 3, H: x.Shape.H, W: x.Shape.W}
	eps := restore.NewTensor(x.N, s)
	n := s.Len()
	for b := range x.N {
		ab := g.sched.AlphaBar(t[b])
		gain := math.Sqrt(1-ab) / (ab*fixtureTau*fixtureTau + 1 - ab)
		xb := x.Item(b)
		for k := range eps.Item(b) {
			eps.Item(b)[k] = float32(gain * (float64(xb[k]) - math.Sqrt(ab)*float64(xb[n+k])))
		}
	}
	return eps, nil
}

func (goLDM) Factor() int         { return fixtureFactor }
func (goLDM) LatentChannels() int { return 3 }

func (goLDM) Encode(_ context.Context, x *restore.Tensor) (*restore.Tensor, error) {
	const f = fixtureFactor
	s := x.Shape
	z := restore.NewTensor(x.N, restore.Shape{C: 3, H: s.H / f, W: s.W / f})
	for b := range x.N {
		for c := range 3 {
			for i := range s.H {
				for j := range s.W {
					z.Item(b)[(c*z.Shape.H+i/f)*z.Shape.W+j/f] += x.Item(b)[(c*s.H+i)*s.W+j] / (f * f)
				}
			}
		}
	}
	return z, nil
}

func (goLDM) Decode(_ context.Context, z *restore.Tensor) (*restore.Tensor, error) {
	const f = fixtureFactor
	s := z.Shape
	x := restore.NewTensor(z.N, restore.Shape{C: 3, H: s.H * f, W: s.W * f})
	step := 2.0 / (fixtureLevels - 1)
	for b := range z.N {
		for c := range 3 {
			for i := range x.Shape.H {
				for j := range x.Shape.W {
					v := min(max(float64(z.Item(b)[(c*s.H+i/f)*s.W+j/f]), -1), 1)
					// The nearest vector of a grid codebook is the nearest level per channel.
					x.Item(b)[(c*x.Shape.H+i)*x.Shape.W+j] = float32(math.Round((v+1)/step)*step - 1)
				}
			}
		}
	}
	return x, nil
}

func openFixtureLDM(tb testing.TB) *LDM {
	tb.Helper()
	needRuntime(tb)
	l, err := OpenLDM(fixture("ldm"), Options{Threads: 1})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	return l
}

func uniformTensor(rng *rand.Rand, n int, s restore.Shape, lo, hi float64) *restore.Tensor {
	x := restore.NewTensor(n, s)
	for i := range x.Data {
		x.Data[i] = float32(lo + (hi-lo)*rng.Float64())
	}
	return x
}

func maxAbsDiff(a, b *restore.Tensor) float64 {
	var m float64
	for i := range a.Data {
		m = max(m, math.Abs(float64(a.Data[i]-b.Data[i])))
	}
	return m
}

func TestOpenLDMFixture(t *testing.T) {
	l := openFixtureLDM(t)
	info := l.UNet.Info()
	if info.Channels != 3 || info.CondChannels != 3 || info.Schedule.Kind != restore.ScaledLinear || info.SizeMultiple != 2 {
		t.Errorf("UNet info %+v", info)
	}
	if l.Autoencoder.Factor() != 4 || l.Autoencoder.LatentChannels() != 3 || l.Manifest.Role != RoleLDMSR {
		t.Errorf("autoencoder factor %d, channels %d, bundle role %s", l.Autoencoder.Factor(), l.Autoencoder.LatentChannels(), l.Manifest.Role)
	}
	for _, part := range []string{"unet", "encoder", "decoder"} {
		if _, err := LoadManifest(filepath.Join(fixture("ldm"), part)); err != nil {
			t.Error(err)
		}
	}
}

// TestLDMPartsMatchClosedForms runs each part through ONNX Runtime and
// compares it with the Go closed form: shapes, pooling, quantisation to the
// nearest codebook vector and upsampling, and the UNet's use of z_t, the
// conditioning and t.
func TestLDMPartsMatchClosedForms(t *testing.T) {
	l := openFixtureLDM(t)
	g := goLDM{ldmFixtureSchedule(t)}
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 4))

	x := uniformTensor(rng, 2, restore.Shape{C: 3, H: 16, W: 24}, -1, 1)
	z, err := l.Autoencoder.Encode(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := g.Encode(ctx, x)
	if z.Shape != (restore.Shape{C: 3, H: 4, W: 6}) || maxAbsDiff(z, want) > 1e-6 {
		t.Errorf("encode: shape %v, max difference %g", z.Shape, maxAbsDiff(z, want))
	}

	zr := uniformTensor(rng, 2, restore.Shape{C: 3, H: 4, W: 6}, -1.2, 1.2)
	img, err := l.Autoencoder.Decode(ctx, zr)
	if err != nil {
		t.Fatal(err)
	}
	want, _ = g.Decode(ctx, zr)
	if img.Shape != (restore.Shape{C: 3, H: 16, W: 24}) || maxAbsDiff(img, want) > 1e-6 {
		t.Errorf("decode: shape %v, max difference %g", img.Shape, maxAbsDiff(img, want))
	}
	levels := map[float32]bool{}
	for _, v := range img.Data {
		levels[v] = true
	}
	if len(levels) > fixtureLevels {
		t.Errorf("decoded image has %d distinct values; the codebook has %d levels per channel", len(levels), fixtureLevels)
	}

	xt := uniformTensor(rng, 2, restore.Shape{C: 6, H: 4, W: 6}, -2, 2)
	ts := []int{3, 700}
	eps, err := l.UNet.PredictEps(ctx, xt, ts)
	if err != nil {
		t.Fatal(err)
	}
	want, _ = g.PredictEps(ctx, xt, ts)
	if eps.Shape != (restore.Shape{C: 3, H: 4, W: 6}) || maxAbsDiff(eps, want) > 1e-5 {
		t.Errorf("unet: shape %v, max difference %g", eps.Shape, maxAbsDiff(eps, want))
	}
}

func TestLDMPartsRejectBadInput(t *testing.T) {
	l := openFixtureLDM(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		run  func() error
		want string
	}{
		{"gray image", func() error {
			_, err := l.Autoencoder.Encode(ctx, restore.NewTensor(1, restore.Shape{C: 1, H: 8, W: 8}))
			return err
		}, "3 channels"},
		{"odd image", func() error {
			_, err := l.Autoencoder.Encode(ctx, restore.NewTensor(1, restore.Shape{C: 3, H: 10, W: 8}))
			return err
		}, "multiples of 4; got 8x10"},
		{"latent channels", func() error {
			_, err := l.Autoencoder.Decode(ctx, restore.NewTensor(1, restore.Shape{C: 4, H: 2, W: 2}))
			return err
		}, "3-channel latents"},
		{"unet without conditioning", func() error {
			_, err := l.UNet.PredictEps(ctx, restore.NewTensor(1, restore.Shape{C: 3, H: 2, W: 2}), []int{1})
			return err
		}, "6-channel inputs (3 of x_t, then 3 of conditioning)"},
		{"unet odd latent", func() error {
			_, err := l.UNet.PredictEps(ctx, restore.NewTensor(1, restore.Shape{C: 6, H: 3, W: 2}), []int{1})
			return err
		}, "multiples of 2"},
	} {
		if err := tc.run(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %q", tc.name, err, tc.want)
		}
	}
}

// catCrop returns the central 64x64 of samples/cat.png.
func catCrop(tb testing.TB) *restore.Tensor {
	tb.Helper()
	full, err := restore.LoadImage("../samples/cat.png")
	if err != nil {
		tb.Fatal(err)
	}
	full = restore.ToRGB(full)
	const side = 64
	s := full.Shape
	x := restore.NewTensor(1, restore.Shape{C: 3, H: side, W: side})
	for c := range 3 {
		for i := range side {
			row := (c*s.H+s.H/2-side/2+i)*s.W + s.W/2 - side/2
			copy(x.Data[(c*side+i)*side:][:side], full.Data[row:row+side])
		}
	}
	return x
}

func consistency(op restore.Operator, x, y *restore.Tensor) float64 {
	hx := make([]float32, op.OutShape().Len())
	restore.ApplyH(op, hx, x.Data)
	var sum float64
	for i, v := range hx {
		d := float64(v - y.Data[i])
		sum += d * d
	}
	return math.Sqrt(sum / float64(len(hx)))
}

// TestLDMPipelineEndToEnd runs SRLDM and DDRM-LDM on a 4x SR of a 64x64
// crop through ONNX Runtime: LDM agrees with the same pipeline on the Go
// closed forms, and the hybrid is at least 10x more consistent with y.
func TestLDMPipelineEndToEnd(t *testing.T) {
	l := openFixtureLDM(t)
	g := goLDM{ldmFixtureSchedule(t)}
	x := catCrop(t)
	task, _ := restore.LookupTask("sr4")
	op, err := task.Operator(x.Shape, nil)
	if err != nil {
		t.Fatal(err)
	}
	y, _ := restore.Degrade(op, x, 0, 1)
	low, err := restore.LowResInput(task, op, y, l.Autoencoder.Factor())
	if err != nil {
		t.Fatal(err)
	}
	cfg := restore.DDIMConfig{Steps: 25, Eta: 1, Seed: 7}
	run := func(unet restore.Denoiser, ae restore.Autoencoder) *restore.Tensor {
		s, err := restore.NewLDMSR(unet, ae, low, cfg)
		if err != nil {
			t.Fatal(err)
		}
		out, err := restore.Run(context.Background(), s)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	viaORT, viaGo := run(l.UNet, l.Autoencoder), run(g, g)
	// Float rounding may flip a latent's codebook entry near a boundary,
	// so the two agree closely but not exactly.
	if p := restore.PSNR(viaORT.Data, viaGo.Data); p < 40 {
		t.Errorf("LDM through ONNX Runtime is %.1f dB from the Go closed form", p)
	}

	hcfg := restore.DefaultDDRMLDMConfig()
	hcfg.Steps, hcfg.Seed = 25, 7
	h, err := restore.NewDDRMLDM(l.UNet, l.Autoencoder, low, op, y, hcfg)
	if err != nil {
		t.Fatal(err)
	}
	hybrid, err := restore.Run(context.Background(), h)
	if err != nil {
		t.Fatal(err)
	}
	cl, ch := consistency(op, viaORT, y), consistency(op, hybrid, y)
	pl, ph := restore.PSNR(viaORT.Data, x.Data), restore.PSNR(hybrid.Data, x.Data)
	t.Logf("LDM %.2f dB, consistency %.2e; DDRM-LDM %.2f dB, consistency %.2e", pl, cl, ph, ch)
	if cl < 10*ch || ph < pl {
		t.Errorf("DDRM-LDM %.2f dB, consistency %.3g; LDM %.2f dB, %.3g", ph, ch, pl, cl)
	}
}

// editBundle copies the ldm fixture and applies change to the bundle's
// manifest, given as a generic JSON object.
func editBundle(t *testing.T, change func(m map[string]any)) string {
	t.Helper()
	dir := copyFixture(t, "ldm")
	p := filepath.Join(dir, ManifestFile)
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	change(m)
	if raw, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestOpenLDMRejectsBrokenBundles(t *testing.T) {
	needRuntime(t)
	missing := copyFixture(t, "ldm")
	if err := os.RemoveAll(filepath.Join(missing, "encoder")); err != nil {
		t.Fatal(err)
	}
	swapped := editBundle(t, func(m map[string]any) {
		m["parts"] = map[string]any{"unet": "unet", "encoder": "decoder", "decoder": "encoder"}
	})
	unconditional := copyFixture(t, "ldm")
	um, err := LoadManifest(filepath.Join(unconditional, "unet"))
	if err != nil {
		t.Fatal(err)
	}
	um.CondChannels = 0
	writeManifest(t, filepath.Join(unconditional, "unet"), um)
	tamper := copyFixture(t, "ldm")
	if err := os.WriteFile(filepath.Join(tamper, "decoder", "model.onnx"), []byte("not onnx"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, want string
	}{
		{"missing part", missing, "its encoder part, the folder encoder, is missing"},
		{"swapped parts", swapped, "has role ldm-decoder; it must be an ldm-encoder"},
		{"size multiple", editBundle(t, func(m map[string]any) { m["size_multiple"] = 6 }), "size_multiple 6 is not a multiple of the unet's size multiple times the factor, 8"},
		{"same folder twice", editBundle(t, func(m map[string]any) {
			m["parts"] = map[string]any{"unet": "unet", "encoder": "unet", "decoder": "decoder"}
		}), `parts.unet and parts.encoder are both "unet"`},
		{"no factor", editBundle(t, func(m map[string]any) { delete(m, "factor") }), "factor 0"},
		{"unet without cond_channels", unconditional, "a ldm-unet with 6-channel x_t outputs 6"},
		{"corrupt part", tamper, "model.onnx has sha256"},
		{"not a bundle", fixture("closed_f32"), "role ddrm-prior; the ldm methods need an ldm-sr bundle"},
		{"a file", filepath.Join(fixture("closed_f32"), "model.onnx"), "is a file"},
	} {
		if _, err := OpenLDM(tc.path, Options{Threads: 1}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %q", tc.name, err, tc.want)
		}
	}
	if _, err := Open(fixture("ldm"), Options{}); err == nil || !strings.Contains(err.Error(), "--ldm-model") {
		t.Errorf("Open of a bundle: %v", err)
	}
}

func TestBundleManifestValidation(t *testing.T) {
	good := `{"name": "b", "role": "ldm-sr", "parts": {"unet": "u", "encoder": "e", "decoder": "d"}, "factor": 4, "size_multiple": 32, "value_range": [-1, 1], "provenance": {}}`
	if _, err := ParseManifest([]byte(good)); err != nil {
		t.Fatalf("good bundle: %v", err)
	}
	for _, tc := range []struct{ old, new, want string }{
		{`"parts": {"unet": "u", "encoder": "e", "decoder": "d"}, `, ``, "needs parts"},
		{`"encoder": "e"`, `"encoder": "../e"`, `parts.encoder "../e"`},
		{`"factor": 4`, `"factor": 0`, "factor 0"},
		{`"size_multiple": 32`, `"size_multiple": 32, "files": [{"path": "m.onnx", "sha256": "` + strings.Repeat("0", 64) + `"}]`, "declares no files"},
		{`"role": "ldm-sr"`, `"role": "ldm-encoder"`, "parts and factor are for ldm-sr bundles"},
		{`"decoder": "d"}`, `"decoder": "d", "vae": "v"}`, "unknown field"},
	} {
		raw := strings.Replace(good, tc.old, tc.new, 1)
		if _, err := ParseManifest([]byte(raw)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s -> %s: %v, want an error naming %q", tc.old, tc.new, err, tc.want)
		}
	}
	prior, err := LoadManifest(fixture("closed_f32"))
	if err != nil {
		t.Fatal(err)
	}
	prior.CondChannels = 3
	if err := prior.Validate(); err == nil || !strings.Contains(err.Error(), "only an ldm-unet has conditioning channels") {
		t.Errorf("cond_channels on a ddrm-prior: %v", err)
	}
}

func TestInspectBundle(t *testing.T) {
	r := inspect(t, fixture("ldm"))
	if !r.OK() || r.Role != RoleLDMSR || !strings.Contains(r.DryRun, "unet x [3,6,4,4]") || !strings.Contains(r.DryRun, "decoder latent [1,3,2,2] -> image [1,3,8,8]") {
		t.Errorf("report:\n%s", r)
	}
	missing := copyFixture(t, "ldm")
	if err := os.RemoveAll(filepath.Join(missing, "unet")); err != nil {
		t.Fatal(err)
	}
	wantProblem(t, inspect(t, missing), "its unet part, the folder unet, is missing")
	wrong := editBundle(t, func(m map[string]any) { m["size_multiple"] = 4 })
	wantProblem(t, inspect(t, wrong), "size_multiple 4 is not a multiple")
}

func TestListShowsBundles(t *testing.T) {
	useBundled(t) // none, whatever models/bundled holds
	user := t.TempDir()
	t.Setenv(EnvModels, user)
	if err := os.CopyFS(filepath.Join(user, "sr"), os.DirFS(fixture("ldm"))); err != nil {
		t.Fatal(err)
	}
	c, err := List()
	if err != nil {
		t.Fatal(err)
	}
	if len(c) != 2 || c[1].Name != "sr" || c[1].Role != RoleLDMSR || c[1].Problem != "" {
		t.Errorf("catalog:\n%s", c)
	}
	l, err := OpenLDM("sr", Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
}
