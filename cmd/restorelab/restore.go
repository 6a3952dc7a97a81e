package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/restorelab/restorelab/internal/progress"
	"github.com/restorelab/restorelab/restore"
)

func runRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("restore", "restore --task T --in Y --out X [--method ddrm|baseline|ldm|ddrm-ldm] [--model NAME|PATH] [--ldm-model NAME|PATH] [flags]", stderr)
	taskName := fs.String("task", "", "task the measurement was degraded with: "+taskList())
	in := fs.String("in", "", "measurement: .png/.jpg (8-bit: its rounding noise is added to sigma_y) or .npy (exact)")
	out := fs.String("out", "", "restored image: .png (clipped to [0,1], 8-bit) or .npy (float32)")
	method := fs.String("method", "ddrm", "ddrm, baseline (bicubic for SR, the measurement for deblur/denoise, H^+ y otherwise), ldm (SRLDM on the measurement downsampled to 1/4 if it is not already) or ddrm-ldm (SRLDM kept consistent with the measurement)")
	model := fs.String("model", defaultModel, "prior: a model name or a model folder / .onnx path; 'gaussian' is the analytic prior")
	cfg := ddrmFlags(fs)
	ldm := ldmFlags(fs)
	sigma := sigmaFlag(fs)
	fs.Uint64Var(&cfg.Seed, "seed", 0, "seed of the sampler's noise: the same seed gives the same output")
	trace := fs.String("trace", "", "write every step's x_t, x0_hat and x_next to this .npz (numpy.load reads it)")
	mask := fs.String("mask", "", "inpaint: mask image (white = kept), if the measurement does not mark missing pixels")
	ref := fs.String("ref", "", "clean image: print PSNR and SSIM of the result against it")
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
	switch *method {
	case "ddrm", "baseline", "ldm", "ddrm-ldm":
	default:
		return fmt.Errorf("unknown method %q; use ddrm, baseline, ldm or ddrm-ldm", *method)
	}
	if err := checkOutputPath(*out); err != nil {
		return err
	}
	if *trace != "" {
		if *method == "baseline" {
			return fmt.Errorf("--trace records sampler steps; the baseline has none")
		}
		if err := checkOutputPath(*trace, ".npz"); err != nil {
			return err
		}
	}
	y, keep, err := restore.LoadMeasurement(*in)
	if err != nil {
		return err
	}
	clean, err := task.CleanShape(y.Shape)
	if err != nil {
		return err
	}
	if keep == nil && *mask != "" {
		if keep, err = taskMask(task, *mask, clean, 0); err != nil {
			return err
		}
	}
	op, err := task.Operator(clean, keep)
	if err != nil {
		return err
	}
	var reference *restore.Tensor
	if *ref != "" {
		if reference, err = restore.LoadImage(*ref); err != nil {
			return err
		}
		if reference = restore.ToRGB(reference); reference.Shape != clean {
			return fmt.Errorf("reference %s is %v but the restored image will be %v", *ref, reference.Shape, clean)
		}
	}

	start := time.Now()
	var result *restore.Tensor
	cfg.SigmaY = restore.MeasurementSigma(sigmaY, isEightBit(*in))
	switch *method {
	case "baseline":
		result, err = task.Baseline(op, y)
	case "ddrm":
		result, err = restoreDDRM(ctx, *model, op, y, *cfg, *trace, stderr)
	default:
		result, err = restoreLDM(ctx, *method, ldm, task, op, y, *cfg, *trace, stderr)
	}
	if err != nil {
		return err
	}
	if err := restore.SaveImage(*out, result, nil); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%v, %s, %.1fs)\n", *out, result.Shape, *method, time.Since(start).Seconds())
	if *trace != "" {
		fmt.Fprintf(stdout, "wrote %s\n", *trace)
	}
	if reference != nil {
		ssim, err := restore.SSIM(result.Data, reference.Data, clean)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "PSNR %.2f dB  SSIM %.4f\n", restore.PSNR(result.Data, reference.Data), ssim)
	}
	return nil
}

func restoreDDRM(ctx context.Context, model string, op restore.Operator, y *restore.Tensor, cfg restore.DDRMConfig, tracePath string, stderr io.Writer) (*restore.Tensor, error) {
	den, err := openModel(model)
	if err != nil {
		return nil, err
	}
	d, err := restore.NewDDRM(den, op, y, cfg)
	if err != nil {
		return nil, err
	}
	return runSampler(ctx, "ddrm", d, d.Measurement(), tracePath, stderr)
}

// restoreLDM restores with SRLDM (method ldm) or DDRM-LDM (ddrm-ldm).
func restoreLDM(ctx context.Context, method string, s *ldmSettings, task restore.Task, op restore.Operator, y *restore.Tensor, cfg restore.DDRMConfig, tracePath string, stderr io.Writer) (*restore.Tensor, error) {
	l, err := openLDM(s.model)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	low, err := restore.LowResInput(task, op, y, l.Autoencoder.Factor())
	if err != nil {
		return nil, err
	}
	ddim := s.ddim
	ddim.Seed = cfg.Seed
	if method == "ldm" {
		sampler, err := restore.NewLDMSR(l.UNet, l.Autoencoder, low, ddim)
		if err != nil {
			return nil, err
		}
		return runSampler(ctx, method, sampler, sampler.LowRes(), tracePath, stderr)
	}
	sampler, err := restore.NewDDRMLDM(l.UNet, l.Autoencoder, low, op, y, s.hybridConfig(cfg))
	if err != nil {
		return nil, err
	}
	return runSampler(ctx, method, sampler, sampler.Measurement(), tracePath, stderr)
}

// runSampler runs s to the end with a progress bar, and writes its trace,
// with y as the measurement, when tracePath is set.
func runSampler(ctx context.Context, name string, s restore.Sampler, y *restore.Tensor, tracePath string, stderr io.Writer) (*restore.Tensor, error) {
	bar := progress.New(stderr, name, s.Len())
	hooks := []restore.Hook{func(info *restore.StepInfo) error {
		bar.Set(info.Index+1, fmt.Sprintf("t=%d", info.T))
		return nil
	}}
	var tr *restore.Trace
	if tracePath != "" {
		tr = restore.NewTrace()
		hooks = append(hooks, tr.Hook)
	}
	result, err := restore.Run(ctx, s, hooks...)
	bar.Finish()
	if err != nil {
		return nil, err
	}
	if tr != nil {
		if err := tr.Write(tracePath, y, result); err != nil {
			return nil, err
		}
	}
	return result, nil
}

func isEightBit(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".png", ".jpg", ".jpeg":
		return true
	}
	return false
}
