package repl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/restorelab/restorelab/internal/progress"
	"github.com/restorelab/restorelab/method"
	"github.com/restorelab/restorelab/restore"
)

// ErrQuit is returned by Exec for the quit command.
var ErrQuit = errors.New("quit")

// Shell executes command lines against a Session, writing what they print
// to Out.
type Shell struct {
	Session *Session
	Out     io.Writer
	// Images draws the images of show inline; nil prints their captions only.
	Images ImageWriter
	// Progress receives the progress bar of long runs, drawn only when it is
	// a terminal; nil draws none.
	Progress io.Writer
}

// NewShell returns a shell printing to out, without inline images.
func NewShell(s *Session, out io.Writer) *Shell {
	return &Shell{Session: s, Out: out}
}

// handlers run the commands of specs.
var handlers = map[string]func(sh *Shell, ctx context.Context, args []string) error{
	"help":    (*Shell).help,
	"load":    (*Shell).load,
	"measure": (*Shell).measure,
	"degrade": (*Shell).degrade,
	"set":     (*Shell).set,
	"start":   (*Shell).start,
	"step":    (*Shell).step,
	"run":     (*Shell).run,
	"back":    (*Shell).back,
	"show":    (*Shell).show,
	"metrics": (*Shell).metrics,
	"save":    (*Shell).save,
	"status":  (*Shell).status,
	"reset":   (*Shell).reset,
	"quit":    func(*Shell, context.Context, []string) error { return ErrQuit },
}

// Exec parses and runs one command line. It returns ErrQuit for quit, and
// for a failed command an error to show on one line; a run stopped by
// cancelling ctx returns an error wrapping ctx's. A panic in a command is returned as an error.
func (sh *Shell) Exec(ctx context.Context, line string) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("internal error: %v", p)
		}
	}()
	cmd, err := Parse(line)
	if err != nil || cmd.Name == "" {
		return err
	}
	return handlers[cmd.Name](sh, ctx, cmd.Args)
}

// Prompt returns the prompt, with the run's position while one is on.
func (sh *Shell) Prompt() string {
	if st := sh.Session.Status(); st.Steps > 0 {
		return fmt.Sprintf("restorelab %d/%d> ", st.Step, st.Steps)
	}
	return "restorelab> "
}

func (sh *Shell) printf(format string, a ...any) { fmt.Fprintf(sh.Out, format, a...) }

func (sh *Shell) help(_ context.Context, args []string) error {
	if len(args) == 1 {
		sp, ok := lookup(args[0])
		if !ok {
			return unknownCommand(args[0])
		}
		sh.printf("usage: %s\n  %s.\n", sp.usage, sp.summary)
		if sp.help != "" {
			sh.printf("  %s\n", sp.help)
		}
		if sp.name == "set" {
			sh.printSettingsHelp()
		}
		return nil
	}
	sh.printf("Commands:\n")
	for _, sp := range specs {
		sh.printf("  %-18s %s\n", sp.usage, sp.summary)
	}
	sh.printf("Type help COMMAND for more. %s\n", specs[0].help)
	return nil
}

func (sh *Shell) load(_ context.Context, args []string) error {
	had := sh.Session.Status().Measurement != ""
	if err := sh.Session.LoadClean(args[0]); err != nil {
		return err
	}
	st := sh.Session.Status()
	sh.printf("clean image: %s, %v\n", st.Clean, st.CleanShape)
	if had && st.Measurement == "" {
		sh.printf("(the measurement degraded from the previous image was dropped; degrade again)\n")
	}
	return nil
}

func (sh *Shell) measure(_ context.Context, args []string) error {
	if err := sh.Session.LoadMeasurement(args[0]); err != nil {
		return err
	}
	sh.printMeasurement()
	return nil
}

func (sh *Shell) degrade(_ context.Context, args []string) error {
	task := ""
	if len(args) == 1 {
		task = args[0]
	}
	if err := sh.Session.Degrade(task); err != nil {
		return err
	}
	sh.printMeasurement()
	return nil
}

func (sh *Shell) printMeasurement() {
	st := sh.Session.Status()
	sh.printf("measurement y: %v (%s)", st.YShape, st.Measurement)
	if st.Missing > 0 {
		sh.printf(", %d of %d pixels missing", st.Missing, st.YShape.H*st.YShape.W)
	}
	sh.printf("\n")
}

func (sh *Shell) set(_ context.Context, args []string) error {
	switch len(args) {
	case 0:
		for _, k := range sh.Session.Keys() {
			v, _ := sh.Session.Value(k)
			sh.printf("  %-13s %s\n", k, v)
		}
		return nil
	case 2:
		if err := sh.Session.Set(args[0], args[1]); err != nil {
			return err
		}
	}
	v, err := sh.Session.Value(args[0])
	if err != nil {
		return err
	}
	sh.printf("%s = %s\n", strings.ReplaceAll(args[0], "-", "_"), v)
	if len(args) == 2 && args[0] == "method" {
		if s := sh.Session.Method(); len(s.Method().Params) > 0 {
			sh.printf("%s\n", s)
		}
	}
	return nil
}

// printSettingsHelp lists every method's settings with their defaults,
// ranges and meaning.
func (sh *Shell) printSettingsHelp() {
	for _, m := range method.All() {
		sh.printf("  %s: %s\n", m.Name, m.Summary)
		for _, p := range m.Params {
			d := p.Default
			if d == "" {
				d = "default"
			}
			if r := p.Range(); r != "" {
				d += ", " + r
			}
			sh.printf("    %-13s %s (%s)\n", p.Key, p.Help, d)
		}
	}
}

func (sh *Shell) start(_ context.Context, _ []string) error {
	if err := sh.Session.Start(); err != nil {
		return err
	}
	st := sh.Session.Status()
	sh.printf("%s %s: %v -> %v, ", st.Method, st.Task, st.YShape, cleanShape(st))
	if st.Steps == 0 {
		sh.printf("done")
	} else {
		sh.printf("%d steps, ", st.Steps)
		if st.Model != "" {
			sh.printf("model %s, ", st.Model)
		}
		if st.Settings != "" {
			sh.printf("%s, ", st.Settings)
		}
		sh.printf("sigma_y %.3g, seed %d", st.SigmaY, st.Seed)
	}
	if !st.Reference {
		sh.printf(" (no clean image of that size: no PSNR/SSIM)")
	}
	sh.printf("\n")
	return nil
}

// cleanShape is the shape a run restores to.
func cleanShape(st Status) restore.Shape {
	t, err := restore.LookupTask(st.Task)
	if err != nil {
		return st.YShape
	}
	s, _ := t.CleanShape(st.YShape)
	return s
}

// count parses the optional step count of step and back.
func count(args []string) (int, error) {
	if len(args) == 0 {
		return 1, nil
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%q is not a positive number of steps", args[0])
	}
	return n, nil
}

func (sh *Shell) step(ctx context.Context, args []string) error {
	n, err := count(args)
	if err != nil {
		return err
	}
	last, err := sh.advance(ctx, n, n, sh.Session.Step)
	if last != nil {
		sh.printf("%s\n", formatStep(*last))
	}
	return err
}

func (sh *Shell) run(ctx context.Context, _ []string) error {
	st := sh.Session.Status()
	last, err := sh.advance(ctx, 0, st.Steps-st.Step, sh.Session.Step)
	if last != nil {
		sh.printf("%s\n", formatStep(*last))
	}
	if err != nil {
		return err
	}
	m, err := sh.Session.ResultMetrics()
	if err != nil {
		return err
	}
	sh.printf("done: result %s\n", formatMetrics(m))
	return nil
}

func (sh *Shell) back(ctx context.Context, args []string) error {
	n, err := count(args)
	if err != nil {
		return err
	}
	// Going back replays steps only when the history was thinned: no bar.
	if _, err := sh.advance(ctx, n, 0, sh.Session.Back); err != nil {
		return err
	}
	st := sh.Session.Status()
	if recs := sh.Session.Records(); len(recs) > 0 {
		sh.printf("back at step %d/%d  %s\n", st.Step, st.Steps, formatMetrics(recs[len(recs)-1].Metrics))
	} else {
		sh.printf("back at step 0/%d (no x0_hat yet)\n", st.Steps)
	}
	return nil
}

// advance takes steps with f (Session.Step or Back), drawing a progress bar
// when more than one of total steps is expected, and returns the record of
// the last step taken.
func (sh *Shell) advance(ctx context.Context, n, total int, f func(context.Context, int, func(StepRecord)) error) (*StepRecord, error) {
	w := sh.Progress
	if total < 2 {
		w = nil
	}
	bar := progress.New(w, sh.Session.Status().Method, total)
	done := 0
	var last *StepRecord
	err := f(ctx, n, func(r StepRecord) {
		done++
		last = &r
		bar.Set(done, fmt.Sprintf("t=%d", r.T))
	})
	bar.Finish()
	if err != nil && ctx.Err() != nil {
		st := sh.Session.Status()
		err = &interrupted{st.Step, st.Steps, err}
	}
	return last, err
}

// interrupted is a run stopped between steps by its context.
type interrupted struct {
	step, steps int
	err         error
}

func (e *interrupted) Error() string {
	return fmt.Sprintf("interrupted at step %d/%d; the run is intact (step or run goes on)", e.step, e.steps)
}

func (e *interrupted) Unwrap() error { return e.err }

func formatStep(r StepRecord) string {
	return fmt.Sprintf("step %d/%d  t %d -> %d  %s", r.Index+1, r.Count, r.T, r.TNext, formatMetrics(r.Metrics))
}

func formatMetrics(m Metrics) string {
	s := ""
	if !math.IsNaN(m.PSNR) {
		s = fmt.Sprintf("PSNR %.2f dB  SSIM %.4f  ", m.PSNR, m.SSIM)
	}
	return s + fmt.Sprintf("|Hx0-y| %.4g", m.Consistency)
}

func (sh *Shell) show(_ context.Context, args []string) error {
	img, caption, err := sh.Session.Picture(args[0])
	if err != nil {
		return err
	}
	sh.printf("%s\n", caption)
	if sh.Images == nil {
		return nil
	}
	return sh.Images.WriteImage(sh.Out, img)
}

// metricsRows is how many steps metrics lists without all.
const metricsRows = 20

func (sh *Shell) metrics(_ context.Context, args []string) error {
	all := false
	if len(args) == 1 {
		if args[0] != "all" {
			return fmt.Errorf("usage: metrics [all]; %q is not all", args[0])
		}
		all = true
	}
	res, err := sh.Session.ResultMetrics()
	if err != nil {
		return err
	}
	recs := sh.Session.Records()
	if len(recs) > 0 {
		sh.printf("%6s %5s %5s %10s %8s %7s %10s\n", "step", "t", "t_next", "sigma", "PSNR", "SSIM", "|Hx0-y|")
		rows := len(recs)
		if !all {
			rows = min(rows, metricsRows)
		}
		for j := range rows {
			// Evenly spaced rows, always with the first and last step.
			r := recs[j*(len(recs)-1)/max(rows-1, 1)]
			sh.printf("%6d %5d %6d %10.4g %8s %7s %10.4g\n", r.Index+1, r.T, r.TNext, r.Sigma, number(r.PSNR, "%.2f"), number(r.SSIM, "%.4f"), r.Consistency)
		}
	}
	sh.printf("result: %s\n", formatMetrics(res))
	return nil
}

// number formats v, or "-" when it is NaN.
func number(v float64, format string) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf(format, v)
}

func (sh *Shell) save(_ context.Context, args []string) error {
	if err := sh.Session.Save(args[0], args[1]); err != nil {
		return err
	}
	sh.printf("wrote %s\n", args[1])
	return nil
}

func (sh *Shell) status(_ context.Context, _ []string) error {
	st := sh.Session.Status()
	switch {
	case st.Clean != "":
		sh.printf("clean image: %s, %v\n", st.Clean, st.CleanShape)
	default:
		sh.printf("clean image: none (load FILE)\n")
	}
	if st.Measurement != "" {
		sh.printMeasurement()
	} else {
		sh.printf("measurement: none (degrade, or measure FILE)\n")
	}
	switch {
	case st.Method == "":
		sh.printf("run: none (start)\n")
	case st.Steps == 0:
		sh.printf("run: %s %s, done\n", st.Method, st.Task)
	default:
		sh.printf("run: %s %s with %s, step %d/%d\n", st.Method, st.Task, st.Model, st.Step, st.Steps)
	}
	return nil
}

func (sh *Shell) reset(_ context.Context, _ []string) error {
	sh.Session.Reset()
	sh.printf("images and run cleared; settings kept\n")
	return nil
}
