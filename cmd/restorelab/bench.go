package main

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/restorelab/restorelab/bench"
	"github.com/restorelab/restorelab/internal/progress"
	"github.com/restorelab/restorelab/method"
	"github.com/restorelab/restorelab/models"
	"github.com/restorelab/restorelab/restore"
)

const benchUsage = `bench --data DIR|FILE --out DIR [--tasks sr4,deblur,denoise,sr4-noisy] [--methods baseline,ddrm,...] [settings] [--limit N] [--fit pad|crop|error] [--shard I/N] [--inception MODEL]
       restorelab bench merge --out DIR [--inception MODEL]`

// inceptionHelp documents --inception for bench and bench merge.
const inceptionHelp = "feature network for FID and KID: a model name or folder of role inception (models/export/fid_inception.py writes one); computed from the saved images after the run; without it the FID and KID columns say n/a"

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "merge" {
		return runBenchMerge(ctx, args[1:], stdout, stderr)
	}
	fs := newFlagSet("bench", benchUsage, stderr)
	data := fs.String("data", "", "a clean image, or a folder of PNG/JPEG images (sorted by name)")
	out := fs.String("out", "", "output folder for images, results.json/.csv/.md (created if missing); rerunning resumes, and adds new images, tasks and methods")
	tasks := fs.String("tasks", strings.Join(restore.StudyTasks, ","), "comma-separated tasks")
	methods := fs.String("methods", "baseline,ddrm", "comma-separated methods ("+strings.Join(method.Names(), ", ")+"), each with options after colons: a model name or KEY=VALUE, e.g. ddrm:gaussian or ldm:steps=50:eta=0")
	limit := fs.Int("limit", 0, "evaluate at most this many images (0: all)")
	shard := fs.String("shard", "", "I/N: evaluate only every N-th image from the I-th (0-based), for job arrays; then 'bench merge'")
	inception := fs.String("inception", "", inceptionHelp)
	bootstrap := bootstrapFlag(fs)
	settings := addSettingFlags(fs)
	applyRuntime := runtimeFlags(fs)
	seed := fs.Uint64("seed", 0, "seed of the degradation noise and of the samplers")
	stepGrids := fs.Int("step-grids", 1, "save the intermediate estimates of this many images per task and sampler")
	fitName := fitFlag(fs)
	cropFlag := cropFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *bootstrap < 0 || *bootstrap == 1 {
		return fs.usageError("--bootstrap %d: give 0 for none, or at least 2 resamples", *bootstrap)
	}
	crop, err := parseCrop(*cropFlag)
	if err != nil {
		return fs.usageError("--crop: %v", err)
	}
	fit, err := method.ParseFit(*fitName)
	if err != nil {
		return fs.usageError("--fit: %v", err)
	}
	if err := applyRuntime(); err != nil {
		return err
	}
	if err := require(fs, "data", "out"); err != nil {
		return err
	}
	if *limit < 0 {
		return fmt.Errorf("--limit %d is negative; give the number of images to evaluate, or 0 for all", *limit)
	}
	taskNames := uniqueList(splitList(*tasks), "task", stderr)
	for _, name := range taskNames {
		if _, err := restore.LookupTask(name); err != nil {
			return err
		}
	}
	shardIndex, shards, err := parseShard(*shard)
	if err != nil {
		return err
	}
	images, err := listImages(*data, *limit)
	if err != nil {
		return err
	}
	names := bench.ImageNames(images)
	if images, err = bench.ShardImages(images, shardIndex, shards); err != nil {
		return err
	}
	if names, err = bench.ShardImages(names, shardIndex, shards); err != nil {
		return err
	}
	ms := models.NewCache(runtimeOptions)
	defer ms.Close()
	entries, identities, err := parseMethods(uniqueList(splitList(*methods), "method", stderr), settings, ms)
	if err != nil {
		return err
	}
	if *inception != "" && shards > 1 {
		return fmt.Errorf("--inception with --shard: FID and KID need the images of every shard; give --inception to 'restorelab bench merge' instead")
	}
	feats, err := openInception(*inception)
	if err != nil {
		return err
	}
	if feats != nil {
		defer feats.Close()
	}
	hashes, err := bench.HashFiles(images, names)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return fmt.Errorf("cannot create output folder %s: %w", *out, err)
	}
	run := bench.Settings{Seed: *seed, Fit: fit, Methods: identities, Images: hashes}
	resultsPath := filepath.Join(*out, bench.ResultsName(shardIndex, shards))
	previous, err := bench.Load(resultsPath)
	if err != nil {
		return err
	}
	var done []bench.Result
	var skippedBefore []bench.Skip
	if previous != nil {
		if err := previous.Compatible(run); err != nil {
			return fmt.Errorf("%s: %w", resultsPath, err)
		}
		done, skippedBefore = previous.Results, previous.Skipped
		run = previous.Settings.Merge(run)
		fmt.Fprintf(stderr, "resuming: %d restorations already in %s\n", len(done), resultsPath)
	}
	// Write the file before any work, so an unwritable folder fails at once.
	if err := (&bench.File{Settings: run, Data: *data, Results: done, Skipped: skippedBefore}).Save(resultsPath); err != nil {
		return err
	}
	bar := progress.New(stderr, "bench", len(images)*len(taskNames)*len(entries))
	results, skipped, err := bench.Run(ctx, bench.Config{
		Images: images, Names: names, Tasks: taskNames, Methods: entries, Models: ms, Out: *out, Seed: *seed, Fit: fit, Done: done, StepGrids: *stepGrids,
		Progress: func(n, total int, what string) { bar.Set(n, what) },
		Save: func(rs []bench.Result, sk []bench.Skip) error {
			return (&bench.File{Settings: run, Data: *data, Results: rs, Skipped: sk}).Save(resultsPath)
		},
	})
	bar.Finish()
	for _, s := range skipped {
		fmt.Fprintf(stderr, "skipped %s\n", s)
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintf(stderr, "interrupted: %d restorations saved in %s; rerun the same command to resume\n", len(results), resultsPath)
		return errInterrupted
	}
	if err != nil {
		return err
	}
	if shards > 1 {
		fmt.Fprintf(stdout, "wrote %s (shard %d of %d); when every shard is done: restorelab bench merge --out %s\n", resultsPath, shardIndex, shards, *out)
		return nil
	}
	f := &bench.File{Settings: run, Data: *data, Results: results, Skipped: skipped}
	return finishBench(ctx, *out, f, reportOptions{feats, crop, *bootstrap}, stdout, stderr)
}

// openInception opens the feature network of --inception, or returns nil
// when none is given.
func openInception(name string) (*models.Inception, error) {
	if name == "" {
		return nil, nil
	}
	return models.OpenInception(name, runtimeOptions)
}

// finishBench computes FID and KID when a feature network is given, saves
// f as results.json and writes the reports.
// reportOptions are the flags that shape bench's reports: the feature
// network for FID and KID (nil: none), the comparison figures' crop and the
// bootstrap resamples.
type reportOptions struct {
	feats     *models.Inception
	crop      image.Rectangle
	bootstrap int
}

func finishBench(ctx context.Context, out string, f *bench.File, opt reportOptions, stdout, stderr io.Writer) error {
	feats, bootstrap := opt.feats, opt.bootstrap
	if feats != nil {
		var bar *progress.Bar
		metrics, err := bench.Distances(ctx, out, f.Results, feats, bench.DistanceOptions{Seed: f.Settings.Seed, Bootstrap: bootstrap, Progress: func(n, total int, what string) {
			if bar == nil {
				bar = progress.New(stderr, "FID/KID", total)
			}
			bar.Set(n, what)
		}})
		if bar != nil {
			bar.Finish()
		}
		if errors.Is(err, context.Canceled) {
			fmt.Fprintf(stderr, "interrupted while computing FID and KID; the restorations are saved: rerun the same command to compute them\n")
			return errInterrupted
		}
		if err != nil {
			return err
		}
		f.Inception, f.Metrics = feats.Manifest().Name, metrics
		fewest, dim := 0, 0
		for _, m := range metrics {
			if m.FewImages && (fewest == 0 || m.Images < fewest) {
				fewest, dim = m.Images, m.Features
			}
		}
		if fewest > 0 {
			fmt.Fprintf(stderr, "note: %s\n", bench.FewImagesNote(fewest, dim))
		}
	}
	if err := f.Save(filepath.Join(out, bench.ResultsName(0, 1))); err != nil {
		return err
	}
	return writeReports(out, f, opt.crop, stdout, stderr)
}

// errInterrupted is a cancelled run whose partial results were saved.
var errInterrupted = fmt.Errorf("%w; partial results were kept", context.Canceled)

func runBenchMerge(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench merge", "bench merge --out DIR [--inception MODEL]", stderr)
	out := fs.String("out", "", "the folder the shards wrote to")
	inception := fs.String("inception", "", inceptionHelp)
	bootstrap := bootstrapFlag(fs)
	cropFlag := cropFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := require(fs, "out"); err != nil {
		return err
	}
	if *bootstrap < 0 || *bootstrap == 1 {
		return fs.usageError("--bootstrap %d: give 0 for none, or at least 2 resamples", *bootstrap)
	}
	crop, err := parseCrop(*cropFlag)
	if err != nil {
		return fs.usageError("--crop: %v", err)
	}
	merged, err := bench.Merge(*out)
	if err != nil {
		return err
	}
	feats, err := openInception(*inception)
	if err != nil {
		return err
	}
	if feats != nil {
		defer feats.Close()
	}
	return finishBench(ctx, *out, merged, reportOptions{feats, crop, *bootstrap}, stdout, stderr)
}

func writeReports(out string, f *bench.File, crop image.Rectangle, stdout, stderr io.Writer) error {
	results := f.Results
	summaries := bench.Summarise(results)
	bench.AttachMetrics(summaries, f.Metrics)
	if err := bench.WriteCSV(out, results); err != nil {
		return err
	}
	if err := bench.WriteSummaryCSV(out, summaries); err != nil {
		return err
	}
	if err := bench.WriteMarkdown(out, summaries, f.Skipped); err != nil {
		return err
	}
	fmt.Fprint(stdout, bench.Markdown(summaries, f.Skipped))
	if _, err := bench.WriteSets(out, results); err != nil {
		return err
	}
	figures, err := bench.WriteFigures(out, results, summaries, crop)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nwrote %s: images per task, results.json, results.csv, summary.csv, results.md, %d figures in %s, and the images as sets in %s (one folder per task and method, for 'restorelab metrics' or pytorch-fid)\n", out, len(figures), filepath.Join(out, "figures"), filepath.Join(out, "sets"))
	return nil
}

func runFigures(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("figures", "figures --out DIR [--crop X,Y,W,H]", stderr)
	out := fs.String("out", "", "a folder 'restorelab bench' wrote")
	cropFlag := cropFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	crop, err := parseCrop(*cropFlag)
	if err != nil {
		return fs.usageError("--crop: %v", err)
	}
	if err := require(fs, "out"); err != nil {
		return err
	}
	f, err := bench.Load(filepath.Join(*out, bench.ResultsName(0, 1)))
	if err != nil {
		return err
	}
	if f == nil {
		return fmt.Errorf("%s has no results.json; run 'restorelab bench --out %s' (or 'bench merge') first", *out, *out)
	}
	summaries := bench.Summarise(f.Results)
	bench.AttachMetrics(summaries, f.Metrics)
	paths, err := bench.WriteFigures(*out, f.Results, summaries, crop)
	if err != nil {
		return err
	}
	for _, p := range paths {
		fmt.Fprintln(stdout, p)
	}
	return nil
}

// parseMethods turns method specs into bench entries with the settings
// flags applied, and their identities, opening every model they name so
// that a missing one fails before any work. A flag no method has is an
// error.
func parseMethods(specs []string, sf *settingFlags, ms method.Models) ([]bench.Entry, map[string]map[string]string, error) {
	if len(specs) == 0 {
		return nil, nil, fmt.Errorf("no methods given; e.g. --methods baseline,ddrm")
	}
	var entries []bench.Entry
	ids := map[string]map[string]string{}
	used := map[string]bool{}
	for _, spec := range specs {
		s, err := parseMethodSpec(spec, sf)
		if err != nil {
			return nil, nil, err
		}
		for k := range sf.given {
			used[k] = used[k] || s.Has(k)
		}
		if ids[spec], err = s.Identity(ms); err != nil {
			return nil, nil, fmt.Errorf("--methods %s: %w", spec, err)
		}
		entries = append(entries, bench.Entry{Label: spec, Settings: s})
	}
	for k, u := range used {
		if !u {
			return nil, nil, fmt.Errorf("--%s: none of the methods has that setting (%s has it)", strings.ReplaceAll(k, "_", "-"), methodNames(method.With(k)))
		}
	}
	return entries, ids, nil
}

func methodNames(ms []*method.Method) string {
	var names []string
	for _, m := range ms {
		names = append(names, m.Name)
	}
	return strings.Join(names, ", ")
}

// uniqueList drops repeated entries, saying so on stderr.
func uniqueList(items []string, what string, stderr io.Writer) []string {
	var out []string
	seen := map[string]bool{}
	for _, it := range items {
		if seen[it] {
			fmt.Fprintf(stderr, "note: %s %s is listed twice; running it once\n", what, it)
			continue
		}
		seen[it] = true
		out = append(out, it)
	}
	return out
}

// bootstrapFlag adds --bootstrap.
func bootstrapFlag(fs *flagSet) *int {
	return fs.Int("bootstrap", 0, "with --inception: resample the images this many times (e.g. 200) for a 95% interval of FID and a spread of KID (0: none; KID's spread is then over its subsets, n/a when each subset is the whole set)")
}

// cropFlag adds --crop, the zoomed window of the comparison figures.
func cropFlag(fs *flagSet) *string {
	return fs.String("crop", "", "X,Y,W,H: the window, in the clean image's pixels, that the comparison figures (TASK_compare.png) enlarge; default: where the methods differ most")
}

// parseCrop reads X,Y,W,H; "" is the empty rectangle (choose
// automatically).
func parseCrop(s string) (image.Rectangle, error) {
	if s == "" {
		return image.Rectangle{}, nil
	}
	var x, y, w, h int
	if n, err := fmt.Sscanf(s, "%d,%d,%d,%d", &x, &y, &w, &h); err != nil || n != 4 || x < 0 || y < 0 || w < 1 || h < 1 {
		return image.Rectangle{}, fmt.Errorf("%q is not X,Y,W,H with X, Y >= 0 and W, H >= 1, e.g. 96,64,64,64", s)
	}
	return image.Rect(x, y, x+w, y+h), nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func parseShard(s string) (i, n int, err error) {
	if s == "" {
		return 0, 1, nil
	}
	if _, err := fmt.Sscanf(s, "%d/%d", &i, &n); err != nil || n < 1 || i < 0 || i >= n {
		return 0, 0, fmt.Errorf("--shard %q is not I/N with 0 <= I < N, e.g. 0/4", s)
	}
	return i, n, nil
}

// listImages returns path itself if it is a file, else the PNG and JPEG
// files in the folder, sorted, at most limit of them when limit > 0.
func listImages(path string, limit int) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("data %s does not exist; give an image or a folder of images", path)
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	files, err := bench.ListImages(path)
	if err != nil {
		return nil, err
	}
	if limit > 0 && len(files) > limit {
		files = files[:limit]
	}
	return files, nil
}
