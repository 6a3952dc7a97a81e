package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/restorelab/restorelab/bench"
	"github.com/restorelab/restorelab/internal/progress"
	"github.com/restorelab/restorelab/models"
)

const metricsUsage = "metrics A B [--inception MODEL] [--paired] [--save-stats A.npz] [--save-stats-b B.npz] [--bootstrap K] [--json]\n" +
	"  A and B: folders of PNG/JPEG images, single images, or statistics files (.npz: mu and sigma, as pytorch-fid saves them)"

// defaultInception is the model name the README has users export the FID
// Inception under; metrics uses it when --inception is not given.
const defaultInception = "fid-inception"

func runMetrics(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("metrics", metricsUsage, stderr)
	inception := fs.String("inception", "", "feature network for FID and KID (default: the model "+defaultInception+" if installed); models/export/fid_inception.py exports pytorch-fid's")
	paired := fs.Bool("paired", false, "require every image of A to have a namesake in B (PSNR and SSIM over all of them; the bootstrap resamples pairs)")
	saveA := fs.String("save-stats", "", "save A's statistics (mu, sigma and features) to this .npz, to give in place of A next time")
	saveB := fs.String("save-stats-b", "", "save B's statistics to this .npz")
	bootstrap := bootstrapFlag(fs)
	seed := fs.Uint64("seed", 0, "seed of KID's subsets and of the bootstrap")
	asJSON := fs.Bool("json", false, "print the results as JSON instead of a table")
	applyRuntime := runtimeFlags(fs)
	sets, err := parseWithOperands(fs, args)
	if err != nil {
		return err
	}
	if len(sets) != 2 {
		return fs.usageError("give two sets, A and B; got %d", len(sets))
	}
	if *bootstrap < 0 || *bootstrap == 1 {
		return fs.usageError("--bootstrap %d: give 0 for none, or at least 2 resamples", *bootstrap)
	}
	if err := applyRuntime(); err != nil {
		return err
	}
	for _, p := range []string{*saveA, *saveB} {
		if p != "" {
			if err := checkOutputPath(p, ".npz"); err != nil {
				return err
			}
		}
	}
	a, err := bench.OpenSet(sets[0])
	if err != nil {
		return err
	}
	b, err := bench.OpenSet(sets[1])
	if err != nil {
		return err
	}
	for _, s := range []*bench.Set{a, b} {
		if s.Stats != nil && s.Stats.Features == nil && *bootstrap > 0 {
			return fmt.Errorf("--bootstrap resamples images, but %s holds only mu and sigma; give the folder of images", s.Path)
		}
	}
	cmp := bench.Comparison{A: a.Path, B: b.Path, ImagesA: len(a.Images), ImagesB: len(b.Images)}
	pa, pb := bench.Pair(a, b)
	cmp.Pairs = len(pa)
	if *paired && (len(pa) == 0 || len(pa) != len(a.Images) || len(pa) != len(b.Images)) {
		return fmt.Errorf("--paired: %d of A's %d images and B's %d have a namesake in the other set; pair them by file name (stem), or leave --paired out", len(pa), len(a.Images), len(b.Images))
	}
	if len(pa) > 0 {
		psnr, ssim, err := bench.PairScores(pa, pb)
		if err != nil {
			return err
		}
		cmp.PSNR, cmp.SSIM = &psnr, &ssim
	}

	feats, err := openMetricsInception(*inception, a, b)
	if err != nil {
		return err
	}
	if feats != nil {
		defer feats.Close()
		if err := setDistances(ctx, &cmp, a, b, feats, *paired, bench.DistanceOptions{Seed: *seed, Bootstrap: *bootstrap}, stderr); err != nil {
			return err
		}
		for _, save := range []struct {
			path string
			set  *bench.Set
		}{{*saveA, a}, {*saveB, b}} {
			if save.path != "" {
				if err := bench.SaveStats(save.path, *save.set.Stats); err != nil {
					return err
				}
				fmt.Fprintf(stderr, "wrote %s (statistics of %s)\n", save.path, save.set.Path)
			}
		}
	} else if *saveA != "" || *saveB != "" {
		return errors.New("--save-stats needs features: give --inception")
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", " ")
		return enc.Encode(cmp)
	}
	printComparison(stdout, cmp, feats == nil)
	return nil
}

// setDistances computes both sets' features (with a progress bar) and
// their FID and KID into cmp.
func setDistances(ctx context.Context, cmp *bench.Comparison, a, b *bench.Set, feats *models.Inception, paired bool, opt bench.DistanceOptions, stderr io.Writer) error {
	for _, s := range []*bench.Set{a, b} {
		var bar *progress.Bar
		err := s.Features(ctx, feats, func(n, total int, what string) {
			if bar == nil {
				bar = progress.New(stderr, "features of "+s.Path, total)
			}
			bar.Set(n, what)
		})
		if bar != nil {
			bar.Finish()
		}
		if err != nil {
			return err
		}
	}
	m := &bench.Metrics{Images: min(a.Stats.N, b.Stats.N), Features: len(a.Stats.Mu)}
	if a.Stats.Features != nil && b.Stats.Features != nil {
		if err := bench.SetDistances(ctx, m, a.Stats.Features, b.Stats.Features, paired, opt); err != nil {
			return err
		}
	} else {
		fid, err := bench.FID(*a.Stats, *b.Stats)
		if err != nil {
			return err
		}
		m.FID, m.Problem = &fid, "KID needs the features of both sets; a statistics file with only mu and sigma has none"
		if n := max(a.Stats.N, b.Stats.N); n > 0 {
			m.FewImages = n < m.Features
		}
	}
	if m.FewImages {
		fmt.Fprintf(stderr, "note: %s\n", bench.FewImagesNote(m.Images, m.Features))
	}
	cmp.Distances = m
	return nil
}

// openMetricsInception opens --inception, or the default feature network
// when it is installed; nil when neither is there and only statistics
// files could not do without it.
func openMetricsInception(name string, a, b *bench.Set) (*models.Inception, error) {
	if name != "" {
		return models.OpenInception(name, runtimeOptions)
	}
	f, err := models.OpenInception(defaultInception, runtimeOptions)
	if err == nil {
		return f, nil
	}
	if a.Stats != nil || b.Stats != nil {
		return nil, fmt.Errorf("a statistics file is compared by FID, which needs the features of the other set: give --inception (%v)", err)
	}
	return nil, nil
}

func printComparison(w io.Writer, c bench.Comparison, noFeatures bool) {
	fmt.Fprintf(w, "A: %s (%d images)\nB: %s (%d images)\n", c.A, c.ImagesA, c.B, c.ImagesB)
	if c.PSNR != nil {
		fmt.Fprintf(w, "PSNR %.2f dB  SSIM %.4f  (mean over %d pairs of one name)\n", *c.PSNR, *c.SSIM, c.Pairs)
	}
	switch m := c.Distances; {
	case noFeatures:
		fmt.Fprintf(w, "FID and KID: n/a: no feature network; give --inception MODEL, or export pytorch-fid's Inception once as the model %s (see the README's Metrics section)\n", defaultInception)
	case m.KIDMean == nil:
		fmt.Fprintf(w, "FID %s  over %d features  (KID: %s)\n", bench.FormatFID(m), m.Features, m.Problem)
	default:
		fmt.Fprintf(w, "FID %s  KID %s  over %d images of %d features\n", bench.FormatFID(m), bench.FormatKID(m), m.Images, m.Features)
	}
}
