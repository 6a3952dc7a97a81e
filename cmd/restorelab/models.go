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
		runtimeOptions.Notify = notifyTo(fs.stderr)
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

// notifyTo writes what opening a large model is doing to w, a line each.
func notifyTo(w io.Writer) func(string) {
	return func(line string) { fmt.Fprintln(w, line) }
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

func runModels(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	usage := "models list | models inspect [--threads N] [--device D] PATH | models import KIND FILE_OR_DIR [--name N] [--allow-unverified]"
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
	case "import":
		return runModelsImport(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "unknown models subcommand %q\nUsage: restorelab %s\n", args[0], usage)
	return errUsage
}

func runModelsImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var kinds []string
	for _, k := range models.ImportKinds {
		kinds = append(kinds, fmt.Sprintf("  %-17s %s", k.Name, k.Source))
	}
	fs := newFlagSet("models import", "models import KIND FILE_OR_DIR [--name N] [--allow-unverified] [--which W] [--fp16]\n  KIND:\n"+strings.Join(kinds, "\n"), stderr)
	name := fs.String("name", "", "the model's name in the user models folder (default: the exporter's, e.g. guided-diffusion-256-uncond)")
	allow := fs.Bool("allow-unverified", false, "import a checkpoint whose hashes match no published record (a re-saved copy, a conversion, a fine-tune); the model is marked unverified")
	which := fs.String("which", "", "ddpm: the checkpoint's record (celeba_hq, ema_lsun_bedroom, ema_lsun_cat, ema_lsun_church), when the file name does not tell")
	fp16 := fs.Bool("fp16", false, "guided-diffusion: store the weights as float16 (half the file; float32 arithmetic)")
	records := fs.String("records", "", "a JSON file of checkpoint records to check against instead of the exporters' (tests)")
	operands, err := parseWithOperands(fs, args)
	if err != nil {
		return err
	}
	if len(operands) != 2 {
		return fs.usageError("give KIND and the checkpoint file or folder")
	}
	kind, err := models.LookupImportKind(operands[0])
	if err != nil {
		return fs.usageError("%v", err)
	}
	fmt.Fprintf(stderr, "importing %s as %s (hashing, loading and exporting it can take minutes for a real checkpoint) ...\n", operands[1], kind.Name)
	dir, err := models.Import(ctx, kind, operands[1], models.ImportOptions{Name: *name, AllowUnverified: *allow, Which: *which, FP16: *fp16, Records: *records, Log: stderr})
	if err != nil {
		return err
	}
	opts := runtimeOptions
	opts.Notify = notifyTo(stderr)
	r, err := models.Inspect(dir, opts)
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, r.String())
	if !r.OK() {
		return fmt.Errorf("%s was installed but does not match its role's contract (see above)", dir)
	}
	fmt.Fprintf(stdout, "installed %s\nuse it: %s\n", dir, useLine(r.Role, r.Name))
	return nil
}

// useLine is the command that uses an imported model of a role.
func useLine(role models.Role, name string) string {
	switch role {
	case models.RoleLDMSR:
		return "restorelab restore --in Y --out X --method ldm --ldm-model " + name
	case models.RoleInception:
		return "restorelab metrics A B --inception " + name + "   (or bench --inception " + name + ")"
	}
	return "restorelab restore --in Y --out X --model " + name
}
