package repl

import (
	"bytes"
	"context"
	"errors"
	"image"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/restorelab/restorelab/method"
	"github.com/restorelab/restorelab/restore"
	"github.com/restorelab/restorelab/viz"
)

// exec runs lines on sh, failing the test on any error, and returns what
// they printed.
func exec(t *testing.T, sh *Shell, out *bytes.Buffer, lines ...string) string {
	t.Helper()
	out.Reset()
	for _, l := range lines {
		if err := sh.Exec(context.Background(), l); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
	}
	return out.String()
}

func TestShellSession(t *testing.T) {
	var out bytes.Buffer
	sh := NewShell(NewSession(Config{}), &out)
	sh.Images = Terminal{Protocol: viz.Blocks, MaxCols: 40}
	clean := writeTestImage(t, 32)
	dir := t.TempDir()
	for _, tc := range []struct {
		line string
		want []string
	}{
		{"help", []string{"Commands:", "back [N]", "Tab completes"}},
		{"help save", []string{"usage: save WHAT FILE", ".csv"}},
		{"load " + quote(clean), []string{"clean image: clean.png, 3x32x32"}},
		{"set", []string{"task          sr4", "sigma_y       auto (0 for sr4)", "eta_b         1"}},
		{"help set", []string{"ddnm+:", "travel_repeat", "(7, (0, 1e+06])"}},
		{"set steps 5", []string{"steps = 5"}},
		{"set eta-b", []string{"eta_b = 1"}},
		{"degrade sr2", []string{"measurement y: 3x16x16 (sr2 of clean.png, sigma_y 0)"}},
		{"start", []string{"ddrm sr2: 3x16x16 -> 3x32x32, 5 steps, model gaussian"}},
		{"step", []string{"step 1/5  t 800 -> 600  PSNR"}},
		{"step 2", []string{"step 3/5"}},
		{"back", []string{"back at step 2/5  PSNR"}},
		{"back 2", []string{"back at step 0/5 (no x0_hat yet)"}},
		{"run", []string{"step 5/5  t 0 -> -1", "done: result PSNR"}},
		{"metrics", []string{"step     t t_next", "     5     0     -1", "result: PSNR"}},
		{"show x0", []string{"estimate x0_hat: 3x32x32, step 5/5", "▀"}},
		{"show grid", []string{"x0_hat at 5 of the 5 steps taken (run of 5)"}},
		{"show spectrum", []string{"spectrum after step 5/5"}},
		{"show metrics", []string{"metrics over 5 steps"}},
		{"save result " + quote(filepath.Join(dir, "r.png")), []string{"wrote "}},
		{"status", []string{"clean image: clean.png", "run: ddrm sr2 with gaussian, step 5/5"}},
		{"set method baseline", []string{"method = baseline"}},
		{"start", []string{"baseline sr2: 3x16x16 -> 3x32x32, done"}},
		{"metrics", []string{"result: PSNR"}},
		{"reset", []string{"settings kept"}},
		{"status", []string{"clean image: none", "run: none"}},
	} {
		got := exec(t, sh, &out, tc.line)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s printed\n%s\nwithout %q", tc.line, got, w)
			}
		}
	}
	if sh.Exec(context.Background(), "quit") != ErrQuit || sh.Exec(context.Background(), "exit") != ErrQuit {
		t.Error("quit does not return ErrQuit")
	}
}

func TestShellErrorsAreOneLine(t *testing.T) {
	sh := NewShell(NewSession(Config{}), io.Discard)
	for _, line := range []string{"frob", "load", "load nothing.png", "load x.gif", "measure 'no such.npy'", "degrade", "degrade sr3", "set colour", "set task sr3", "set steps many",
		"start", "step", "step -2", "run", "back", "back x", "show", "show y", "show thing", "metrics", "metrics some", "save y y.png", "save a b c", "help frob", "load \"open"} {
		err := sh.Exec(context.Background(), line)
		if err == nil {
			t.Errorf("%q succeeded", line)
			continue
		}
		if msg := err.Error(); strings.ContainsAny(msg, "\n\r") || len(msg) > 300 {
			t.Errorf("%q: error is not one short line: %q", line, msg)
		}
	}
}

func TestShellRecoversPanics(t *testing.T) {
	sh := NewShell(NewSession(Config{Models: panicModels{}}), io.Discard)
	err := sh.Exec(context.Background(), "set model any")
	if err == nil || !strings.Contains(err.Error(), "internal error: boom") {
		t.Errorf("panic gave %v", err)
	}
}

func TestComplete(t *testing.T) {
	sh := NewShell(NewSession(Config{ModelNames: func() []string { return []string{"gaussian", "ffhq256"} }}), io.Discard)
	for _, tc := range []struct {
		line   string
		want   []string
		prefix int
	}{
		{"he", []string{"help "}, 2},
		{"", commandNamesSpaced(), 0},
		{"s", []string{"set ", "start ", "step ", "show ", "save ", "status "}, 1},
		{"help st", []string{"start ", "step ", "status "}, 2},
		{"set ", []string{"task ", "method ", "sigma_y ", "seed ", "fit ", "model ", "steps ", "eta ", "eta_b "}, 0},
		{"set task sr", []string{"sr2 ", "sr4 ", "sr4-avg ", "sr4-noisy ", "sr8 "}, 2},
		{"set method b", []string{"baseline "}, 1},
		{"set model f", []string{"ffhq256 "}, 1},
		{"set sigma-y ", []string{"auto "}, 0},
		{"set steps ", nil, 0},
		{"degrade de", []string{"deblur ", "deblur-aniso ", "deblur-uniform ", "denoise "}, 2},
		{"show g", []string{"grid "}, 1},
		{"metrics ", []string{"all "}, 0},
		{"load ../samples/c", []string{"../samples/cat.png "}, 12},
		{"load ../sam", []string{"../samples/"}, 6},
		{"save y ../samples/R", []string{"../samples/README.md "}, 12},
		{"load ../samples/R", nil, 12},
		{"step 3 ", nil, 0},
		{"frob ", nil, 0},
	} {
		got, n := sh.Complete(tc.line)
		if !slices.Equal(got, tc.want) || n != tc.prefix {
			t.Errorf("Complete(%q) = %q, %d; want %q, %d", tc.line, got, n, tc.want, tc.prefix)
		}
	}
	// The readline adapter returns what follows the typed prefix.
	if got, n := (completer{sh}).Do([]rune("he"), 2); len(got) != 1 || string(got[0]) != "lp " || n != 2 {
		t.Errorf("Do = %q, %d", got, n)
	}
}

func commandNamesSpaced() []string {
	var out []string
	for _, n := range commandNames() {
		out = append(out, n+" ")
	}
	return out
}

func TestTerminalWriterDrawsHalfBlocks(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 4, 4))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	var b bytes.Buffer
	must(t, Terminal{Protocol: viz.Blocks, MaxCols: 50}.WriteImage(&b, img))
	if n := strings.Count(b.String(), "▀"); n != 8 {
		t.Errorf("a 4x4 image drew %d half blocks, want 8", n)
	}
	b.Reset()
	must(t, Terminal{Protocol: viz.None}.WriteImage(&b, img))
	if b.Len() != 0 {
		t.Errorf("protocol none wrote %q", b.String())
	}
}

func TestRunScript(t *testing.T) {
	var out, errOut bytes.Buffer
	sh := NewShell(NewSession(Config{}), &out)
	script := "# comment\n\nset steps 2\nfrob\nset seed 3 # why not\nquit\nset steps 9\n"
	err := RunScript(context.Background(), sh, strings.NewReader(script), "test.repl", &errOut)
	if err == nil || err.Error() != "1 of 4 commands failed" {
		t.Errorf("RunScript returned %v", err)
	}
	if got := errOut.String(); got != "test.repl:4: unknown command \"frob\"; type help for the list\n" {
		t.Errorf("errors: %q", got)
	}
	if !strings.Contains(out.String(), "restorelab> set seed 3 # why not\nseed = 3\n") || strings.Contains(out.String(), "comment") || sh.Session.Method().Value("steps") != "2" {
		t.Errorf("output:\n%s", out.String())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := RunScript(ctx, sh, strings.NewReader("help\n"), "x", io.Discard); err == nil || !strings.Contains(err.Error(), "x:1: interrupted") {
		t.Errorf("cancelled script returned %v", err)
	}
}

// FuzzExec runs arbitrary lines, one command per line, on a session with
// no image: nothing may panic, and every failure is a one-line error.
func FuzzExec(f *testing.F) {
	for _, s := range []string{"help", "set steps 3\nstart\nstep", "back 2\nshow grid\nsave grid g.png", "degrade inpaint\nmetrics all", "set model gaussian\nset method baseline\nstart\nrun", "load ''\nmeasure x.npy\nreset\nstatus"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, script string) {
		// Relative paths resolve in an empty folder, so no file is read.
		t.Chdir(t.TempDir())
		sh := NewShell(NewSession(Config{}), io.Discard)
		for i, line := range strings.Split(script, "\n") {
			if i == 20 {
				break
			}
			err := sh.Exec(context.Background(), line)
			if err == nil || errors.Is(err, ErrQuit) {
				continue
			}
			if msg := err.Error(); strings.HasPrefix(msg, "internal error") || strings.ContainsAny(msg, "\n\r") {
				t.Fatalf("%q: %q", line, msg)
			}
		}
		if entries, _ := os.ReadDir("."); len(entries) > 0 {
			t.Fatalf("commands wrote %d files on an empty session", len(entries))
		}
	})
}

func TestTerminalWriterFitsTheScreenHeight(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 64, 64))
	var b bytes.Buffer
	must(t, Terminal{Protocol: viz.Blocks, MaxCols: 200, MaxRows: 10}.WriteImage(&b, img))
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 10 || strings.Count(lines[0], "▀") != 20 {
		t.Errorf("a 64x64 image in 10 rows drew %d lines of %d blocks, want 10 of 20", len(lines), strings.Count(lines[0], "▀"))
	}
}

// panicModels panics when asked for a prior.
type panicModels struct{ method.Analytic }

func (panicModels) Prior(string) (restore.Denoiser, error) { panic("boom") }
