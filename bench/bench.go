// Package bench runs the study's evaluation: it degrades clean images with
// each task, restores them with each method, and measures PSNR, SSIM,
// measurement consistency and throughput, and, from the saved images, FID
// and KID (see Distances), writing images, CSV and a Markdown table in the
// study's layout.
package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/restorelab/restorelab/restore"
	"github.com/restorelab/restorelab/viz"
)

// Method restores a measurement.
type Method interface {
	Name() string
	// Restore returns the restored images in [0, 1] and the number of
	// network evaluations it spent per image.
	Restore(ctx context.Context, task restore.Task, op restore.Operator, y *restore.Tensor, sigmaY float64, seed uint64) (*restore.Tensor, int, error)
}

// Baseline is the study's baseline: bicubic upsampling for super-resolution,
// the measurement otherwise (see restore.Task.Baseline).
type Baseline struct{}

// Name implements Method.
func (Baseline) Name() string { return "baseline" }

// Restore implements Method.
func (Baseline) Restore(_ context.Context, task restore.Task, op restore.Operator, y *restore.Tensor, _ float64, _ uint64) (*restore.Tensor, int, error) {
	x, err := task.Baseline(op, y)
	return x, 0, err
}

// DDRM restores with the DDRM sampler and a prior.
type DDRM struct {
	// Label names the method in results; "ddrm" when empty.
	Label  string
	Prior  restore.Denoiser
	Config restore.DDRMConfig
}

// Name implements Method.
func (m DDRM) Name() string {
	if m.Label == "" {
		return "ddrm"
	}
	return m.Label
}

// Restore implements Method.
func (m DDRM) Restore(ctx context.Context, task restore.Task, op restore.Operator, y *restore.Tensor, sigmaY float64, seed uint64) (*restore.Tensor, int, error) {
	return restoreWith(ctx, m, nil, task, op, y, sigmaY, seed)
}

// Sampler implements SamplerMethod.
func (m DDRM) Sampler(_ restore.Task, op restore.Operator, y *restore.Tensor, sigmaY float64, seed uint64) (restore.Sampler, error) {
	cfg := m.Config
	cfg.SigmaY, cfg.Seed = sigmaY, seed
	return restore.NewDDRM(m.Prior, op, y, cfg)
}

// SamplerMethod is a Method that restores with a step-by-step sampler, so
// Run can record its intermediate estimates.
type SamplerMethod interface {
	Method
	Sampler(task restore.Task, op restore.Operator, y *restore.Tensor, sigmaY float64, seed uint64) (restore.Sampler, error)
}

// restoreWith runs a sampler method's sampler to the end with hooks.
func restoreWith(ctx context.Context, m SamplerMethod, hooks []restore.Hook, task restore.Task, op restore.Operator, y *restore.Tensor, sigmaY float64, seed uint64) (*restore.Tensor, int, error) {
	s, err := m.Sampler(task, op, y, sigmaY, seed)
	if err != nil {
		return nil, 0, err
	}
	x, err := restore.Run(ctx, s, hooks...)
	return x, s.Len(), err
}

// Result is one restored image's scores.
type Result struct {
	Image  string  `json:"image"`
	Task   string  `json:"task"`
	Method string  `json:"method"`
	PSNR   float64 `json:"psnr"`
	SSIM   float64 `json:"ssim"`
	// Consistency is ||H x - y|| divided by the square root of the number
	// of measurement values: the per-value distance to the measurement.
	Consistency float64 `json:"consistency"`
	Seconds     float64 `json:"seconds"`
	NFE         int     `json:"nfe"`
}

func (r Result) key() string { return r.Image + "\x00" + r.Task + "\x00" + r.Method }

// Skip is an image that could not be evaluated, and why.
type Skip struct {
	Image  string `json:"image"`
	Reason string `json:"reason"`
}

// Config describes an evaluation.
type Config struct {
	Images  []string // clean image files
	Tasks   []string
	Methods []Method
	Out     string // output folder, created if missing
	Seed    uint64
	// StepGrids is the number of images, from the first, for which the
	// x0_hat of every step of each SamplerMethod is saved as a grid
	// (StepGridPath), the study's "intermediate results".
	StepGrids int
	// Done are results of an earlier run of the same configuration: the
	// restorations they cover are not redone.
	Done []Result
	// Progress is called before each restoration; may be nil.
	Progress func(done, total int, what string)
	// Save is called after each restoration with every result so far and
	// the images skipped so far, so that an interrupted run loses at most
	// one restoration; may be nil.
	Save func(results []Result, skipped []Skip) error
}

// Run evaluates every method on every task and image, saving the clean,
// degraded and restored images as PNG under Out/<task>/. Images that cannot
// be read are skipped and reported, and the run goes on. It returns every
// result (cfg.Done first) and the skipped images; on cancellation or failure
// it returns those so far with the error.
func Run(ctx context.Context, cfg Config) ([]Result, []Skip, error) {
	if len(cfg.Images) == 0 {
		return nil, nil, fmt.Errorf("no images to evaluate; point --data at a folder of PNG or JPEG files")
	}
	var tasks []restore.Task
	for _, name := range cfg.Tasks {
		t, err := restore.LookupTask(name)
		if err != nil {
			return nil, nil, err
		}
		tasks = append(tasks, t)
	}
	results := append([]Result(nil), cfg.Done...)
	finished := map[string]bool{}
	for _, r := range cfg.Done {
		finished[r.key()] = true
	}
	var skipped []Skip
	save := func() error {
		if cfg.Save == nil {
			return nil
		}
		return cfg.Save(results, skipped)
	}
	total, done := len(cfg.Images)*len(tasks)*len(cfg.Methods), 0
	for i, path := range cfg.Images {
		name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		x, err := restore.LoadImage(path)
		if err != nil {
			skipped = append(skipped, Skip{Image: path, Reason: err.Error()})
			done += len(tasks) * len(cfg.Methods)
			if err := save(); err != nil {
				return results, skipped, err
			}
			continue
		}
		x = restore.ToRGB(x)
		for _, task := range tasks {
			err := runTask(ctx, cfg, task, name, x, i < cfg.StepGrids, finished, func(r Result) error {
				results = append(results, r)
				return save()
			}, func(what string) {
				if cfg.Progress != nil {
					cfg.Progress(done, total, what)
				}
				done++
			})
			if err != nil {
				var bad *imageError
				if !errors.As(err, &bad) {
					return results, skipped, err
				}
				skipped = append(skipped, Skip{Image: path, Reason: err.Error()})
				if err := save(); err != nil {
					return results, skipped, err
				}
			}
		}
	}
	if cfg.Progress != nil {
		cfg.Progress(total, total, "done")
	}
	return results, skipped, nil
}

// imageError marks an image the task cannot take, such as one whose size
// the super-resolution factor does not divide: the image is skipped.
type imageError struct{ err error }

func (e *imageError) Error() string { return e.err.Error() }

// runTask degrades one image with a task and restores it with each method
// not yet finished, passing each result to add.
func runTask(ctx context.Context, cfg Config, task restore.Task, name string, x *restore.Tensor, recordSteps bool, finished map[string]bool, add func(Result) error, starting func(string)) error {
	dir := filepath.Join(cfg.Out, task.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cannot create output folder: %w", err)
	}
	var keep []bool
	if task.Name == "inpaint" {
		keep = restore.RandomInpaintMask(x.Shape.H, x.Shape.W, cfg.Seed)
	}
	op, err := task.Operator(x.Shape, keep)
	if err != nil {
		return &imageError{fmt.Errorf("%s: %w", name, err)}
	}
	y, err := restore.Degrade(op, x, task.SigmaY, cfg.Seed)
	if err != nil {
		return err
	}
	// Only the measurement has missing pixels: the clean image is saved
	// whole, as FID and KID read it back as the reference.
	if err := saveAll(dir, name, map[string]*restore.Tensor{"clean": x}, nil); err != nil {
		return err
	}
	if err := saveAll(dir, name, map[string]*restore.Tensor{"degraded": y.Clone().Clamp(0, 1)}, keep); err != nil {
		return err
	}
	for _, m := range cfg.Methods {
		starting(fmt.Sprintf("%s %s %s", name, task.Name, m.Name()))
		r := Result{Image: name, Task: task.Name, Method: m.Name()}
		if finished[r.key()] {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		start := time.Now()
		out, nfe, err := restoreOne(ctx, cfg.Out, m, task, op, y, name, cfg.Seed, recordSteps)
		if err != nil {
			return fmt.Errorf("%s on %s (%s): %w", m.Name(), name, task.Name, err)
		}
		r.Seconds, r.NFE = time.Since(start).Seconds(), nfe
		if r.SSIM, err = restore.SSIM(out.Data, x.Data, x.Shape); err != nil {
			return &imageError{fmt.Errorf("%s: %w", name, err)}
		}
		r.PSNR = restore.PSNR(out.Data, x.Data)
		r.Consistency = consistency(op, out, y)
		if err := saveAll(dir, name, map[string]*restore.Tensor{m.Name(): out}, nil); err != nil {
			return err
		}
		if err := add(r); err != nil {
			return err
		}
	}
	return nil
}

// restoreOne runs one method, saving its step grid when recordSteps is set
// and the method is a sampler.
func restoreOne(ctx context.Context, out string, m Method, task restore.Task, op restore.Operator, y *restore.Tensor, name string, seed uint64, recordSteps bool) (*restore.Tensor, int, error) {
	sm, ok := m.(SamplerMethod)
	if !recordSteps || !ok {
		return m.Restore(ctx, task, op, y, task.SigmaY, seed)
	}
	var steps []*restore.StepInfo
	x, nfe, err := restoreWith(ctx, sm, []restore.Hook{func(info *restore.StepInfo) error {
		steps = append(steps, info)
		return nil
	}}, task, op, y, task.SigmaY, seed)
	if err != nil {
		return nil, 0, err
	}
	grid, err := viz.StepGrid(steps, max(1, len(steps)/6), viz.GridOptions{CellHeight: 96})
	if err != nil {
		return nil, 0, err
	}
	return x, nfe, viz.SavePNG(StepGridPath(out, task.Name, name, m.Name()), viz.FromImage(grid))
}

// StepGridPath is where Run saves the intermediate estimates of a method on
// an image (see Config.StepGrids).
func StepGridPath(out, task, image, method string) string {
	return strings.TrimSuffix(ImagePath(out, task, image, method), ".png") + "_steps.png"
}

// ImagePath is where Run saves the image of one label (clean, degraded or a
// method's name) of one evaluated image. Colons and path separators in the
// label (ddrm:models/mine) become dashes, so it stays one file name.
func ImagePath(out, task, image, label string) string {
	return filepath.Join(out, task, image+"_"+labelFileName.Replace(label)+".png")
}

var labelFileName = strings.NewReplacer(":", "-", "/", "-", `\`, "-")

func saveAll(dir, name string, images map[string]*restore.Tensor, keep []bool) error {
	for label, t := range images {
		if err := restore.SaveImage(ImagePath(filepath.Dir(dir), filepath.Base(dir), name, label), t, keep); err != nil {
			return err
		}
	}
	return nil
}

// consistency is ||H x - y|| / sqrt(m) for a single image.
func consistency(op restore.Operator, x, y *restore.Tensor) float64 {
	hx := make([]float32, op.OutShape().Len())
	restore.ApplyH(op, hx, x.Data)
	var sum float64
	for i, v := range hx {
		d := float64(v - y.Data[i])
		sum += d * d
	}
	return math.Sqrt(sum / float64(len(hx)))
}

// Summary is the mean of one task and method over images.
type Summary struct {
	Task, Method            string
	Images                  int
	PSNR, SSIM, Consistency float64
	ImagesPerSecond, NFE    float64
	// Metrics are the task and method's FID and KID; nil when they were
	// not computed (see AttachMetrics).
	Metrics *Metrics
}

// Summarise averages results per task and method, in the tasks' order of
// first appearance and the methods' order within each.
func Summarise(results []Result) []Summary {
	type key struct{ task, method string }
	idx := map[key]int{}
	var out []Summary
	var secs []float64
	for _, r := range results {
		k := key{r.Task, r.Method}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, Summary{Task: r.Task, Method: r.Method})
			secs = append(secs, 0)
		}
		s := &out[i]
		s.Images++
		s.PSNR += r.PSNR
		s.SSIM += r.SSIM
		s.Consistency += r.Consistency
		s.NFE += float64(r.NFE)
		secs[i] += r.Seconds
	}
	for i := range out {
		n := float64(out[i].Images)
		out[i].PSNR /= n
		out[i].SSIM /= n
		out[i].Consistency /= n
		out[i].NFE /= n
		if secs[i] > 0 {
			out[i].ImagesPerSecond = n / secs[i]
		}
	}
	return out
}
