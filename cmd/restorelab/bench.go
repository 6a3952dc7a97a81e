package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/restorelab/restorelab/bench"
	"github.com/restorelab/restorelab/internal/progress"
	"github.com/restorelab/restorelab/restore"
)

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", "bench --data DIR|FILE --out DIR [--tasks sr4,deblur,denoise,sr4-noisy] [--methods baseline,ddrm] [--limit N]", stderr)
	data := fs.String("data", "", "a clean image, or a folder of PNG/JPEG images (sorted by name)")
	out := fs.String("out", "", "output folder for images, results.csv and results.md (created if missing)")
	tasks := fs.String("tasks", strings.Join(restore.StudyTasks, ","), "comma-separated tasks")
	methods := fs.String("methods", "baseline,ddrm", "comma-separated methods: baseline, ddrm")
	limit := fs.Int("limit", 0, "evaluate at most this many images (0: all)")
	model := fs.String("model", defaultModel, "prior for ddrm: a model name or path")
	cfg := restore.DefaultDDRMConfig()
	fs.IntVar(&cfg.Steps, "steps", cfg.Steps, "DDRM steps, 1..1000")
	fs.Float64Var(&cfg.Eta, "eta", cfg.Eta, "DDRM eta in [0,1]")
	fs.Float64Var(&cfg.EtaB, "eta-b", cfg.EtaB, "DDRM eta_b in [0,1]")
	seed := fs.Uint64("seed", 0, "seed of the degradation noise and of the sampler")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := require(fs, "data", "out"); err != nil {
		return err
	}
	if err := cfg.Validate(1000); err != nil {
		return err
	}
	images, err := listImages(*data, *limit)
	if err != nil {
		return err
	}
	var ms []bench.Method
	for _, name := range strings.Split(*methods, ",") {
		switch strings.TrimSpace(name) {
		case "baseline":
			ms = append(ms, bench.Baseline{})
		case "ddrm":
			den, err := openModel(*model)
			if err != nil {
				return err
			}
			ms = append(ms, bench.DDRM{Prior: den, Config: cfg})
		default:
			return fmt.Errorf("unknown method %q; use baseline or ddrm", name)
		}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return fmt.Errorf("cannot create output folder %s: %w", *out, err)
	}
	taskList := strings.Split(*tasks, ",")
	bar := progress.New(stderr, "bench", len(images)*len(taskList)*len(ms))
	results, err := bench.Run(ctx, bench.Config{
		Images: images, Tasks: taskList, Methods: ms, Out: *out, Seed: *seed,
		Progress: func(done, total int, what string) { bar.Set(done, what) },
	})
	bar.Finish()
	if err != nil {
		return err
	}
	if err := bench.WriteCSV(*out, results); err != nil {
		return err
	}
	if err := bench.WriteMarkdown(*out, results); err != nil {
		return err
	}
	fmt.Fprint(stdout, bench.Markdown(bench.Summarise(results)))
	fmt.Fprintf(stdout, "\nwrote %s (images per task, results.csv, results.md)\n", *out)
	return nil
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
