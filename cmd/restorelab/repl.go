package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"

	"github.com/restorelab/restorelab/models"
	"github.com/restorelab/restorelab/repl"
	"github.com/restorelab/restorelab/viz"
)

func runRepl(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("repl", "repl [--script FILE] [--images auto|kitty|iterm|sixel|blocks|none]", stderr)
	script := fs.String("script", "", "run the commands in FILE, one per line, instead of prompting; exit status 1 if any fails (standard input is read the same way when it is not a terminal)")
	images := fs.String("images", "auto", "inline images: auto, kitty, iterm, sixel, blocks (24-bit colour half blocks) or none")
	applyRuntime := runtimeFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := applyRuntime(); err != nil {
		return err
	}
	interactive := *script == "" && isTerminal(os.Stdin) && isTerminal(os.Stdout)
	iw, err := replImages(*images, interactive)
	if err != nil {
		return err
	}
	ms := models.NewCache(runtimeOptions)
	defer ms.Close()
	sh := repl.NewShell(repl.NewSession(repl.Config{Models: ms, ModelNames: modelNames}), stdout)
	sh.Images, sh.Progress = iw, stderr

	switch {
	case interactive:
		// Ctrl-C stops a running command and main's context would stay
		// cancelled after it, so the prompt only ends on SIGTERM.
		tctx, stop := signal.NotifyContext(context.WithoutCancel(ctx), syscall.SIGTERM)
		defer stop()
		return repl.Interact(tctx, sh, repl.HistoryFile())
	case *script != "":
		f, err := os.Open(*script)
		if err != nil {
			return err
		}
		defer f.Close()
		return repl.RunScript(ctx, sh, f, *script, stderr)
	default:
		return repl.RunScript(ctx, sh, os.Stdin, "stdin", stderr)
	}
}

// replImages returns the inline image writer of an --images mode; nil draws
// no images. auto picks the terminal's best protocol, and none when standard
// output is not a terminal.
func replImages(mode string, terminal bool) (repl.ImageWriter, error) {
	p, err := viz.ParseProtocol(mode)
	if err != nil {
		return nil, err
	}
	if p == viz.Auto {
		if !terminal {
			return nil, nil
		}
		p = viz.DetectProtocol(os.Getenv)
	}
	if p == viz.None {
		return nil, nil
	}
	t := repl.Terminal{Protocol: p, MaxCols: 80}
	if w, h, err := term.GetSize(int(os.Stdout.Fd())); err == nil && w > 0 && h > 4 {
		// Leave room for the caption and the prompt.
		t.MaxCols, t.MaxRows = w, h-3
	}
	return t, nil
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }
