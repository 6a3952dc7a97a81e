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

// Bar redraws a single line: label, bar, count, rate and time left. It draws
// nothing when its writer is not a terminal, so logs stay clean.
type Bar struct {
	w       io.Writer
	label   string
	total   int
	start   time.Time
	enabled bool
}

// New returns a bar for total units of work written to w. It is enabled only
// when w is a terminal.
func New(w io.Writer, label string, total int) *Bar {
	f, ok := w.(*os.File)
	enabled := ok && term.IsTerminal(int(f.Fd()))
	return &Bar{w: w, label: label, total: total, start: time.Now(), enabled: enabled}
}

// Set draws the bar at done units, with an optional note after it.
func (b *Bar) Set(done int, note string) {
	if !b.enabled {
		return
	}
	fmt.Fprint(b.w, "\r"+Line(b.label, done, b.total, time.Since(b.start), note)+"\x1b[K")
}

// Finish ends the bar's line.
func (b *Bar) Finish() {
	if b.enabled {
		fmt.Fprintln(b.w)
	}
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
