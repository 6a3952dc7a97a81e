package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/restorelab/restorelab/method"
	"github.com/restorelab/restorelab/restore"
)

// sigmaFlag adds --sigma-y, whose default -1 stands for the task's own level.
func sigmaFlag(fs *flagSet) *float64 {
	return fs.Float64("sigma-y", -1, "measurement noise std on the [0,1] scale (default: the task's; see 'restorelab tasks')")
}

// fitFlag adds --fit.
func fitFlag(fs *flagSet) *string {
	return fs.String("fit", string(method.FitPad), "an image whose sides the task or network do not take: pad (reflect it to the next sides that fit, and crop the result back), crop (cut it down) or error")
}

// taskAndSigma looks up a task and the noise level to use with it: the
// --sigma-y flag's if given, else the task's.
func taskAndSigma(name string, flagValue float64) (restore.Task, float64, error) {
	t, err := restore.LookupTask(name)
	switch {
	case err != nil:
		return t, 0, err
	case flagValue == -1:
		return t, t.SigmaY, nil
	case flagValue < 0 || flagValue > 1:
		return t, 0, fmt.Errorf("--sigma-y %g is out of range; give a noise std in [0, 1] on the [0,1] image scale, e.g. 0.05", flagValue)
	}
	return t, flagValue, nil
}

func runDegrade(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("degrade", "degrade --task T --in CLEAN --out Y [--sigma-y S] [--seed N] [--mask FILE] [--fit pad|crop|error]", stderr)
	taskName := fs.String("task", "", "task: "+taskList())
	in := fs.String("in", "", "clean image (PNG, JPEG or .npy in [0,1])")
	out := fs.String("out", "", "measurement to write: .npz (exact, with its task, noise, seed, size and mask, so that restore needs no flag repeated), .npy (exact float32) or .png (clipped to [0,1], 8-bit)")
	sigma := sigmaFlag(fs)
	seed := fs.Uint64("seed", 0, "seed of the noise and of inpaint's random mask")
	mask := fs.String("mask", "", "inpaint: mask image, white = kept (default: a random half of the pixels)")
	fit := fitFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := require(fs, "task", "in", "out"); err != nil {
		return err
	}
	task, sigmaY, err := taskAndSigma(*taskName, *sigma)
	if err != nil {
		return err
	}
	f, err := method.ParseFit(*fit)
	if err != nil {
		return fs.usageError("--fit: %v", err)
	}
	if err := checkOutputPath(*out, ".npz", ".npy", ".png"); err != nil {
		return err
	}
	x, err := restore.LoadImage(*in)
	if err != nil {
		return err
	}
	x = restore.ToRGB(x)
	p, info, err := method.DegradeFitted(task, x, *mask, sigmaY, *seed, f, 1)
	if err != nil {
		return err
	}
	keep, padB, padR, h, w := p.Keep, info.PadBottom, info.PadRight, info.Height, info.Width
	fitted := p.Op.InShape()
	if strings.EqualFold(filepath.Ext(*out), ".npz") {
		err = restore.SaveMeasurement(*out, p.Y, keep, info)
	} else {
		err = restore.SaveImage(*out, p.Y, keep)
	}
	if err != nil {
		return err
	}
	switch {
	case padB > 0 || padR > 0:
		fmt.Fprintf(stderr, "note: the %dx%d image was padded to %dx%d for the task", w, h, fitted.W, fitted.H)
		if !strings.EqualFold(filepath.Ext(*out), ".npz") {
			fmt.Fprintf(stderr, "; a .npz records that, so that restore crops back")
		}
		fmt.Fprintln(stderr)
	case h != x.Shape.H || w != x.Shape.W:
		fmt.Fprintf(stderr, "note: the image was cropped to %dx%d for the task (--fit crop)\n", w, h)
	}
	fmt.Fprintf(stdout, "wrote %s: %s of %v, sigma_y %g, measurement %v\n", *out, task.Name, x.Shape, sigmaY, p.Y.Shape)
	return nil
}
