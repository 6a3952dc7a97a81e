package repl

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/chzyer/readline"
)

// HistoryFile returns where the interactive prompt keeps its history:
// $RESTORELAB_HISTORY, or repl_history in the user's cache folder (created
// if needed), or "" for no history when there is none.
func HistoryFile() string {
	if p := os.Getenv("RESTORELAB_HISTORY"); p != "" {
		return p
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	dir = filepath.Join(dir, "restorelab")
	if os.MkdirAll(dir, 0o755) != nil {
		return ""
	}
	return filepath.Join(dir, "repl_history")
}

// Interact reads commands from the terminal on standard input with line
// editing, history (kept in historyFile unless it is "") and completion,
// runs them, and prints errors on standard error. Ctrl-C stops the command
// running; at the prompt it clears the line, and a second Ctrl-C at an empty
// prompt leaves, as do Ctrl-D and quit. Cancelling ctx leaves too, so ctx
// must not be cancelled by Ctrl-C (SIGINT).
func Interact(ctx context.Context, sh *Shell, historyFile string) error {
	rl, err := readline.NewEx(&readline.Config{
		Prompt:            sh.Prompt(),
		HistoryFile:       historyFile,
		AutoComplete:      completer{sh},
		InterruptPrompt:   "^C",
		HistorySearchFold: true,
	})
	if err != nil {
		return err
	}
	defer rl.Close()
	stop := context.AfterFunc(ctx, func() { rl.Close() })
	defer stop()

	fmt.Fprintln(sh.Out, "restorelab repl: type help for the commands; Tab completes, Ctrl-D quits.")
	interrupted := false
	for {
		rl.SetPrompt(sh.Prompt())
		line, err := rl.Readline()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, readline.ErrInterrupt):
			if strings.TrimSpace(line) == "" {
				if interrupted {
					return nil
				}
				fmt.Fprintln(rl.Stderr(), "(Ctrl-C again or Ctrl-D to quit)")
			}
			interrupted = strings.TrimSpace(line) == ""
			continue
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			return err
		}
		interrupted = false
		err = execInterruptible(ctx, sh, line)
		if errors.Is(err, ErrQuit) {
			return nil
		}
		switch {
		case errors.Is(err, context.Canceled):
			// The user stopped it: not a failure.
			fmt.Fprintln(rl.Stderr(), oneLine(err))
		case err != nil:
			fmt.Fprintln(rl.Stderr(), "error:", oneLine(err))
		}
	}
}

// execInterruptible runs a line with Ctrl-C cancelling it. The terminal is
// out of raw mode while a command runs, so Ctrl-C arrives as SIGINT.
func execInterruptible(ctx context.Context, sh *Shell, line string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	defer signal.Stop(sig)
	go func() {
		select {
		case <-sig:
			cancel()
		case <-ctx.Done():
		}
	}()
	return sh.Exec(ctx, line)
}

// completer adapts Shell.Complete to readline.
type completer struct{ sh *Shell }

func (c completer) Do(line []rune, pos int) ([][]rune, int) {
	words, n := c.sh.Complete(string(line[:pos]))
	out := make([][]rune, len(words))
	for i, w := range words {
		out[i] = []rune(w)[n:]
	}
	return out, n
}

// RunScript runs the commands read from r, one per line, as if typed:
// each is echoed after the prompt on the shell's output, and a failure is
// reported on errOut as name:line: message. Blank lines and # comments are
// skipped. It runs every command, stops at quit, and returns an error if
// any failed or ctx was cancelled.
func RunScript(ctx context.Context, sh *Shell, r io.Reader, name string, errOut io.Writer) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	failed, total := 0, 0
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if cmd, err := Parse(line); err == nil && cmd.Name == "" {
			continue
		}
		total++
		fmt.Fprintf(sh.Out, "%s%s\n", sh.Prompt(), strings.TrimSpace(line))
		err := sh.Exec(ctx, line)
		switch {
		case errors.Is(err, ErrQuit):
			return scriptResult(failed, total)
		case ctx.Err() != nil:
			return fmt.Errorf("%s:%d: interrupted", name, n)
		case err != nil:
			failed++
			fmt.Fprintf(errOut, "%s:%d: %s\n", name, n, oneLine(err))
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading %s: %w", name, err)
	}
	return scriptResult(failed, total)
}

func scriptResult(failed, total int) error {
	if failed > 0 {
		return fmt.Errorf("%d of %d commands failed", failed, total)
	}
	return nil
}

// oneLine keeps an error message on one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
