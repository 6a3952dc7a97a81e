package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"

	"github.com/restorelab/restorelab/repl"
)

func runRepl(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("repl", "repl [--script FILE] [--images auto|kitty|iterm|sixel|blocks|none]", stderr)
	script := fs.String("script", "", "run the commands in FILE, one per line, instead of prompting; exit status 1 if any fails (standard input is read the same way when it is not a terminal)")
	images := fs.String("images", "auto", "inline images: auto, kitty, iterm, sixel, blocks (24-bit colour half blocks) or none")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	interactive := *script == "" && isTerminal(os.Stdin) && isTerminal(os.Stdout)
	iw, err := replImages(*images, interactive)
	if err != nil {
		return err
	}
	sh := repl.NewShell(repl.NewSession(repl.Config{
		OpenModel: openModel,
		// Until models can be listed, offer the built-in prior.
		ModelNames: func() []string { return []string{defaultModel} },
	}), stdout)
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
// no images.
func replImages(mode string, terminal bool) (repl.ImageWriter, error) {
	switch mode {
	case "none":
		return nil, nil
	case "auto":
		if !terminal {
			return nil, nil
		}
		return blocks(), nil
	case "blocks":
		return blocks(), nil
	case "kitty", "iterm", "sixel":
		return nil, fmt.Errorf("--images %s is not available in this build yet; use blocks or none", mode)
	}
	return nil, fmt.Errorf("unknown --images mode %q; use auto, kitty, iterm, sixel, blocks or none", mode)
}

// blocks returns half blocks fitting the terminal on standard output, with
// room left for a caption and the prompt; 80 columns if it is not one.
func blocks() repl.Blocks {
	w, h, err := term.GetSize(int(os.Stdout.Fd()))
	if err != nil || w < 1 || h < 4 {
		return repl.Blocks{MaxCols: 80}
	}
	return repl.Blocks{MaxCols: w, MaxRows: h - 3}
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }
