package main

import (
	"context"
	"fmt"
	"io"

	"github.com/restorelab/restorelab/restore"
)

// sigmaFlag adds --sigma-y, whose default -1 stands for the task's own level.
func sigmaFlag(fs *flagSet) *float64 {
	return fs.Float64("sigma-y", -1, "measurement noise std on the [0,1] scale (default: the task's; see 'restorelab tasks')")
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
	fs := newFlagSet("degrade", "degrade --task T --in CLEAN --out Y [--sigma-y S] [--seed N] [--mask FILE]", stderr)
	taskName := fs.String("task", "", "task: "+taskList())
	in := fs.String("in", "", "clean image (PNG, JPEG or .npy in [0,1])")
	out := fs.String("out", "", "measurement to write: .png (clipped to [0,1], 8-bit) or .npy (exact float32)")
	sigma := sigmaFlag(fs)
	seed := fs.Uint64("seed", 0, "seed of the noise and of inpaint's random mask")
	mask := fs.String("mask", "", "inpaint: mask image, white = kept (default: a random half of the pixels)")
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
	if err := checkOutputPath(*out); err != nil {
		return err
	}
	x, err := restore.LoadImage(*in)
	if err != nil {
		return err
	}
	x = restore.ToRGB(x)
	keep, err := task.Mask(*mask, x.Shape.H, x.Shape.W, *seed)
	if err != nil {
		return err
	}
	op, err := task.Operator(x.Shape, keep)
	if err != nil {
		return err
	}
	y, err := restore.Degrade(op, x, sigmaY, *seed)
	if err != nil {
		return err
	}
	if err := restore.SaveImage(*out, y, keep); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %s of %v, sigma_y %g, measurement %v\n", *out, task.Name, x.Shape, sigmaY, y.Shape)
	return nil
}
