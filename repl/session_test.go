package repl

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/restorelab/restorelab/method"
	"github.com/restorelab/restorelab/restore"
)

// writeTestImage saves a smooth 3-channel size x size image and returns its path.
func writeTestImage(t *testing.T, size int) string {
	t.Helper()
	x := restore.NewTensor(1, restore.Shape{C: 3, H: size, W: size})
	for c := range 3 {
		for i := range size * size {
			r, col := float64(i/size), float64(i%size)
			x.Data[c*size*size+i] = float32(0.5 + 0.4*math.Sin(r/5+float64(c))*math.Cos(col/7))
		}
	}
	path := filepath.Join(t.TempDir(), "clean.png")
	if err := restore.SaveImage(path, x, nil); err != nil {
		t.Fatal(err)
	}
	return path
}

// newTestSession returns a session with a degraded 32x32 image, started.
func newTestSession(t *testing.T, task string, steps int) *Session {
	t.Helper()
	return startTestSession(t, Config{}, writeTestImage(t, 32), task, steps)
}

func startTestSession(t *testing.T, cfg Config, clean, task string, steps int) *Session {
	t.Helper()
	s := NewSession(cfg)
	must(t, s.LoadClean(clean))
	must(t, s.Set("steps", strconv.Itoa(steps)))
	must(t, s.Set("sigma_y", "0.05"))
	must(t, s.Degrade(task))
	must(t, s.Start())
	return s
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func sameBits(a, b *restore.Tensor) bool {
	if len(a.Data) != len(b.Data) {
		return false
	}
	for i, v := range a.Data {
		if math.Float32bits(v) != math.Float32bits(b.Data[i]) {
			return false
		}
	}
	return true
}

func tensor(t *testing.T, s *Session, what string) *restore.Tensor {
	t.Helper()
	x, err := s.Tensor(what)
	must(t, err)
	return x
}

func TestStepBackReplaysExactly(t *testing.T) {
	ctx := context.Background()
	// deblur's spectral basis maps states to and from V^T exactly, so a
	// replay from a saved state repeats the original steps bit for bit.
	s := newTestSession(t, "deblur", 10)
	var recs []StepRecord
	must(t, s.Step(ctx, 0, func(r StepRecord) { recs = append(recs, r) }))
	final := tensor(t, s, "result")
	if len(recs) != 10 || recs[9].Index != 9 || recs[9].Count != 10 {
		t.Fatalf("records %+v", recs)
	}
	must(t, s.Back(ctx, 4, nil))
	if st := s.Status(); st.Step != 6 || len(s.Records()) != 6 {
		t.Fatalf("after back 4: step %d, %d records", st.Step, len(s.Records()))
	}
	if got := s.Records()[5]; got != recs[5] {
		t.Errorf("replayed step 6 is %+v, was %+v", got, recs[5])
	}
	must(t, s.Step(ctx, 100, nil))
	if !sameBits(final, tensor(t, s, "result")) {
		t.Error("going back and stepping on changed the result")
	}
	must(t, s.Back(ctx, 10, nil))
	if _, err := s.Tensor("x0"); err == nil {
		t.Error("x0_hat available at step 0")
	}
	if err := s.Back(ctx, 1, nil); err == nil {
		t.Error("went back from step 0")
	}
}

func TestBackRestoresStatesExactly(t *testing.T) {
	ctx := context.Background()
	s := newTestSession(t, "sr4", 6)
	var xt, x0 []*restore.Tensor
	for range 6 {
		xt = append(xt, tensor(t, s, "xt"))
		must(t, s.Step(ctx, 1, nil))
		x0 = append(x0, tensor(t, s, "x0"))
	}
	recs := s.Records()
	for _, n := range []int{1, 3, 1} {
		must(t, s.Back(ctx, n, func(StepRecord) { t.Error("replayed a step kept in the history") }))
		i := s.Status().Step
		if !sameBits(tensor(t, s, "xt"), xt[i]) {
			t.Errorf("x_t of step %d not restored exactly", i)
		}
		if !sameBits(tensor(t, s, "x0"), x0[i-1]) {
			t.Errorf("x0_hat of step %d not restored exactly", i)
		}
		if got := s.Records(); len(got) != i || got[i-1] != recs[i-1] {
			t.Errorf("records after going back to %d: %+v", i, got)
		}
	}
	if _, _, err := s.Picture("spectrum"); err != nil {
		t.Errorf("no spectrum after going back: %v", err)
	}
}

func TestHistoryBudgetReplaysFromCheckpoints(t *testing.T) {
	ctx := context.Background()
	full := newTestSession(t, "deblur", 16)
	var want []*restore.Tensor
	for range 16 {
		want = append(want, tensor(t, full, "xt"))
		must(t, full.Step(ctx, 1, nil))
	}
	// Room for about four steps of 32x32 RGB: the history thins to every 4th.
	s := startTestSession(t, Config{HistoryBytes: 4 * 4 * 3 * 4 * 32 * 32}, writeTestImage(t, 32), "deblur", 16)
	must(t, s.Step(ctx, 0, nil))
	if h := s.run.states; len(h.steps) > 4 || h.stride < 4 || h.bytes > h.budget {
		t.Fatalf("history kept %d steps, %d bytes, with stride %d", len(h.steps), h.bytes, h.stride)
	}
	for _, n := range []int{3, 5, 1, 6} {
		replayed := 0
		must(t, s.Back(ctx, n, func(StepRecord) { replayed++ }))
		i := s.Status().Step
		if !sameBits(tensor(t, s, "xt"), want[i]) {
			t.Fatalf("state at step %d differs after going back", i)
		}
		if i%s.run.states.stride != 0 && replayed == 0 {
			t.Errorf("step %d was not kept, yet nothing was replayed", i)
		}
	}
}

func TestSessionWithoutImagesFails(t *testing.T) {
	ctx := context.Background()
	s := NewSession(Config{})
	for name, err := range map[string]error{
		"degrade": s.Degrade(""),
		"start":   s.Start(),
		"step":    s.Step(ctx, 1, nil),
		"back":    s.Back(ctx, 1, nil),
		"save":    s.Save("y", filepath.Join(t.TempDir(), "y.png")),
		"load":    s.LoadClean("missing.png"),
		"measure": s.LoadMeasurement("missing.npy"),
	} {
		if err == nil {
			t.Errorf("%s succeeded on an empty session", name)
		}
	}
	for _, what := range Pictures {
		if _, _, err := s.Picture(what); err == nil {
			t.Errorf("picture %s of an empty session", what)
		}
	}
	if _, err := s.ResultMetrics(); err == nil {
		t.Error("result metrics of an empty session")
	}
}

func TestSettings(t *testing.T) {
	s := NewSession(Config{})
	for _, kv := range [][2]string{{"task", "deblur"}, {"model", "gaussian"}, {"steps", "7"}, {"eta", "0.5"}, {"eta-b", "0.25"}, {"sigma_y", "0.1"}, {"seed", "42"}} {
		must(t, s.Set(kv[0], kv[1]))
		if v, err := s.Value(kv[0]); err != nil || v != kv[1] {
			t.Errorf("%s = %q, %v; want %q", kv[0], v, err, kv[1])
		}
	}
	if got := s.Method().String(); got != "model=gaussian steps=7 eta=0.5 eta_b=0.25" {
		t.Errorf("method settings %q", got)
	}
	must(t, s.Set("sigma_y", "auto"))
	if v, _ := s.Value("sigma_y"); v != "auto (0 for deblur)" {
		t.Errorf("sigma_y = %q", v)
	}
	for _, kv := range [][2]string{{"task", "sr3"}, {"method", "dps"}, {"model", "unet"}, {"steps", "0"}, {"eta", "1.5"}, {"eta_b", "NaN"}, {"sigma_y", "-1"}, {"seed", "-1"}, {"colour", "red"}} {
		if err := s.Set(kv[0], kv[1]); err == nil {
			t.Errorf("set %s %s succeeded", kv[0], kv[1])
		}
	}
	if s.Method().Value("steps") != "7" || s.Method().Value("model") != "gaussian" {
		t.Error("a failed set changed the settings")
	}
}

func TestBaselineAndReference(t *testing.T) {
	s := newTestSession(t, "sr4", 3)
	must(t, s.Set("method", "baseline"))
	must(t, s.Start())
	m, err := s.ResultMetrics()
	if err != nil || !(m.PSNR > 15) || !(m.SSIM > 0.3) {
		t.Errorf("baseline metrics %+v, %v", m, err)
	}
	if err := s.Step(context.Background(), 1, nil); err == nil {
		t.Error("stepped the baseline")
	}
	if st := s.Status(); st.Method != "baseline" || st.Steps != 0 || !st.Reference {
		t.Errorf("status %+v", st)
	}
}

func TestMeasureFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clean := writeTestImage(t, 32)
	s := startTestSession(t, Config{}, clean, "inpaint", 3)
	missing := s.Status().Missing
	if missing == 0 {
		t.Fatal("inpaint mask removes nothing")
	}
	for _, name := range []string{"y.png", "y.npy"} {
		path := filepath.Join(dir, name)
		must(t, s.Save("y", path))
		m := NewSession(Config{})
		must(t, m.Set("task", "inpaint"))
		must(t, m.LoadMeasurement(path))
		if got := m.Status().Missing; got != missing {
			t.Errorf("%s: %d missing pixels, saved %d", name, got, missing)
		}
		must(t, m.Start())
		must(t, m.Step(ctx, 0, nil))
		if st := m.Status(); st.Reference {
			t.Errorf("%s: a reference without a clean image", name)
		}
		// A clean image loaded afterwards becomes the reference.
		must(t, m.LoadClean(clean))
		if recs := m.Records(); !m.Status().Reference || math.IsNaN(recs[len(recs)-1].PSNR) {
			t.Errorf("%s: clean image loaded after the run is not its reference", name)
		}
	}
}

func TestCancelStopsBetweenSteps(t *testing.T) {
	s := newTestSession(t, "deblur", 10)
	ctx, cancel := context.WithCancel(context.Background())
	err := s.Step(ctx, 0, func(r StepRecord) {
		if r.Index == 2 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Step returned %v, want context.Canceled", err)
	}
	if st := s.Status(); st.Step != 3 || len(s.Records()) != 3 {
		t.Errorf("stopped at step %d with %d records, want 3", st.Step, len(s.Records()))
	}
	must(t, s.Step(context.Background(), 1, nil))
}

func TestSaveFormats(t *testing.T) {
	s := newTestSession(t, "sr4", 4)
	must(t, s.Step(context.Background(), 0, nil))
	dir := t.TempDir()
	for _, f := range []string{"y.png", "y.npy", "xt.npy", "x0.png", "result.png", "clean.npy", "grid.png", "spectrum.png", "metrics.png", "metrics.csv"} {
		what := strings.TrimSuffix(f, filepath.Ext(f))
		path := filepath.Join(dir, f)
		if err := s.Save(what, path); err != nil {
			t.Errorf("save %s %s: %v", what, f, err)
		} else if _, err := os.Stat(path); err != nil {
			t.Error(err)
		}
	}
	csv, _ := os.ReadFile(filepath.Join(dir, "metrics.csv"))
	if lines := strings.Count(string(csv), "\n"); lines != 5 {
		t.Errorf("metrics.csv has %d lines, want a header and 4 steps:\n%s", lines, csv)
	}
	for _, bad := range [][2]string{{"grid", "g.npy"}, {"metrics", "m.txt"}, {"x0", "x0.gif"}, {"nothing", "n.png"}, {"y", "no/such/dir/y.png"}} {
		if err := s.Save(bad[0], filepath.Join(dir, bad[1])); err == nil {
			t.Errorf("save %s %s succeeded", bad[0], bad[1])
		}
	}
}

func TestDefaultModel(t *testing.T) {
	s := NewSession(Config{})
	if got := s.Method().Value("model"); got != "default" {
		t.Errorf("default model %q, want default", got)
	}
	clean := writeTestImage(t, 16)
	must(t, s.LoadClean(clean))
	must(t, s.Degrade("denoise"))
	must(t, s.Set("steps", "2"))
	must(t, s.Start())
	if st := s.Status(); st.Model != "gaussian" {
		t.Errorf("status model %q", st.Model)
	}
}

// TestOddSizesFit: a 30x30 image, which 4x super-resolution does not take,
// is padded by default and restored to 30x30 with PSNR against the clean
// image; fit crop gives 28x28; fit error refuses it at degrade, naming
// the fix.
func TestOddSizesFit(t *testing.T) {
	ctx := context.Background()
	clean := writeTestImage(t, 30)
	for _, tc := range []struct {
		fit  string
		side int
	}{{"pad", 30}, {"crop", 28}} {
		s := NewSession(Config{})
		must(t, s.Set("fit", tc.fit))
		must(t, s.Set("steps", "3"))
		must(t, s.LoadClean(clean))
		must(t, s.Degrade("sr4"))
		must(t, s.Start())
		must(t, s.Step(ctx, 0, nil))
		x := tensor(t, s, "result")
		if x.Shape.H != tc.side || x.Shape.W != tc.side {
			t.Errorf("fit %s: result %v, want %dx%d", tc.fit, x.Shape, tc.side, tc.side)
		}
		m, err := s.ResultMetrics()
		must(t, err)
		if tc.fit == "pad" && !(m.PSNR > 15) {
			t.Errorf("fit pad: PSNR %g against the clean image", m.PSNR)
		}
		if x0 := tensor(t, s, "x0"); x0.Shape != x.Shape {
			t.Errorf("fit %s: x0 %v, result %v", tc.fit, x0.Shape, x.Shape)
		}
	}
	s := NewSession(Config{})
	must(t, s.Set("fit", "error"))
	must(t, s.LoadClean(clean))
	if err := s.Degrade("sr4"); err == nil || !strings.Contains(err.Error(), "set fit in the REPL") {
		t.Errorf("fit error: %v", err)
	}
	if err := s.Set("fit", "stretch"); err == nil {
		t.Error("fit stretch accepted")
	}

	// A measurement file from 'restorelab degrade' sets the task and noise
	// and restores to the clean image's size.
	x, err := restore.LoadImage(clean)
	must(t, err)
	task, err := restore.LookupTask("sr4-noisy")
	must(t, err)
	p, info, err := method.DegradeFitted(task, x, "", task.SigmaY, 1, method.FitPad, 1)
	must(t, err)
	npz := filepath.Join(t.TempDir(), "y.npz")
	must(t, restore.SaveMeasurement(npz, p.Y, p.Keep, info))
	s = NewSession(Config{})
	must(t, s.Set("steps", "2"))
	must(t, s.LoadMeasurement(npz))
	if v, _ := s.Value("task"); v != "sr4-noisy" {
		t.Errorf("task %s after measuring an sr4-noisy file", v)
	}
	if v, _ := s.Value("sigma_y"); v != "0.05" {
		t.Errorf("sigma_y %s after measuring a file made with 0.05", v)
	}
	must(t, s.Start())
	must(t, s.Step(ctx, 0, nil))
	if r := tensor(t, s, "result"); r.Shape.H != 30 || r.Shape.W != 30 {
		t.Errorf("the file's restoration is %v, want 30x30", r.Shape)
	}
}
