package main

import (
	"context"
	"fmt"
	"io"

	"github.com/restorelab/restorelab/method"
)

func runMethods(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("methods", "methods", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprint(stdout, method.Markdown())
	fmt.Fprintln(stdout, "\nEvery setting is --KEY (dashes for underscores) on the command line, 'set KEY' in the REPL, and a KEY=VALUE option of bench's --methods.")
	return nil
}
