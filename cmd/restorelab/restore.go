package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/restorelab/restorelab/internal/progress"
	"github.com/restorelab/restorelab/method"
	"github.com/restorelab/restorelab/models"
	"github.com/restorelab/restorelab/restore"
)

func runRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("restore", "restore --task T --in Y --out X [--method NAME] [the method's settings] [flags]", stderr)
	taskName := fs.String("task", "", "task the measurement was degraded with: "+taskList())
	in := fs.String("in", "", "measurement: .png/.jpg (8-bit: its rounding noise is added to sigma_y; 16-bit PNG: its own) or .npy (exact)")
	out := fs.String("out", "", "restored image: .png (clipped to [0,1], 8-bit) or .npy (float32)")
	methodName := fs.String("method", method.DDRM.Name, "restoration method: "+strings.Join(method.Names(), ", ")+" (see 'restorelab methods')")
	settings := addSettingFlags(fs)
	applyRuntime := runtimeFlags(fs)
	sigma := sigmaFlag(fs)
	seed := fs.Uint64("seed", 0, "seed of the sampler's noise: the same seed gives the same output")
	trace := fs.String("trace", "", "write every step's x_t, x0_hat and x_next to this .npz (numpy.load reads it)")
	mask := fs.String("mask", "", "inpaint: mask image (white = kept), if the measurement does not mark missing pixels")
	ref := fs.String("ref", "", "clean image: print PSNR and SSIM of the result against it")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := applyRuntime(); err != nil {
		return err
	}
	if err := require(fs, "task", "in", "out"); err != nil {
		return err
	}
	task, sigmaY, err := taskAndSigma(*taskName, *sigma)
	if err != nil {
		return err
	}
	m, err := method.Lookup(*methodName)
	if err != nil {
		return err
	}
	s := m.Defaults()
	if err := settings.apply(s, true); err != nil {
		return err
	}
	if err := checkOutputPath(*out); err != nil {
		return err
	}
	if *trace != "" {
		if m == method.Baseline {
			return fmt.Errorf("--trace records sampler steps; the baseline has none")
		}
		if err := checkOutputPath(*trace, ".npz"); err != nil {
			return err
		}
	}
	meas, err := restore.LoadMeasurement(*in)
	if err != nil {
		return err
	}
	p, err := method.Measure(task, meas, sigmaY, *mask)
	if err != nil {
		return err
	}
	var reference *restore.Tensor
	if *ref != "" {
		if reference, err = restore.LoadImage(*ref); err != nil {
			return err
		}
		if reference = restore.ToRGB(reference); reference.Shape != p.Op.InShape() {
			return fmt.Errorf("reference %s is %v but the restored image will be %v", *ref, reference.Shape, p.Op.InShape())
		}
	}

	ms := models.NewCache(runtimeOptions)
	defer ms.Close()
	start := time.Now()
	sampler, err := s.Sampler(ms, p, *seed)
	if err != nil {
		return err
	}
	result, err := runSampler(ctx, m.Name, sampler, *trace, stderr)
	if err != nil {
		return err
	}
	if err := restore.SaveImage(*out, result, nil); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%v, %s, %.1fs)\n", *out, result.Shape, m.Name, time.Since(start).Seconds())
	if *trace != "" {
		fmt.Fprintf(stdout, "wrote %s\n", *trace)
	}
	if reference != nil {
		ssim, err := restore.SSIMTensor(result, reference)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "PSNR %.2f dB  SSIM %.4f\n", restore.PSNR(result.Data, reference.Data), ssim)
	}
	return nil
}

// runSampler runs s to the end with a progress bar, and writes its trace
// when tracePath is set.
func runSampler(ctx context.Context, name string, s restore.Sampler, tracePath string, stderr io.Writer) (*restore.Tensor, error) {
	if s.Len() == 0 {
		return s.Result()
	}
	bar := progress.New(stderr, name, s.Len())
	hooks := []restore.Hook{func(info *restore.StepInfo) error {
		bar.Set(info.Index+1, fmt.Sprintf("t=%d", info.T))
		return nil
	}}
	var tr *restore.Trace
	run := restore.RunTransient // the progress bar keeps nothing of a step
	if tracePath != "" {
		tr = restore.NewTrace()
		hooks = append(hooks, tr.Hook)
		run = restore.Run
	}
	result, err := run(ctx, s, hooks...)
	bar.Finish()
	if err != nil {
		return nil, err
	}
	if tr != nil {
		if err := tr.Write(tracePath, traceInput(s), result); err != nil {
			return nil, err
		}
	}
	return result, nil
}

// traceInput is what a trace records as y: the measurement in the
// sampler's [-1, 1] space, or SRLDM's low-resolution input for ldm.
func traceInput(s restore.Sampler) *restore.Tensor {
	switch v := s.(type) {
	case interface{ Measurement() *restore.Tensor }:
		return v.Measurement()
	case interface{ LowRes() *restore.Tensor }:
		return v.LowRes()
	}
	return nil
}
