package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"

	"github.com/restorelab/restorelab/models"
)

// runtimeOptions are the ONNX Runtime settings every command uses; the
// commands that run a model set them from --threads and --device.
var runtimeOptions = models.Options{Threads: runtime.NumCPU()}

// runtimeFlags adds --threads and --device; apply sets runtimeOptions from
// them after parsing.
func runtimeFlags(fs *flagSet) (apply func() error) {
	threads := fs.Int("threads", runtime.NumCPU(), "threads ONNX Runtime uses within an operator (default: the logical CPUs)")
	device := fs.String("device", "cpu", "where models run: cpu, or cuda or cuda:N for an NVIDIA GPU (needs a CUDA build of ONNX Runtime, see README)")
	return func() error {
		if *threads < 1 || *threads > 1024 {
			return fs.usageError("--threads %d is out of range; use 1..1024", *threads)
		}
		runtimeOptions.Threads = *threads
		switch d := *device; {
		case d == "cpu":
			runtimeOptions.CUDA = false
		case d == "cuda" || strings.HasPrefix(d, "cuda:"):
			n := 0
			if rest, ok := strings.CutPrefix(d, "cuda:"); ok {
				v, err := strconv.Atoi(rest)
				if err != nil || v < 0 {
					return fs.usageError("--device %s: the GPU number %q is not a non-negative integer", d, rest)
				}
				n = v
			}
			runtimeOptions.CUDA, runtimeOptions.CUDADevice = true, n
		default:
			return fs.usageError("--device %q is not cpu, cuda or cuda:N", d)
		}
		return nil
	}
}

// modelNames lists the priors --model accepts by name, for completion.
func modelNames() []string {
	c, _ := models.List() // a broken user folder still leaves the others
	var names []string
	for _, e := range c {
		if e.Role == models.RoleDDRMPrior {
			names = append(names, e.Name)
		}
	}
	return names
}

func runModels(_ context.Context, args []string, stdout, stderr io.Writer) error {
	usage := "models list | models inspect [--threads N] [--device D] PATH"
	if len(args) == 0 {
		fmt.Fprintln(stderr, "Usage: restorelab "+usage)
		return errUsage
	}
	switch args[0] {
	case "list":
		c, err := models.List()
		if err != nil {
			return err
		}
		fmt.Fprint(stdout, c.String())
		return nil
	case "inspect":
		fs := newFlagSet("models inspect", "models inspect [--threads N] [--device D] PATH (a model folder, an .onnx file or a model name)", stderr)
		apply := runtimeFlags(fs)
		if err := fs.Parse(args[1:]); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return parseFlags(fs, args[1:])
			}
			return fs.usageError("%v", err)
		}
		if fs.NArg() != 1 {
			return fs.usageError("give one model: a folder, an .onnx file or a name")
		}
		if err := apply(); err != nil {
			return err
		}
		r, err := models.Inspect(fs.Arg(0), runtimeOptions)
		if err != nil {
			return err
		}
		fmt.Fprint(stdout, r.String())
		if !r.OK() {
			return fmt.Errorf("%s does not match its role's contract (see above)", fs.Arg(0))
		}
		return nil
	}
	fmt.Fprintf(stderr, "unknown models subcommand %q\nUsage: restorelab %s\n", args[0], usage)
	return errUsage
}
