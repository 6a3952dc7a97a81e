package bench

import (
	"fmt"
	"image"
	"os"
	"path/filepath"

	"github.com/restorelab/restorelab/restore"
	"github.com/restorelab/restorelab/viz"
)

// exampleRows is how many images the per-task example grids show.
const exampleRows = 3

// comparisonZoom is how many times the comparison figures enlarge their
// crop: a quarter of a 256x256 image comes out at 256x256.
const comparisonZoom = 4

// WriteFigures draws the study's figures into out/figures from the results,
// their summaries (with FID and KID attached when computed) and the images
// Run saved under out: per task a grid of examples (clean, degraded, each
// method) at full resolution, a comparison of the methods on the first
// image with a zoomed crop and each method's PSNR (viz.Comparison; crop, in
// the image's pixels, or where the methods differ most when crop is
// empty), PSNR and SSIM bars per task and method, and per task the
// quality-against-throughput scatter (FID when computed, else KID, else
// PSNR). Intermediate-result grids are saved by Run itself (see
// Config.StepGrids) and listed here too. It returns the paths of the figures.
func WriteFigures(out string, results []Result, sums []Summary, crop image.Rectangle) ([]string, error) {
	dir := filepath.Join(out, "figures")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create %s: %w", dir, err)
	}
	var paths []string
	save := func(name string, fig viz.Figure) error {
		p := filepath.Join(dir, name)
		paths = append(paths, p)
		return viz.SavePNG(p, fig)
	}
	for _, metric := range []struct {
		name, label string
		value       func(Summary) float64
	}{
		{"psnr", "PSNR (dB)", func(s Summary) float64 { return s.PSNR }},
		{"ssim", "SSIM", func(s Summary) float64 { return s.SSIM }},
	} {
		groups, series := viz.PivotBars(len(sums), func(i int) string { return sums[i].Task },
			func(i int) string { return sums[i].Method }, func(i int) float64 { return metric.value(sums[i]) })
		p, err := viz.BarChart(metric.label+" by task and method", metric.label, groups, series)
		if err != nil {
			return paths, err
		}
		if err := save(metric.name+"_bars.png", viz.FromPlot(p, 640, 360)); err != nil {
			return paths, err
		}
	}
	for _, task := range orderedTasks(sums) {
		var points []viz.ScatterPoint
		label, score := scatterScore(sums)
		for _, s := range sums {
			if s.Task == task && s.NFE > 0 && s.ImagesPerSecond > 0 {
				points = append(points, viz.ScatterPoint{Label: s.Method, ImagesPerSecond: s.ImagesPerSecond, Value: score(s)})
			}
		}
		if len(points) > 0 {
			p, err := viz.ScatterThroughput(task+": quality against speed", label, points)
			if err != nil {
				return paths, err
			}
			if err := save(task+"_throughput.png", viz.FromPlot(p, 480, 360)); err != nil {
				return paths, err
			}
		}
		grid, err := exampleGrid(out, task, results)
		if err != nil {
			return paths, err
		}
		if err := save(task+"_examples.png", viz.FromImage(grid)); err != nil {
			return paths, err
		}
		cmp, err := comparison(out, task, results, crop)
		if err != nil {
			return paths, err
		}
		if err := save(task+"_compare.png", viz.FromImage(cmp)); err != nil {
			return paths, err
		}
		for _, r := range results {
			if p := StepGridPath(out, r.Task, r.Image, r.Method); r.Task == task && fileExists(p) {
				paths = append(paths, p)
			}
		}
	}
	return paths, nil
}

// exampleGrid shows, for the first images of a task, the clean and
// degraded images and every method's restoration, read back from disk.
func exampleGrid(out, task string, results []Result) (*image.NRGBA, error) {
	var images, methods []string
	seenImage, seenMethod := map[string]bool{}, map[string]bool{}
	for _, r := range results {
		if r.Task != task {
			continue
		}
		if !seenImage[r.Image] && len(images) < exampleRows {
			seenImage[r.Image] = true
			images = append(images, r.Image)
		}
		if !seenMethod[r.Method] {
			seenMethod[r.Method] = true
			methods = append(methods, r.Method)
		}
	}
	cols := append([]string{"clean", "degraded"}, methods...)
	var cells [][]image.Image
	for _, name := range images {
		var row []image.Image
		for _, label := range cols {
			t, err := restore.LoadImage(ImagePath(out, task, name, label))
			if err != nil {
				return nil, fmt.Errorf("example grid: %w (rerun bench to recreate the images)", err)
			}
			img, err := viz.Image(t, 0, false)
			if err != nil {
				return nil, err
			}
			row = append(row, img)
		}
		cells = append(cells, row)
	}
	return viz.Grid(cells, images, cols, viz.GridOptions{})
}

// comparison shows the task's first image restored by every method, at full
// resolution over a zoomed crop, with each method's PSNR on it.
func comparison(out, task string, results []Result, crop image.Rectangle) (*image.NRGBA, error) {
	var mine []Result
	for _, r := range results {
		if r.Task == task && (len(mine) == 0 || r.Image == mine[0].Image) {
			mine = append(mine, r)
		}
	}
	if len(mine) == 0 {
		return nil, fmt.Errorf("comparison: no results for task %s", task)
	}
	load := func(label string) (*restore.Tensor, image.Image, error) {
		t, err := restore.LoadImage(ImagePath(out, task, mine[0].Image, label))
		if err != nil {
			return nil, nil, fmt.Errorf("comparison: %w (rerun bench to recreate the images)", err)
		}
		t = restore.ToRGB(t)
		img, err := viz.Image(t, 0, false)
		return t, img, err
	}
	names := []string{"clean", "degraded"}
	captions := []string{mine[0].Image, task}
	var images []image.Image
	var restored []*restore.Tensor
	for _, label := range names {
		_, img, err := load(label)
		if err != nil {
			return nil, err
		}
		images = append(images, img)
	}
	for _, r := range mine {
		t, img, err := load(r.Method)
		if err != nil {
			return nil, err
		}
		names, captions = append(names, r.Method), append(captions, fmt.Sprintf("%.2f dB", r.PSNR))
		images, restored = append(images, img), append(restored, t)
	}
	if crop.Empty() {
		s := restored[0].Shape
		side := max(min(s.H, s.W)/comparisonZoom, 1)
		var err error
		if len(restored) < 2 {
			crop = image.Rect(0, 0, side, side).Add(image.Pt((s.W-side)/2, (s.H-side)/2))
		} else if crop, err = viz.MostDifferentCrop(restored, side, side); err != nil {
			return nil, err
		}
	}
	g, err := viz.Comparison(names, captions, images, crop, comparisonZoom, viz.GridOptions{})
	if err != nil {
		return nil, fmt.Errorf("%s comparison of %s: %w; the results are saved: redraw with 'restorelab figures --out %s --crop X,Y,W,H'", task, mine[0].Image, err, out)
	}
	return g, nil
}

// scatterScore picks the study's quality measure for the throughput
// scatter: FID if every summary has it, else KID, else PSNR.
func scatterScore(sums []Summary) (string, func(Summary) float64) {
	all := func(get func(*Metrics) *float64) bool {
		for _, s := range sums {
			if s.Metrics == nil || get(s.Metrics) == nil {
				return false
			}
		}
		return len(sums) > 0
	}
	fid := func(m *Metrics) *float64 { return m.FID }
	kid := func(m *Metrics) *float64 { return m.KIDMean }
	switch {
	case all(fid):
		return "FID (lower is better)", func(s Summary) float64 { return *s.Metrics.FID }
	case all(kid):
		return "KID (lower is better)", func(s Summary) float64 { return *s.Metrics.KIDMean }
	}
	return "PSNR (dB)", func(s Summary) float64 { return s.PSNR }
}

func orderedTasks(sums []Summary) []string {
	var tasks []string
	seen := map[string]bool{}
	for _, s := range sums {
		if !seen[s.Task] {
			seen[s.Task] = true
			tasks = append(tasks, s.Task)
		}
	}
	return tasks
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
