package main

import (
	"context"
	"fmt"
	"io"

	"github.com/restorelab/restorelab/restore"
)

func runTasks(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("tasks", "tasks", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	for _, t := range restore.Tasks() {
		fmt.Fprintf(stdout, "%-15s sigma_y %-5g %s\n", t.Name, t.SigmaY, t.Description)
	}
	return nil
}
