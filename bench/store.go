package bench

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/restorelab/restorelab/method"
	"github.com/restorelab/restorelab/restore"
)

// Settings are what the results in a folder were made with. Runs can
// add images, tasks and methods to a folder, but only with the same seed,
// and never with other settings or weights under a method label already
// there, or another file under an image name already there: nothing is
// silently mixed.
type Settings struct {
	Seed uint64 `json:"seed"`
	// Fit is how images were fitted to the methods' sides ("" before
	// fitting was recorded: pad).
	Fit method.Fit `json:"fit,omitempty"`
	// Methods maps each method label to its identity
	// (method.Settings.Identity): the method, every setting, and the
	// digest of the network's weights.
	Methods map[string]map[string]string `json:"methods"`
	// Images maps each image name to the sha256 of its file.
	Images map[string]string `json:"images"`
}

// File is the content of results.json (or of one shard's results file).
type File struct {
	Settings Settings `json:"settings"`
	// Data is where the images came from, for the record.
	Data    string   `json:"data,omitempty"`
	Results []Result `json:"results"`
	Skipped []Skip   `json:"skipped,omitempty"`
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

// Compatible reports why results made with settings s cannot join f's,
// naming the first setting that differs, or nil if they can.
func (f *File) Compatible(s Settings) error {
	there := f.Settings
	if there.Seed != s.Seed {
		return fmt.Errorf("the folder's results were made with --seed %d, this run uses %d; use another --out, or the same seed", there.Seed, s.Seed)
	}
	if a, b := there.fit(), s.fit(); a != b {
		return fmt.Errorf("the folder's results were made with --fit %s, this run uses %s; use another --out, or the same --fit", a, b)
	}
	for _, label := range sortedKeys(s.Methods) {
		old, ok := there.Methods[label]
		if !ok {
			continue
		}
		now := s.Methods[label]
		for _, k := range sortedKeys(union(old, now)) {
			if old[k] != now[k] {
				return fmt.Errorf("method %s: %s is %q in the folder's results but %q now; use another --out, the same settings to resume, or another label (e.g. %s:%s=%s) to add it beside them",
					label, k, old[k], now[k], now["method"], k, now[k])
			}
		}
	}
	for _, name := range sortedKeys(s.Images) {
		if old, ok := there.Images[name]; ok && old != s.Images[name] {
			return fmt.Errorf("image %s: the folder's results were made from another file of that name (sha256 %.12s, now %.12s); use another --out", name, old, s.Images[name])
		}
	}
	return nil
}

func (s Settings) fit() method.Fit {
	if s.Fit == "" {
		return method.FitPad
	}
	return s.Fit
}

// Merge returns the settings of both: the methods and images of each.
func (s Settings) Merge(o Settings) Settings {
	m := Settings{Seed: s.Seed, Fit: s.fit(), Methods: map[string]map[string]string{}, Images: map[string]string{}}
	for _, src := range []Settings{s, o} {
		for k, v := range src.Methods {
			m.Methods[k] = v
		}
		for k, v := range src.Images {
			m.Images[k] = v
		}
	}
	return m
}

func union(a, b map[string]string) map[string]string {
	u := map[string]string{}
	for k, v := range a {
		u[k] = v
	}
	for k, v := range b {
		u[k] = v
	}
	return u
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
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
			merged = &File{Settings: f.Settings, Data: f.Data}
		} else if err := merged.Compatible(f.Settings); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		} else {
			merged.Settings = merged.Settings.Merge(f.Settings)
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

// HashFiles returns the sha256 of each file by its name (see ImageNames),
// so that results are never credited to another file of the same name. A
// file that cannot be read gets no hash; Run reports it.
func HashFiles(paths, names []string) (map[string]string, error) {
	if len(paths) != len(names) {
		return nil, fmt.Errorf("%d files but %d names", len(paths), len(names))
	}
	out := make(map[string]string, len(paths))
	for i, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		sum := sha256.Sum256(data)
		out[names[i]] = hex.EncodeToString(sum[:])
	}
	return out, nil
}

// String describes the skip for a person.
func (s Skip) String() string {
	what := s.Image
	for _, part := range []string{s.Task, s.Method} {
		if part != "" {
			what += " " + part
		}
	}
	return what + ": " + s.Reason
}
