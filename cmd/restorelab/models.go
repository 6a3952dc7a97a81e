package main

import (
	"context"
	"fmt"
	"io"
	"runtime"

	"github.com/restorelab/restorelab/models"
)

// runtimeOptions are the ONNX Runtime settings every command uses.
var runtimeOptions = models.Options{Threads: runtime.NumCPU()}

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
	usage := "models list | models inspect PATH"
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
		if len(args) != 2 {
			fmt.Fprintln(stderr, "Usage: restorelab models inspect PATH (a model folder, an .onnx file or a model name)")
			return errUsage
		}
		r, err := models.Inspect(args[1], runtimeOptions)
		if err != nil {
			return err
		}
		fmt.Fprint(stdout, r.String())
		if !r.OK() {
			return fmt.Errorf("%s does not match its role's contract (see above)", args[1])
		}
		return nil
	}
	fmt.Fprintf(stderr, "unknown models subcommand %q\nUsage: restorelab %s\n", args[0], usage)
	return errUsage
}
