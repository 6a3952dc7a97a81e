package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/restorelab/restorelab/bench"
	"github.com/restorelab/restorelab/internal/progress"
	"github.com/restorelab/restorelab/models"
	"github.com/restorelab/restorelab/restore"
)

const benchUsage = `bench --data DIR|FILE --out DIR [--tasks sr4,deblur,denoise,sr4-noisy] [--methods baseline,ddrm,ldm,ddrm-ldm] [--limit N] [--shard I/N] [--inception MODEL]
       restorelab bench merge --out DIR [--inception MODEL]`

// inceptionHelp documents --inception for bench and bench merge.
const inceptionHelp = "feature network for FID and KID: a model name or folder of role inception (models/export/fid_inception.py writes one); computed from the saved images after the run; without it the FID and KID columns say n/a"

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "merge" {
		return runBenchMerge(ctx, args[1:], stdout, stderr)
	}
	fs := newFlagSet("bench", benchUsage, stderr)
	data := fs.String("data", "", "a clean image, or a folder of PNG/JPEG images (sorted by name)")
	out := fs.String("out", "", "output folder for images, results.json/.csv/.md (created if missing); rerunning resumes")
	tasks := fs.String("tasks", strings.Join(restore.StudyTasks, ","), "comma-separated tasks")
	methods := fs.String("methods", "baseline,ddrm", "comma-separated methods: baseline, ddrm (with --model), ddrm:MODEL, ldm and ddrm-ldm (with --ldm-model), ldm:MODEL, ddrm-ldm:MODEL")
	limit := fs.Int("limit", 0, "evaluate at most this many images (0: all)")
	shard := fs.String("shard", "", "I/N: evaluate only every N-th image from the I-th (0-based), for job arrays; then 'bench merge'")
	model := fs.String("model", defaultModel, "prior of the plain ddrm method: a model name or path")
	inception := fs.String("inception", "", inceptionHelp)
	cfg := ddrmFlags(fs)
	ldm := ldmFlags(fs)
	seed := fs.Uint64("seed", 0, "seed of the degradation noise and of the sampler")
	stepGrids := fs.Int("step-grids", 1, "save the intermediate estimates of this many images per task and sampler")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := require(fs, "data", "out"); err != nil {
		return err
	}
	if err := cfg.Validate(1000); err != nil {
		return err
	}
	taskNames := splitList(*tasks)
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
	if images, err = bench.ShardImages(images, shardIndex, shards); err != nil {
		return err
	}
	ms, err := parseMethods(splitList(*methods), *model, *cfg, ldm)
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
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return fmt.Errorf("cannot create output folder %s: %w", *out, err)
	}
	settings := bench.Settings{Data: *data, Limit: *limit, Tasks: taskNames, Methods: splitList(*methods), Seed: *seed, Steps: cfg.Steps, Eta: cfg.Eta, EtaB: cfg.EtaB}
	for _, m := range ms {
		switch m.(type) {
		case bench.LDM, bench.DDRMLDM:
			settings.LDMSteps, settings.LDMEta = ldm.ddim.Steps, ldm.ddim.Eta
		}
	}
	resultsPath := filepath.Join(*out, bench.ResultsName(shardIndex, shards))
	previous, err := bench.Load(resultsPath)
	if err != nil {
		return err
	}
	var done []bench.Result
	if previous != nil {
		if err := previous.Compatible(settings); err != nil {
			return fmt.Errorf("%s: %w", resultsPath, err)
		}
		done = previous.Results
		fmt.Fprintf(stderr, "resuming: %d restorations already in %s\n", len(done), resultsPath)
	}
	// Write the file before any work, so an unwritable folder fails at once.
	if err := (&bench.File{Settings: settings, Results: done}).Save(resultsPath); err != nil {
		return err
	}
	bar := progress.New(stderr, "bench", len(images)*len(taskNames)*len(ms))
	results, skipped, err := bench.Run(ctx, bench.Config{
		Images: images, Tasks: taskNames, Methods: ms, Out: *out, Seed: *seed, Done: done, StepGrids: *stepGrids,
		Progress: func(n, total int, what string) { bar.Set(n, what) },
		Save: func(rs []bench.Result, sk []bench.Skip) error {
			return (&bench.File{Settings: settings, Results: rs, Skipped: sk}).Save(resultsPath)
		},
	})
	bar.Finish()
	for _, s := range skipped {
		fmt.Fprintf(stderr, "skipped %s: %s\n", s.Image, s.Reason)
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
	f := &bench.File{Settings: settings, Results: results, Skipped: skipped}
	return finishBench(ctx, *out, f, feats, stdout, stderr)
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
func finishBench(ctx context.Context, out string, f *bench.File, feats *models.Inception, stdout, stderr io.Writer) error {
	if feats != nil {
		var bar *progress.Bar
		metrics, err := bench.Distances(ctx, out, f.Results, feats, f.Settings.Seed, func(n, total int, what string) {
			if bar == nil {
				bar = progress.New(stderr, "FID/KID", total)
			}
			bar.Set(n, what)
		})
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
	}
	if err := f.Save(filepath.Join(out, bench.ResultsName(0, 1))); err != nil {
		return err
	}
	return writeReports(out, f.Results, f.Metrics, stdout)
}

// errInterrupted is a cancelled run whose partial results were saved.
var errInterrupted = fmt.Errorf("%w; partial results were kept", context.Canceled)

func runBenchMerge(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench merge", "bench merge --out DIR [--inception MODEL]", stderr)
	out := fs.String("out", "", "the folder the shards wrote to")
	inception := fs.String("inception", "", inceptionHelp)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := require(fs, "out"); err != nil {
		return err
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
	return finishBench(ctx, *out, merged, feats, stdout, stderr)
}

func writeReports(out string, results []bench.Result, metrics []bench.Metrics, stdout io.Writer) error {
	summaries := bench.Summarise(results)
	bench.AttachMetrics(summaries, metrics)
	if err := bench.WriteCSV(out, results); err != nil {
		return err
	}
	if err := bench.WriteSummaryCSV(out, summaries); err != nil {
		return err
	}
	if err := bench.WriteMarkdown(out, summaries); err != nil {
		return err
	}
	fmt.Fprint(stdout, bench.Markdown(summaries))
	figures, err := bench.WriteFigures(out, results, summaries)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nwrote %s: images per task, results.json, results.csv, summary.csv, results.md and %d figures in %s\n", out, len(figures), filepath.Join(out, "figures"))
	return nil
}

func runFigures(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("figures", "figures --out DIR", stderr)
	out := fs.String("out", "", "a folder 'restorelab bench' wrote")
	if err := parseFlags(fs, args); err != nil {
		return err
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
	paths, err := bench.WriteFigures(*out, f.Results, summaries)
	if err != nil {
		return err
	}
	for _, p := range paths {
		fmt.Fprintln(stdout, p)
	}
	return nil
}

// parseMethods turns method specs into methods, opening every model first
// so that a missing one fails before any work.
func parseMethods(specs []string, model string, cfg restore.DDRMConfig, ldm *ldmSettings) ([]bench.Method, error) {
	var ms []bench.Method
	ldms := map[string]*models.LDM{} // each SRLDM is opened once
	for _, spec := range specs {
		name, modelName, hasModel := strings.Cut(spec, ":")
		switch name {
		case "baseline":
			ms = append(ms, bench.Baseline{})
		case "ldm", "ddrm-ldm":
			label := name
			if hasModel {
				label = spec
			} else {
				modelName = ldm.model
			}
			l, ok := ldms[modelName]
			if !ok {
				var err error
				if l, err = openLDM(modelName); err != nil {
					return nil, err
				}
				if err := ldm.ddim.Validate(l.UNet.Info().Schedule.T); err != nil {
					return nil, fmt.Errorf("--ldm-steps or --ldm-eta: %w", err)
				}
				ldms[modelName] = l
			}
			if name == "ldm" {
				ms = append(ms, bench.LDM{Label: label, UNet: l.UNet, Autoencoder: l.Autoencoder, Config: ldm.ddim})
			} else {
				ms = append(ms, bench.DDRMLDM{Label: label, UNet: l.UNet, Autoencoder: l.Autoencoder, Config: ldm.hybridConfig(cfg)})
			}
		case "ddrm":
			label := "ddrm"
			if hasModel {
				label = spec
			} else {
				modelName = model
			}
			den, err := openModel(modelName)
			if err != nil {
				return nil, err
			}
			ms = append(ms, bench.DDRM{Label: label, Prior: den, Config: cfg})
		default:
			return nil, fmt.Errorf("unknown method %q; use baseline, ddrm, ldm, ddrm-ldm, or one of the last three with :MODEL", spec)
		}
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("no methods given; e.g. --methods baseline,ddrm")
	}
	return ms, nil
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
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".png", ".jpg", ".jpeg":
			files = append(files, filepath.Join(path, e.Name()))
		}
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("folder %s has no PNG or JPEG images", path)
	}
	if limit > 0 && len(files) > limit {
		files = files[:limit]
	}
	return files, nil
}
