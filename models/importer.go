package models

import (
	"bufio"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// The export scripts travel inside the binary, so that a copied binary
// imports checkpoints from any folder.
//
//go:embed export/*.py export/*.json
var exportScripts embed.FS

// ImportKind is a kind of published checkpoint Import converts.
type ImportKind struct {
	Name, Script string
	// SourceFlag is the script's option for the file or folder.
	SourceFlag string
	// Source describes what to give, for help and errors.
	Source string
}

// ImportKinds lists the checkpoints Import converts, by kind.
var ImportKinds = []ImportKind{
	{"guided-diffusion", "guided_diffusion.py", "--checkpoint", "openai/guided-diffusion's 256x256_diffusion_uncond.pt"},
	{"ddpm", "ddpm.py", "--checkpoint", "a DDPM checkpoint DDRM uses: celeba_hq.ckpt, or model-*.ckpt of an LSUN model"},
	{"ldm-sr", "ldm_sr.py", "--snapshot", "the folder of CompVis/ldm-super-resolution-4x-openimages (unet/, vqvae/)"},
	{"fid-inception", "fid_inception.py", "--checkpoint", "pytorch-fid's pt_inception-2015-12-05-6726825d.pth"},
}

// ImportOptions refine Import.
type ImportOptions struct {
	// Name is the model's name (the folder's in the user models folder);
	// empty for the exporter's default.
	Name string
	// AllowUnverified exports a checkpoint whose hashes match no record,
	// marking the model unverified.
	AllowUnverified bool
	// Which names the record of a ddpm checkpoint (celeba_hq,
	// ema_lsun_bedroom, ...), when its file name does not tell.
	Which string
	// FP16 stores a guided-diffusion model's weights as float16.
	FP16 bool
	// Records is a JSON file of checkpoint records to use instead of the
	// scripts' own, for tests.
	Records string
	// Python is the interpreter, /usr/bin/python3 by default.
	Python string
	// Log receives the exporter's output as it runs; may be nil.
	Log io.Writer
}

// LookupImportKind returns the kind of the given name.
func LookupImportKind(name string) (ImportKind, error) {
	var names []string
	for _, k := range ImportKinds {
		if k.Name == name {
			return k, nil
		}
		names = append(names, k.Name)
	}
	return ImportKind{}, fmt.Errorf("unknown kind %q; use one of %s", name, strings.Join(names, ", "))
}

// Import converts a published checkpoint of the given kind into a model
// folder in the user models folder (UserModelsDir) with the exporter in
// models/export, run by Python with PyTorch and onnx, and returns the
// folder. The checkpoint is verified against its publisher's hashes before
// anything is written (see models/export/common.py, verify_checkpoint); a
// refused or failed import leaves nothing behind. It does not overwrite a
// model of the same name.
func Import(ctx context.Context, kind ImportKind, source string, opt ImportOptions) (string, error) {
	if _, err := os.Stat(source); err != nil {
		return "", fmt.Errorf("%s does not exist; give %s", source, kind.Source)
	}
	abs, err := filepath.Abs(source)
	if err != nil {
		return "", err
	}
	python := opt.Python
	if python == "" {
		python = "/usr/bin/python3"
	}
	if err := checkPython(ctx, python); err != nil {
		return "", err
	}
	root, err := UserModelsDir()
	if err != nil {
		return "", err
	}
	if opt.Name != "" {
		if _, err := os.Stat(filepath.Join(root, opt.Name)); err == nil {
			return "", fmt.Errorf("a model named %s is already installed in %s; give another --name, or remove it", opt.Name, root)
		}
	}
	scripts, err := os.MkdirTemp("", "restorelab-export-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(scripts)
	if err := writeScripts(scripts); err != nil {
		return "", err
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("cannot create the user models folder: %w", err)
	}
	// A hidden folder beside the final one, so that the move is a rename.
	work, err := os.MkdirTemp(root, ".import-*")
	if err != nil {
		return "", fmt.Errorf("cannot write to the user models folder: %w", err)
	}
	defer os.RemoveAll(work)
	out := filepath.Join(work, "model")
	args := []string{"-W", "ignore", filepath.Join(scripts, kind.Script), kind.SourceFlag, abs, "--out", out}
	if opt.Name != "" {
		args = append(args, "--name", opt.Name)
	}
	if opt.AllowUnverified {
		args = append(args, "--allow-unverified")
	}
	if opt.Which != "" {
		args = append(args, "--which", opt.Which)
	}
	if opt.FP16 {
		args = append(args, "--fp16")
	}
	if opt.Records != "" {
		r, err := filepath.Abs(opt.Records)
		if err != nil {
			return "", err
		}
		args = append(args, "--records", r)
	}
	if err := runLogged(ctx, python, args, opt.Log); err != nil {
		return "", err
	}
	m, err := LoadManifest(out)
	if err != nil {
		return "", fmt.Errorf("the exporter wrote no valid model: %w", err)
	}
	dest := filepath.Join(root, m.Name)
	if _, err := os.Stat(dest); err == nil {
		return "", fmt.Errorf("a model named %s is already installed in %s; give another --name, or remove it", m.Name, root)
	}
	if err := os.Rename(out, dest); err != nil {
		return "", fmt.Errorf("installing the model: %w", err)
	}
	return dest, nil
}

// checkPython checks that python runs and has the exporters' packages.
func checkPython(ctx context.Context, python string) error {
	out, err := exec.CommandContext(ctx, python, "-c", "import torch, onnx, numpy").CombinedOutput()
	if err == nil {
		return nil
	}
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("importing a checkpoint runs its exporter with %s, which is not there; install Python 3 (Debian: sudo apt-get install python3)", python)
	}
	return fmt.Errorf("the exporters need PyTorch, onnx and numpy for %s (%s); on Debian: sudo apt-get install python3-torch python3-onnx python3-numpy", python, lastLine(string(out)))
}

func writeScripts(dir string) error {
	entries, err := exportScripts.ReadDir("export")
	if err != nil {
		return err
	}
	for _, e := range entries {
		data, err := exportScripts.ReadFile("export/" + e.Name())
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// runLogged runs a command, copying each line of its output to log, and
// returns its last line as the error when it fails.
func runLogged(ctx context.Context, name string, args []string, log io.Writer) error {
	cmd := exec.CommandContext(ctx, name, args...)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		pw.Close()
		done <- err
	}()
	var last string
	sc := bufio.NewScanner(pr)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) != "" {
			last = line
		}
		if log != nil {
			fmt.Fprintln(log, "  "+line)
		}
	}
	io.Copy(io.Discard, pr) // past an overlong line, so that the exporter never blocks
	if err := <-done; err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if log != nil {
			return errors.New("the exporter stopped (its message is above); nothing was installed")
		}
		return fmt.Errorf("the exporter stopped: %s; nothing was installed", strings.TrimSpace(last))
	}
	return nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
