// Command restorelab degrades and restores images with diffusion models and
// regenerates the study's tables and figures.
//
// Usage:
//
//	restorelab <command> [flags]
//
// Run 'restorelab help' for the list of commands and 'restorelab <command> -h'
// for the flags of one.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"

	"github.com/restorelab/restorelab/models"
	"github.com/restorelab/restorelab/restore"
)

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"degrade", "degrade a clean image with a task's operator and noise", runDegrade},
		{"restore", "restore a measurement with a method (DDRM, DDNM, DiffPIR, SRLDM, ...)", runRestore},
		{"methods", "list the restoration methods and their settings", runMethods},
		{"bench", "evaluate methods on tasks over a folder of clean images", runBench},
		{"figures", "redraw the tables' figures from a bench output folder", runFigures},
		{"spectrum", "write a task's singular values as CSV", runSpectrum},
		{"tasks", "list the restoration tasks", runTasks},
		{"models", "list the priors, or inspect a model file against its role's contract", runModels},
		{"repl", "step through a restoration interactively", runRepl},
		{"kernel", "install the GoNB Jupyter kernel for the notebooks", runKernel},
		{"metrics", "PSNR, SSIM, FID and KID between two folders of images (or saved statistics)", runMetrics},
		{"setup", "install ONNX Runtime in the user cache, so that restorelab runs from any folder", runSetup},
	}
}

// errUsage marks errors already explained by a flag set's usage text.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command line and returns the process exit status:
// 0 on success, 1 on failure, 2 on a usage error and 130 when interrupted.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printUsage(stdout)
		return 0
	}
	if args[0] == "--version" || args[0] == "version" {
		printVersion(stdout)
		return 0
	}
	if err := restore.MaxPixelsFromEnv(); err != nil {
		fmt.Fprintf(stderr, "restorelab: %v\n", err)
		return 2
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			return 2
		case errors.Is(err, errInterrupted):
			return 130
		case errors.Is(err, context.Canceled):
			fmt.Fprintf(stderr, "restorelab %s: interrupted; nothing was written\n", c.name)
			return 130
		default:
			fmt.Fprintf(stderr, "restorelab %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "restorelab: unknown command %q; run 'restorelab help' for the list\n", args[0])
	return 2
}

// printVersion prints the module version, the commit it was built from and
// the ONNX Runtime it finds.
func printVersion(w io.Writer) {
	version, commit := "(devel)", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		version = bi.Main.Version
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					commit += " (with local changes)"
				}
			}
		}
	}
	fmt.Fprintf(w, "restorelab %s, commit %s, %s\n", version, commit, runtime.Version())
	if err := models.InitRuntime(""); err != nil {
		fmt.Fprintf(w, "ONNX Runtime: not found (%v)\n", err)
		return
	}
	path, v := models.RuntimeInfo()
	fmt.Fprintf(w, "ONNX Runtime %s: %s\n", v, path)
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "restorelab: image restoration with diffusion models (DDRM)")
	fmt.Fprintln(w, "\nUsage: restorelab <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'restorelab <command> -h' for a command's flags, 'restorelab --version' for the versions.")
}

// flagSet is a command's flags, with its usage line and where errors go.
type flagSet struct {
	*flag.FlagSet
	usage  string
	stderr io.Writer
}

// newFlagSet returns a flag set that reports errors instead of exiting:
// -h prints the usage and every flag, a mistake one line.
func newFlagSet(name, usage string, stderr io.Writer) *flagSet {
	fs := &flagSet{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), usage: usage, stderr: stderr}
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// usageError prints a one-line usage mistake with a pointer to -h.
func (fs *flagSet) usageError(format string, a ...any) error {
	fmt.Fprintf(fs.stderr, "restorelab %s: %s; see 'restorelab %s -h'\n", fs.Name(), fmt.Sprintf(format, a...), fs.Name())
	return errUsage
}

// parseFlags parses args and rejects stray positional arguments.
func parseFlags(fs *flagSet, args []string) error {
	operands, err := parseWithOperands(fs, args)
	if err == nil && len(operands) > 0 {
		return fs.usageError("unexpected argument %q; every input is given with a flag", operands[0])
	}
	return err
}

// parseWithOperands parses flags given before, between and after operands,
// and returns the operands.
func parseWithOperands(fs *flagSet, args []string) ([]string, error) {
	var operands []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprintf(fs.stderr, "Usage: restorelab %s\n\n", fs.usage)
				fs.SetOutput(fs.stderr)
				fs.PrintDefaults()
				return nil, err
			}
			return nil, fs.usageError("%v", err)
		}
		if fs.NArg() == 0 {
			return operands, nil
		}
		operands, args = append(operands, fs.Arg(0)), fs.Args()[1:]
	}
}

// require reports a usage error for the first empty mandatory flag.
func require(fs *flagSet, names ...string) error {
	for _, n := range names {
		if fs.Lookup(n).Value.String() == "" {
			return fs.usageError("missing --%s (usage: restorelab %s)", n, fs.usage)
		}
	}
	return nil
}
