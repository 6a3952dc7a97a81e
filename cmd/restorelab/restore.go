package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/restorelab/restorelab/internal/progress"
	"github.com/restorelab/restorelab/method"
	"github.com/restorelab/restorelab/models"
	"github.com/restorelab/restorelab/restore"
)

func runRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("restore", "restore --in Y --out X [--task T] [--method NAME] [the method's settings] [flags]", stderr)
	taskName := fs.String("task", "", "task the measurement was degraded with: "+taskList()+" (default: the one a measurement .npz records)")
	in := fs.String("in", "", "measurement: .npz from 'restorelab degrade' (knows its task, noise and size), .png/.jpg (8-bit: its rounding noise is added to sigma_y; 16-bit PNG: its own) or .npy (exact)")
	out := fs.String("out", "", "restored image: .png (clipped to [0,1], 8-bit) or .npy (float32)")
	methodName := fs.String("method", method.DDRM.Name, "restoration method: "+strings.Join(method.Names(), ", ")+" (see 'restorelab methods')")
	settings := addSettingFlags(fs)
	applyRuntime := runtimeFlags(fs)
	sigma := sigmaFlag(fs)
	fit := fitFlag(fs)
	samples := fs.Int("samples", 1, "restore this many samples of the posterior and write their mean to --out, their per-pixel standard deviation to OUT_std and the samples to OUT_sample1... (1: one restoration)")
	batch := fs.Int("batch", 1, "with --samples, restore this many at once: one batch of seed, the next of seed+1, ... (on CPU one at a time is fastest; a GPU gains from more)")
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
	if err := require(fs, "in", "out"); err != nil {
		return err
	}
	f, err := method.ParseFit(*fit)
	if err != nil {
		return fs.usageError("--fit: %v", err)
	}
	if *samples < 1 || *samples > 256 {
		return fs.usageError("--samples %d is out of range; use 1..256", *samples)
	}
	if *batch < 1 || *batch > *samples && *samples > 1 {
		return fs.usageError("--batch %d is out of range; use 1..%d (the samples)", *batch, *samples)
	}
	m, err := method.Lookup(*methodName)
	if err != nil {
		return err
	}
	s := m.Defaults()
	if err := settings.apply(s, true); err != nil {
		return err
	}
	outs := []string{*out}
	if *samples > 1 {
		outs = append(outs, samplePaths(*out, *samples)...)
	}
	for _, o := range outs {
		if err := checkOutputPath(o); err != nil {
			return err
		}
	}
	if *trace != "" {
		if *samples > 1 {
			return fs.usageError("--trace records one run; give it without --samples")
		}
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
	task, sigmaY, err := measurementTask(meas.Info, *taskName, *sigma, *in)
	if err != nil {
		return err
	}
	var reference *restore.Tensor
	if *ref != "" {
		if reference, err = restore.LoadImage(*ref); err != nil {
			return err
		}
	}

	ms := models.NewCache(runtimeOptions)
	defer ms.Close()
	multiple, err := s.Multiple(ms, task)
	if err != nil {
		return err
	}
	input, err := method.Prepare(task, meas, sigmaY, *mask, f, multiple)
	if err != nil {
		return err
	}
	if input.Padded {
		fmt.Fprintf(stderr, "note: the image was padded to sides that are multiples of %d and the result cropped back to %dx%d (--fit pad)\n", multiple, input.Width, input.Height)
	}
	if input.Cropped {
		fmt.Fprintf(stderr, "note: the measurement was cropped to fit: the result is %dx%d (--fit crop)\n", input.Width, input.Height)
	}
	if input.Gray {
		fmt.Fprintf(stderr, "note: the measurement is gray: it is restored as three equal channels and the result made gray again\n")
	}
	if reference != nil {
		if !input.Gray {
			reference = restore.ToRGB(reference)
		}
		if want := (restore.Shape{C: map[bool]int{true: 1, false: 3}[input.Gray], H: input.Height, W: input.Width}); reference.Shape != want {
			return fmt.Errorf("reference %s is %v but the restored image will be %v", *ref, reference.Shape, want)
		}
	}
	start := time.Now()
	var parts []*restore.Tensor
	for done, b := 0, uint64(0); done < *samples; b++ {
		n := min(*batch, *samples-done)
		p := input.Problem
		if n > 1 {
			p.Y = p.Y.Repeat(n)
		}
		sampler, err := s.Sampler(ms, p, *seed+b)
		if err != nil {
			return err
		}
		x, err := runSampler(ctx, m.Name, sampler, *trace, stderr)
		if err != nil {
			return err
		}
		parts = append(parts, x)
		done += n
	}
	result, err := restore.Stack(parts...)
	if err != nil {
		return err
	}
	if result, err = input.Output(result); err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	image := result
	if *samples > 1 {
		mean, std := restore.MeanStd(result)
		for i, path := range outs[2:] {
			if err := restore.SaveImage(path, result.Image(i), nil); err != nil {
				return err
			}
		}
		top := float32(0)
		for _, v := range std.Data {
			top = max(top, v)
		}
		stdImage := std.Clone()
		if top > 0 {
			for i := range stdImage.Data {
				stdImage.Data[i] /= top
			}
		}
		if err := restore.SaveImage(outs[1], stdImage, nil); err != nil {
			return err
		}
		image = mean
		fmt.Fprintf(stdout, "wrote %s (per-pixel standard deviation of the %d samples, divided by its largest value, %.4f) and %d samples (%s ...)\n", outs[1], *samples, top, *samples, outs[2])
	}
	if err := restore.SaveImage(*out, image, nil); err != nil {
		return err
	}
	what := m.Name
	if *samples > 1 {
		what = fmt.Sprintf("%s, mean of %d samples", m.Name, *samples)
	}
	fmt.Fprintf(stdout, "wrote %s (%v, %s, %.2fs)\n", *out, image.Shape, what, secs)
	if *trace != "" {
		fmt.Fprintf(stdout, "wrote %s\n", *trace)
	}
	if reference != nil {
		if *samples > 1 {
			var sum float64
			for i := range *samples {
				sum += restore.PSNR(result.Image(i).Data, reference.Data)
			}
			fmt.Fprintf(stdout, "samples: mean PSNR %.2f dB\n", sum/float64(*samples))
		}
		ssim, err := restore.SSIMTensor(image, reference)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "PSNR %.2f dB  SSIM %.4f\n", restore.PSNR(image.Data, reference.Data), ssim)
	}
	return nil
}

// measurementTask resolves the task and noise level of a measurement: the
// flags', the file's info's, or the task's default noise; a flag that
// contradicts the file is an error naming both.
func measurementTask(info *restore.MeasurementInfo, taskFlag string, sigmaFlag float64, path string) (restore.Task, float64, error) {
	if info == nil {
		if taskFlag == "" {
			return restore.Task{}, 0, fmt.Errorf("missing --task: %s does not record its task (a measurement .npz from 'restorelab degrade' does); give --task, one of %s", path, taskList())
		}
		return taskAndSigma(taskFlag, sigmaFlag)
	}
	if taskFlag != "" && taskFlag != info.Task {
		return restore.Task{}, 0, fmt.Errorf("--task %s contradicts %s, which was made with %s; leave --task out, or give %s", taskFlag, path, info.Task, info.Task)
	}
	if sigmaFlag != -1 && sigmaFlag != info.SigmaY {
		return restore.Task{}, 0, fmt.Errorf("--sigma-y %g contradicts %s, which was made with sigma_y %g; leave --sigma-y out, or give %g", sigmaFlag, path, info.SigmaY, info.SigmaY)
	}
	t, err := restore.LookupTask(info.Task)
	if err != nil {
		return restore.Task{}, 0, fmt.Errorf("%s: %w", path, err)
	}
	return t, info.SigmaY, nil
}

// samplePaths are where --samples writes the standard deviation and the
// samples, beside out.
func samplePaths(out string, n int) []string {
	ext := filepath.Ext(out)
	base := strings.TrimSuffix(out, ext)
	paths := []string{base + "_std" + ext}
	for i := range n {
		paths = append(paths, fmt.Sprintf("%s_sample%d%s", base, i+1, ext))
	}
	return paths
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
