// Package bench runs the study's evaluation: it degrades clean images with
// each task, restores them with each method of package method, and
// measures PSNR, SSIM, measurement consistency and throughput, and, from the
// saved images, FID and KID (see Distances), writing images, CSV and a
// Markdown table in the study's layout.
package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/restorelab/restorelab/method"
	"github.com/restorelab/restorelab/restore"
	"github.com/restorelab/restorelab/viz"
)

// Entry is one method of an evaluation, under the label its results carry.
type Entry struct {
	// Label names the method in results, tables and file names, such as
	// "ddrm" or "ddrm:gaussian".
	Label    string
	Settings method.Settings
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
	// Seconds is the restoration alone: the sampler and its network
	// evaluations, without saving images or drawing step grids.
	Seconds float64 `json:"seconds"`
	// RenderSeconds is the time spent drawing and saving the step grid.
	RenderSeconds float64 `json:"render_seconds,omitempty"`
	NFE           int     `json:"nfe"`
	// Fitted says how the image was fitted to the sides the task and
	// methods take (see Config.Fit): "padded" or "cropped", empty when it
	// fitted as it was.
	Fitted string `json:"fitted,omitempty"`
}

func (r Result) key() string { return r.Image + "\x00" + r.Task + "\x00" + r.Method }

// Skip is an image, or one task or method on it, that could not be
// evaluated, and why. Task and Method are empty when the image itself
// could not be read.
type Skip struct {
	Image  string `json:"image"`
	Task   string `json:"task,omitempty"`
	Method string `json:"method,omitempty"`
	Reason string `json:"reason"`
}

// Config describes an evaluation.
type Config struct {
	// Images are the clean image files; Names gives each its name in
	// results and file names (see ImageNames), nil for ImageNames(Images).
	Images, Names []string
	Tasks         []string
	Methods       []Entry
	// Models opens the networks the methods' settings name.
	Models method.Models
	Out    string // output folder, created if missing
	Seed   uint64
	// Fit says what to do with images whose sides the task's operator or a
	// method's network do not take; "" is method.FitPad. Every method of a
	// task restores the same measurement, made from the image fitted to all
	// their sides at once; padded restorations are cropped back before they
	// are scored.
	Fit method.Fit
	// StepGrids is the number of images, from the first, for which the
	// x0_hat of every step of each sampler is saved as a grid
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
// degraded and restored images as PNG under Out/<task>/. An image that
// cannot be read, a task it does not fit or a method that fails on it is
// recorded as skipped, and the run goes on; only cancellation and failures
// to write stop it. It returns every result (cfg.Done first) and the
// skips; on cancellation or failure it returns those so far with the error.
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
	names := cfg.Names
	if names == nil {
		names = ImageNames(cfg.Images)
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
		name := names[i]
		x, err := restore.LoadImage(path)
		if err != nil {
			skipped = append(skipped, Skip{Image: name, Reason: err.Error()})
			done += len(tasks) * len(cfg.Methods)
			if err := save(); err != nil {
				return results, skipped, err
			}
			continue
		}
		x = restore.ToRGB(x)
		for _, task := range tasks {
			r := taskRun{cfg: cfg, task: task, name: name, clean: x, recordSteps: i < cfg.StepGrids, finished: finished}
			err := r.run(ctx, func(res Result) error {
				results = append(results, res)
				return save()
			}, func(sk Skip) error {
				skipped = append(skipped, sk)
				return save()
			}, func(what string) {
				if cfg.Progress != nil {
					cfg.Progress(done, total, what)
				}
				done++
			})
			if err != nil {
				return results, skipped, err
			}
		}
	}
	if cfg.Progress != nil {
		cfg.Progress(total, total, "done")
	}
	return results, skipped, nil
}

// ImageNames names images by their file names without extension, and with
// it where two files would otherwise share a name (cat.png and cat.jpg
// become cat_png and cat_jpg).
func ImageNames(paths []string) []string {
	stem := func(p string) string { return strings.TrimSuffix(filepath.Base(p), filepath.Ext(p)) }
	count := map[string]int{}
	for _, p := range paths {
		count[stem(p)]++
	}
	names := make([]string, len(paths))
	used := map[string]bool{}
	for i, p := range paths {
		n := stem(p)
		if count[n] > 1 {
			n += "_" + strings.ToLower(strings.TrimPrefix(filepath.Ext(p), "."))
		}
		for base, k := n, 2; used[n]; k++ {
			n = fmt.Sprintf("%s_%d", base, k)
		}
		used[n] = true
		names[i] = n
	}
	return names
}

// taskRun is one image and one task of an evaluation.
type taskRun struct {
	cfg         Config
	task        restore.Task
	name        string
	clean       *restore.Tensor
	recordSteps bool
	finished    map[string]bool
}

// run degrades the image with the task and restores it with each method
// not yet finished, passing each result to add and each failure to skip.
func (r taskRun) run(ctx context.Context, add func(Result) error, skip func(Skip) error, starting func(string)) error {
	dir := filepath.Join(r.cfg.Out, r.task.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cannot create output folder: %w", err)
	}
	p, fitted, err := r.measure()
	if err != nil {
		for range r.cfg.Methods {
			starting(fmt.Sprintf("%s %s", r.name, r.task.Name))
		}
		return skip(Skip{Image: r.name, Task: r.task.Name, Reason: err.Error()})
	}
	keep := p.Keep
	// Only the measurement has missing pixels: the clean image is saved
	// whole, as FID and KID read it back as the reference.
	if err := restore.SaveImage(ImagePath(r.cfg.Out, r.task.Name, r.name, "clean"), r.clean, nil); err != nil {
		return err
	}
	if err := restore.SaveImage(ImagePath(r.cfg.Out, r.task.Name, r.name, "degraded"), p.Y.Clone().Clamp(0, 1), keep); err != nil {
		return err
	}
	for _, m := range r.cfg.Methods {
		starting(fmt.Sprintf("%s %s %s", r.name, r.task.Name, m.Label))
		res := Result{Image: r.name, Task: r.task.Name, Method: m.Label, Fitted: fitted}
		if r.finished[res.key()] {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := r.restore(ctx, m, p, &res); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err := skip(Skip{Image: r.name, Task: r.task.Name, Method: m.Label, Reason: err.Error()}); err != nil {
				return err
			}
			continue
		}
		if err := add(res); err != nil {
			return err
		}
	}
	return nil
}

// measure fits the clean image to the sides every method takes, as
// Config.Fit says, and degrades it with the task. It returns how the image
// was fitted (see Result.Fitted); r.clean becomes the image the
// restorations are scored against: cropped when cropping, as it was when
// padding.
func (r *taskRun) measure() (method.Problem, string, error) {
	var all []method.Settings
	for _, e := range r.cfg.Methods {
		all = append(all, e.Settings)
	}
	m := method.CommonMultiple(r.cfg.Models, r.task, all...)
	fit := r.cfg.Fit
	if fit == "" {
		fit = method.FitPad
	}
	p, info, err := method.DegradeFitted(r.task, r.clean, "", r.task.SigmaY, r.cfg.Seed, fit, m)
	if err != nil {
		return method.Problem{}, "", err
	}
	switch s := r.clean.Shape; {
	case info.PadBottom+info.PadRight > 0:
		return p, "padded", nil
	case info.Height != s.H || info.Width != s.W:
		r.clean, err = restore.Crop(r.clean, info.Height, info.Width)
		return p, "cropped", err
	}
	return p, "", nil
}

// restore runs one method on the problem, scores it into res and saves
// its image and, when recording steps, its step grid.
func (r taskRun) restore(ctx context.Context, m Entry, p method.Problem, res *Result) error {
	sampler, err := m.Settings.Sampler(r.cfg.Models, p, r.cfg.Seed)
	if err != nil {
		return err
	}
	var steps []*restore.StepInfo
	var hooks []restore.Hook
	run := restore.RunTransient
	if r.recordSteps && sampler.Len() > 0 {
		hooks = append(hooks, func(info *restore.StepInfo) error {
			steps = append(steps, info)
			return nil
		})
		run = restore.Run
	}
	start := time.Now()
	out, err := run(ctx, sampler, hooks...)
	if err != nil {
		return err
	}
	res.Seconds, res.NFE = time.Since(start).Seconds(), sampler.Len()
	res.Consistency = restore.Consistency(p.Op, out, p.Y)
	if res.Fitted == "padded" {
		if out, err = restore.Crop(out, r.clean.Shape.H, r.clean.Shape.W); err != nil {
			return err
		}
	}
	if res.SSIM, err = restore.SSIM(out.Data, r.clean.Data, r.clean.Shape); err != nil {
		return err
	}
	res.PSNR = restore.PSNR(out.Data, r.clean.Data)
	if err := restore.SaveImage(ImagePath(r.cfg.Out, r.task.Name, r.name, m.Label), out, nil); err != nil {
		return err
	}
	if len(steps) == 0 {
		return nil
	}
	start = time.Now()
	grid, err := viz.StepGrid(steps, max(1, len(steps)/6), viz.GridOptions{CellHeight: 96})
	if err != nil {
		return err
	}
	if err := viz.SavePNG(StepGridPath(r.cfg.Out, r.task.Name, r.name, m.Label), viz.FromImage(grid)); err != nil {
		return err
	}
	res.RenderSeconds = time.Since(start).Seconds()
	return nil
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

// Summary is the mean of one task and method over images.
type Summary struct {
	Task, Method            string
	Images                  int
	PSNR, SSIM, Consistency float64
	ImagesPerSecond, NFE    float64
	// Padded and Cropped count the images fitted to the sides the task and
	// methods take (see Result.Fitted).
	Padded, Cropped int
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
		switch r.Fitted {
		case "padded":
			s.Padded++
		case "cropped":
			s.Cropped++
		}
		secs[i] += r.Seconds
	}
	// Group by task, in the order of first appearance, which resumed and
	// merged runs can interleave.
	taskOrder := map[string]int{}
	for _, s := range out {
		if _, ok := taskOrder[s.Task]; !ok {
			taskOrder[s.Task] = len(taskOrder)
		}
	}
	order := make([]int, len(out))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return taskOrder[out[order[a]].Task] < taskOrder[out[order[b]].Task] })
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
	grouped := make([]Summary, len(out))
	for i, k := range order {
		grouped[i] = out[k]
	}
	return grouped
}
