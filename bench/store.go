package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"

	"github.com/restorelab/restorelab/restore"
)

// Settings are what makes two evaluations comparable: results are only
// resumed or merged between runs with equal settings.
type Settings struct {
	Data    string   `json:"data"`
	Limit   int      `json:"limit"`
	Tasks   []string `json:"tasks"`
	Methods []string `json:"methods"`
	Seed    uint64   `json:"seed"`
	Steps   int      `json:"steps"`
	Eta     float64  `json:"eta"`
	EtaB    float64  `json:"eta_b"`
	// LDMSteps and LDMEta are the ldm methods' DDIM settings, set when an
	// ldm method runs.
	LDMSteps int     `json:"ldm_steps,omitempty"`
	LDMEta   float64 `json:"ldm_eta,omitempty"`
}

// File is the content of results.json (or of one shard's results file).
type File struct {
	Settings Settings `json:"settings"`
	Results  []Result `json:"results"`
	Skipped  []Skip   `json:"skipped,omitempty"`
	// Inception is the name of the feature network of Metrics. Neither is
	// part of Settings: they are recomputed from the saved images by every
	// run given --inception, and dropped by a run without it.
	Inception string    `json:"inception,omitempty"`
	Metrics   []Metrics `json:"metrics,omitempty"`
}

// ResultsName is the file name of a run's results, or of shard i of n.
func ResultsName(shard, shards int) string {
	if shards <= 1 {
		return "results.json"
	}
	return fmt.Sprintf("results.shard-%d-of-%d.json", shard, shards)
}

// Load reads a results file; a missing file gives (nil, nil).
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var f File
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%s is not a restorelab results file (%v); move it away or choose another --out", path, err)
	}
	return &f, nil
}

// Save writes f atomically, so an interrupted run leaves a valid file.
func (f *File) Save(path string) error {
	return restore.WriteFileAtomic(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", " ")
		return enc.Encode(f)
	})
}

// Compatible reports why results made with settings s cannot be combined
// with f's, or nil if they can.
func (f *File) Compatible(s Settings) error {
	if reflect.DeepEqual(f.Settings, s) {
		return nil
	}
	a, _ := json.Marshal(f.Settings)
	b, _ := json.Marshal(s)
	return fmt.Errorf("the folder holds results made with other settings:\n  there: %s\n  now:   %s\nuse another --out, or the same settings to resume", a, b)
}

// Merge combines the results files of the shards of one evaluation found
// in dir (results.shard-*-of-*.json) into one File, ordered by image, task
// and method. It fails if shards are missing or their settings differ.
func Merge(dir string) (*File, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "results.shard-*-of-*.json"))
	if err != nil || len(paths) == 0 {
		return nil, fmt.Errorf("no shard results (results.shard-I-of-N.json) in %s; run 'restorelab bench --shard I/N --out %s' first", dir, dir)
	}
	var merged *File
	seenShard := map[int]bool{}
	shards := 0
	seen := map[string]bool{}
	for _, p := range paths {
		var i, n int
		if _, err := fmt.Sscanf(filepath.Base(p), "results.shard-%d-of-%d.json", &i, &n); err != nil {
			return nil, fmt.Errorf("%s: unexpected name", p)
		}
		if shards != 0 && n != shards {
			return nil, fmt.Errorf("%s belongs to a run of %d shards, others to %d; remove the stale files", p, n, shards)
		}
		shards, seenShard[i] = n, true
		f, err := Load(p)
		if err != nil {
			return nil, err
		}
		if merged == nil {
			merged = &File{Settings: f.Settings}
		} else if err := merged.Compatible(f.Settings); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		for _, r := range f.Results {
			if !seen[r.key()] {
				seen[r.key()] = true
				merged.Results = append(merged.Results, r)
			}
		}
		merged.Skipped = append(merged.Skipped, f.Skipped...)
	}
	for i := range shards {
		if !seenShard[i] {
			return nil, fmt.Errorf("shard %d of %d has no results file in %s; run it before merging", i, shards, dir)
		}
	}
	sort.SliceStable(merged.Results, func(a, b int) bool { return merged.Results[a].Image < merged.Results[b].Image })
	return merged, nil
}

// ShardImages returns the images of shard i of n: every n-th image from the
// i-th, so that shards get similar amounts of work.
func ShardImages(images []string, i, n int) ([]string, error) {
	if n < 1 || i < 0 || i >= n {
		return nil, fmt.Errorf("shard %d/%d is invalid; give I/N with 0 <= I < N, e.g. 0/4", i, n)
	}
	var out []string
	for k := i; k < len(images); k += n {
		out = append(out, images[k])
	}
	return out, nil
}
