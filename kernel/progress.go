package kernel

import (
	"fmt"
	"html"
	"time"

	"github.com/janpfeifer/gonb/gonbui"

	"github.com/restorelab/restorelab/restore"
)

// Progress is a progress bar shown in one notebook output, updated in place.
// When the work is complete the bar is replaced by a persistent summary
// line, so a saved notebook keeps how long it took.
type Progress struct {
	label string
	id    string
	start time.Time
	done  bool
}

// NewProgress returns a progress bar headed by label. Nothing is shown
// before the first Update.
func NewProgress(label string) *Progress {
	return &Progress{label: label, id: "progress_" + gonbui.UniqueId(), start: time.Now()}
}

// Update shows that done of total units are complete, what being the one in
// progress. Reaching done == total finishes the bar. Its signature matches
// bench.Config.Progress.
func (p *Progress) Update(done, total int, what string) {
	if !inNotebook() || p.done {
		return
	}
	if total > 0 && done >= total {
		p.Finish()
		return
	}
	showHTML(p.id, progressHTML(p.label, done, total, what))
}

// Finish replaces the bar with a line saying how long the work took. Later
// updates are ignored.
func (p *Progress) Finish() {
	if !inNotebook() || p.done {
		return
	}
	p.done = true
	showHTML(p.id, "")
	showHTML("", fmt.Sprintf(`<div style="font-family:monospace">%s: done in %.1f s</div>`,
		html.EscapeString(p.label), time.Since(p.start).Seconds()))
}

// Hook returns a step hook that advances the bar with each sampler step.
func (p *Progress) Hook() restore.Hook {
	return func(s *restore.StepInfo) error {
		p.Update(s.Index+1, s.Count, fmt.Sprintf("t = %d", s.T))
		return nil
	}
}

func progressHTML(label string, done, total int, what string) string {
	return fmt.Sprintf(`<div style="font-family:monospace">%s <progress value="%d" max="%d"></progress> %d/%d %s</div>`,
		html.EscapeString(label), done, total, done, total, html.EscapeString(what))
}
