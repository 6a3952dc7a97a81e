package kernel

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"image"
	"image/color"
	"image/png"
	"math"
	"strings"
	"testing"

	"github.com/janpfeifer/gonb/gonbui"

	"github.com/restorelab/restorelab/method"
	"github.com/restorelab/restorelab/restore"
	"github.com/restorelab/restorelab/viz"
)

// output is one call to the notebook sink.
type output struct{ id, html string }

// capture routes the package's notebook output into the returned slice and
// sets gonbui.IsNotebook to notebook, for the duration of the test.
func capture(t *testing.T, notebook bool) *[]output {
	t.Helper()
	var got []output
	oldHTML, oldPNG, oldMD, oldNB := showHTML, showPNG, showMarkdown, gonbui.IsNotebook
	showHTML = func(id, h string) { got = append(got, output{id, h}) }
	showPNG = func(b []byte) { got = append(got, output{"png", string(b)}) }
	showMarkdown = func(md string) { got = append(got, output{"md", md}) }
	gonbui.IsNotebook = notebook
	t.Cleanup(func() { showHTML, showPNG, showMarkdown, gonbui.IsNotebook = oldHTML, oldPNG, oldMD, oldNB })
	return &got
}

func TestTableHTMLEscapesAndPads(t *testing.T) {
	h := TableHTML([]string{"a<b", "c"}, [][]string{{`x & "y"`}, {"1", "2"}})
	for _, want := range []string{"a&lt;b", "x &amp; &#34;y&#34;", "<td", "</tbody></table>"} {
		if !strings.Contains(h, want) {
			t.Errorf("TableHTML output lacks %q:\n%s", want, h)
		}
	}
	if strings.Contains(h, "a<b") || strings.Contains(h, `"y"`) {
		t.Errorf("TableHTML left markup unescaped:\n%s", h)
	}
	if n := strings.Count(h, "<td"); n != 4 {
		t.Errorf("got %d data cells, want 4 (the short row padded)", n)
	}
}

func TestDataURLRoundTrip(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	img.SetNRGBA(2, 1, color.NRGBA{R: 10, G: 20, B: 30, A: 255})
	u, err := DataURL(img)
	if err != nil {
		t.Fatal(err)
	}
	const prefix = "data:image/png;base64,"
	if !strings.HasPrefix(u, prefix) {
		t.Fatalf("data URL starts %q", u[:min(len(u), 30)])
	}
	raw, err := base64.StdEncoding.DecodeString(u[len(prefix):])
	if err != nil {
		t.Fatal(err)
	}
	back, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if back.Bounds() != img.Bounds() {
		t.Fatalf("decoded bounds %v, want %v", back.Bounds(), img.Bounds())
	}
	if r, g, b, _ := back.At(2, 1).RGBA(); r>>8 != 10 || g>>8 != 20 || b>>8 != 30 {
		t.Errorf("pixel (2, 1) = %d %d %d, want 10 20 30", r>>8, g>>8, b>>8)
	}
}

func TestImageHTMLEscapesCaption(t *testing.T) {
	h, err := ImageHTML(image.NewGray(image.Rect(0, 0, 1, 1)), `<script>`)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(h, "<script>") || !strings.Contains(h, "&lt;script&gt;") {
		t.Errorf("caption not escaped: %s", h)
	}
}

// run restores a small measurement with DDRM in steps steps, calling hooks.
func run(t *testing.T, steps int, hooks ...restore.Hook) *restore.Tensor {
	t.Helper()
	shape := restore.Shape{C: 3, H: 16, W: 16}
	clean := restore.NewTensor(1, shape)
	for i := range clean.Data {
		clean.Data[i] = float32(i%16) / 15
	}
	task, err := restore.LookupTask("sr4")
	if err != nil {
		t.Fatal(err)
	}
	op, err := task.Operator(shape, nil)
	if err != nil {
		t.Fatal(err)
	}
	y, err := restore.Degrade(op, clean, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg := restore.DefaultDDRMConfig()
	cfg.Steps = steps
	d, err := restore.NewDDRM(Must(Prior()), op, y, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := restore.Run(context.Background(), d, hooks...); err != nil {
		t.Fatal(err)
	}
	return clean
}

func TestHooksOutsideNotebookShowNothing(t *testing.T) {
	got := capture(t, false)
	run(t, 5, LiveHook(1, LiveOptions{Item: 7}), NewProgress("p").Hook())
	ShowHTML("<b>x</b>")
	ShowTable([]string{"a"}, nil)
	ShowMarkdown("# x")
	if err := ShowImage(image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		t.Fatal(err)
	}
	if err := ShowTensor(restore.NewTensor(1, restore.Shape{C: 3, H: 2, W: 2}), 0); err != nil {
		t.Fatal(err)
	}
	if len(*got) != 0 {
		t.Errorf("outside a notebook the package showed %d outputs: %v", len(*got), *got)
	}
}

func TestLiveHookUpdatesInPlaceThenPersists(t *testing.T) {
	got := capture(t, true)
	run(t, 5, LiveHook(2, LiveOptions{Title: "sr4 <live>"}))
	// Steps 1 and 3 update the live block; step 5 (the last) clears it and
	// shows the final display as a new output.
	if len(*got) != 4 {
		t.Fatalf("got %d outputs, want 4: %v", len(*got), *got)
	}
	id := (*got)[0].id
	if id == "" || (*got)[1].id != id || (*got)[2] != (output{id, ""}) || (*got)[3].id != "" {
		t.Errorf("outputs go to ids %q %q %q %q; want the live id three times (the last clearing it), then a new output",
			(*got)[0].id, (*got)[1].id, (*got)[2].id, (*got)[3].id)
	}
	final := (*got)[3].html
	if n := strings.Count(final, "<img "); n != 3 {
		t.Errorf("final display has %d thumbnails, want 3 (steps 1, 3 and 5)", n)
	}
	for _, want := range []string{"step 5/5", "sr4 &lt;live&gt;", "RMS change", "<polyline"} {
		if !strings.Contains(final, want) {
			t.Errorf("final display lacks %q", want)
		}
	}
}

func TestLiveHookPSNRAgainstReference(t *testing.T) {
	got := capture(t, true)
	ref := run(t, 3) // the clean image run restores
	*got = nil
	run(t, 3, LiveHook(10, LiveOptions{Reference: ref}))
	if len(*got) != 3 || !strings.Contains((*got)[2].html, "PSNR of x0_hat") {
		t.Fatalf("want first-step update, clear and final PSNR display; got %v", *got)
	}
}

func TestLiveHookRejectsBadItem(t *testing.T) {
	capture(t, true)
	h := LiveHook(1, LiveOptions{Item: 3})
	x := restore.NewTensor(1, restore.Shape{C: 3, H: 2, W: 2})
	if err := h(&restore.StepInfo{Count: 1, X0Hat: x}); err == nil {
		t.Error("a hook showing item 3 of a 1-image batch returned no error")
	}
}

func TestLiveHookShowsDecodedLatents(t *testing.T) {
	got := capture(t, true)
	// A latent sampler's step: a 2x2 latent that decodes to an 8x8 image.
	// Against an 8x8 reference, only the decoded estimate can be scored.
	ref := restore.NewTensor(1, restore.Shape{C: 3, H: 8, W: 8})
	decoded := restore.NewTensor(1, ref.Shape)
	step := &restore.StepInfo{Count: 1, X0Hat: restore.NewTensor(1, restore.Shape{C: 3, H: 2, W: 2}),
		PixelX0Hat: func() (*restore.Tensor, error) { return decoded, nil }}
	if err := LiveHook(1, LiveOptions{Reference: ref})(step); err != nil {
		t.Fatal(err)
	}
	if len(*got) != 2 || !strings.Contains((*got)[1].html, "PSNR of x0_hat") {
		t.Fatalf("want a clear and the final PSNR display; got %v", *got)
	}
}

func TestProgressFinishesOnce(t *testing.T) {
	got := capture(t, true)
	p := NewProgress("bench <1>")
	p.Update(0, 2, "a & b")
	p.Update(1, 2, "b")
	p.Update(2, 2, "done")
	p.Update(2, 2, "again")
	p.Finish()
	if len(*got) != 4 {
		t.Fatalf("got %d outputs, want 2 updates, a clear and a summary: %v", len(*got), *got)
	}
	if !strings.Contains((*got)[0].html, `<progress value="0" max="2">`) || !strings.Contains((*got)[0].html, "a &amp; b") {
		t.Errorf("first update: %s", (*got)[0].html)
	}
	if (*got)[2].html != "" || !strings.Contains((*got)[3].html, "bench &lt;1&gt;: done in") || (*got)[3].id != "" {
		t.Errorf("finish: %v", (*got)[2:])
	}
}

func TestSparklineSkipsNaN(t *testing.T) {
	s := sparkline("m", []float64{math.NaN(), 1, 3}, 3)
	if !strings.Contains(s, `points="160.0,86.0 316.0,4.0"`) || !strings.Contains(s, "1 to 3, now 3") {
		t.Errorf("sparkline: %s", s)
	}
}

func TestShowTensorAndPlotSendPNG(t *testing.T) {
	got := capture(t, true)
	x := restore.NewTensor(1, restore.Shape{C: 1, H: 3, W: 5})
	if err := ShowTensor(x, 0); err != nil {
		t.Fatal(err)
	}
	if err := ShowTensor(x, 1); err == nil {
		t.Error("showing image 1 of a 1-image batch returned no error")
	}
	p, err := viz.CurvePlot("t", "x", "y", viz.Series{Name: "a", X: []float64{0, 1}, Y: []float64{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	if err := ShowPlot(p, 120, 90); err != nil {
		t.Fatal(err)
	}
	if len(*got) != 2 {
		t.Fatalf("got %d outputs, want 2 PNGs", len(*got))
	}
	for i, want := range []image.Rectangle{image.Rect(0, 0, 5, 3), image.Rect(0, 0, 120, 90)} {
		img, err := png.Decode(strings.NewReader((*got)[i].html))
		if err != nil {
			t.Fatalf("output %d is not a PNG: %v", i, err)
		}
		if img.Bounds() != want {
			t.Errorf("output %d is %v, want %v", i, img.Bounds(), want)
		}
	}
}

func TestMustPanicsOnError(t *testing.T) {
	if v := Must(3, nil); v != 3 {
		t.Errorf("Must(3, nil) = %d", v)
	}
	if a, b := Must2("a", 2, nil); a != "a" || b != 2 {
		t.Errorf("Must2 = %q, %d", a, b)
	}
	defer func() {
		if recover() == nil {
			t.Error("Must2 with an error did not panic")
		}
	}()
	Must2(0, 0, errors.New("boom"))
}

func TestSamplerByName(t *testing.T) {
	task, _ := restore.LookupTask("denoise")
	x := restore.NewTensor(1, restore.Shape{C: 3, H: 16, W: 16})
	p, err := method.Degrade(task, x, nil, task.SigmaY, 1)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Sampler("diffpir", p, 2, "steps=3", "model=gaussian")
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 3 {
		t.Errorf("%d steps, want 3", s.Len())
	}
	if _, err := Sampler("diffpir", p, 2, "eta=0.5"); err == nil || !strings.Contains(err.Error(), "no setting") {
		t.Errorf("a setting diffpir lacks: %v", err)
	}
	if _, err := Sampler("dps", p, 2); err == nil {
		t.Error("unknown method accepted")
	}
}
