package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

const kernelUsage = "kernel install [--headless] [--jupyter-data-dir DIR]"

// runKernel implements 'restorelab kernel install', which installs the GoNB
// Jupyter kernel the notebooks run on. The work is done by
// scripts/install-gonb.sh, which 'make notebook-deps' runs too: GoNB is built
// from the version go.mod pins, so the command needs the checkout.
func runKernel(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("kernel install", kernelUsage, stderr)
	headless := fs.Bool("headless", false, "install only what executing notebooks needs, not the Jupyter notebook server")
	dataDir := fs.String("jupyter-data-dir", "", "install the kernel spec under `DIR`/kernels instead of Jupyter's user data folder")
	if len(args) == 0 || args[0] != "install" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fs.Usage()
			return flag.ErrHelp
		}
		fmt.Fprintln(stderr, "kernel takes one subcommand, install")
		fs.Usage()
		return errUsage
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	root, err := findCheckout()
	if err != nil {
		return err
	}
	var scriptArgs []string
	if *headless {
		scriptArgs = append(scriptArgs, "--headless")
	}
	if *dataDir != "" {
		abs, err := filepath.Abs(*dataDir)
		if err != nil {
			return err
		}
		scriptArgs = append(scriptArgs, "--jupyter-data-dir", abs)
	}
	cmd := exec.CommandContext(ctx, filepath.Join(root, "scripts", "install-gonb.sh"), scriptArgs...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = root, stdout, stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("installing the GoNB kernel failed (%v); see the messages above", err)
	}
	nb := filepath.Join(root, "notebooks")
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, nb); err == nil && !strings.HasPrefix(rel, "..") {
			nb = rel
		}
	}
	fmt.Fprintf(stdout, "\nOpen the notebooks with:\n  jupyter notebook %s\nor, where JupyterLab is installed:\n  jupyter lab %s\n", nb, nb)
	if *dataDir != "" {
		fmt.Fprintf(stdout, "with JUPYTER_DATA_DIR=%s set, so that Jupyter finds the kernel.\n", scriptArgs[len(scriptArgs)-1])
	}
	return nil
}

// findCheckout returns the root of the restorelab checkout holding the
// working directory or, failing that, the running binary (bin/restorelab).
func findCheckout() (string, error) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		starts = append(starts, filepath.Dir(exe))
	}
	for _, dir := range starts {
		for {
			if isCheckout(dir) {
				return dir, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", errors.New("not inside a restorelab checkout; run the command from the repository, where scripts/install-gonb.sh and the go.mod pinning GoNB are")
}

// isCheckout reports whether dir is the root of the restorelab module with
// the kernel install script.
func isCheckout(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, "scripts", "install-gonb.sh")); err != nil {
		return false
	}
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) == 2 && fields[0] == "module" {
			return fields[1] == "github.com/restorelab/restorelab"
		}
	}
	return false
}
