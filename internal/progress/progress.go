// Package progress draws a one-line progress bar for long runs on a terminal.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

// LogEvery is how often a bar whose writer is not a terminal (a log file, a
// pipe) writes a plain line: a long run in the background still shows where
// it is, a short one writes nothing.
const LogEvery = 30 * time.Second

// Bar redraws a single line on a terminal: label, bar, count, rate and time
// left. Elsewhere it writes the same line, without redrawing, every LogEvery.
type Bar struct {
	w        io.Writer
	label    string
	total    int
	start    time.Time
	terminal bool
	every    time.Duration
	logged   time.Time // when the last plain line was written; zero if none
	done     int
	note     string
}

// New returns a bar for total units of work written to w.
func New(w io.Writer, label string, total int) *Bar {
	f, ok := w.(*os.File)
	terminal := ok && term.IsTerminal(int(f.Fd()))
	return &Bar{w: w, label: label, total: total, start: time.Now(), terminal: terminal, every: LogEvery}
}

// Set draws the bar at done units, with an optional note after it.
func (b *Bar) Set(done int, note string) {
	b.done, b.note = done, note
	if b.terminal {
		fmt.Fprint(b.w, "\r"+b.line()+"\x1b[K")
		return
	}
	last := b.logged
	if last.IsZero() {
		last = b.start
	}
	if time.Since(last) >= b.every {
		fmt.Fprintln(b.w, b.line())
		b.logged = time.Now()
	}
}

// Finish ends the bar's line; in a log that shows progress lines, it writes
// the last one.
func (b *Bar) Finish() {
	switch {
	case b.terminal:
		fmt.Fprintln(b.w)
	case !b.logged.IsZero():
		fmt.Fprintln(b.w, b.line())
	}
}

// line is the bar's current line.
func (b *Bar) line() string {
	return Line(b.label, b.done, b.total, time.Since(b.start), b.note)
}

// Line formats one progress line; elapsed is the time spent on done units.
func Line(label string, done, total int, elapsed time.Duration, note string) string {
	const width = 24
	filled := 0
	if total > 0 {
		filled = min(width, done*width/total)
	}
	s := fmt.Sprintf("%s [%s%s] %d/%d", label, strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total)
	if done > 0 {
		per := elapsed / time.Duration(done)
		s += fmt.Sprintf("  %.2fs/step  %s left", per.Seconds(), (per * time.Duration(total-done)).Round(time.Second))
	}
	if note != "" {
		s += "  " + note
	}
	return s
}
