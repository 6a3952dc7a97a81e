package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/restorelab/restorelab/restore"
)

// Set is one side of a comparison of image sets: the images of a folder
// (or one image file), or a statistics file (see SaveStats), which has no
// images to pair.
type Set struct {
	// Path is the folder or file the set came from.
	Path string
	// Names and Images are the images by name (ImageNames), in order; nil
	// for a statistics file.
	Names, Images []string
	// Stats is set by Features, or read from the statistics file.
	Stats *Stats
}

// OpenSet lists the PNG and JPEG images of a folder, sorted by name, or
// takes one image file, or reads a statistics file (.npz).
func OpenSet(path string) (*Set, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s does not exist; give a folder of images, an image, or a statistics .npz", path)
	}
	if !st.IsDir() {
		if strings.EqualFold(filepath.Ext(path), ".npz") {
			s, err := LoadStats(path)
			if err != nil {
				return nil, err
			}
			return &Set{Path: path, Stats: &s}, nil
		}
		return &Set{Path: path, Names: ImageNames([]string{path}), Images: []string{path}}, nil
	}
	images, err := ListImages(path)
	if err != nil {
		return nil, err
	}
	return &Set{Path: path, Names: ImageNames(images), Images: images}, nil
}

// ListImages returns the PNG and JPEG files of a folder, sorted by name.
func ListImages(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".png", ".jpg", ".jpeg":
			if !e.IsDir() {
				files = append(files, filepath.Join(dir, e.Name()))
			}
		}
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("folder %s has no PNG or JPEG images", dir)
	}
	return files, nil
}

// Features computes the set's statistics, with their features, from its
// images with f, unless it has them; progress (may be nil) is called
// before each image.
func (s *Set) Features(ctx context.Context, f Featurizer, progress func(done, total int, what string)) error {
	if s.Stats != nil {
		return nil
	}
	var rows [][]float32
	for i, path := range s.Images {
		if progress != nil {
			progress(i, len(s.Images), filepath.Base(path))
		}
		x, err := restore.LoadImage(path)
		if err != nil {
			return err
		}
		fs, err := f.Features(ctx, restore.ToRGB(x))
		if err != nil {
			return fmt.Errorf("features of %s: %w", path, err)
		}
		if len(fs) != 1 || (len(rows) > 0 && len(fs[0]) != len(rows[0])) {
			return fmt.Errorf("features of %s: %d vectors of unexpected length", path, len(fs))
		}
		rows = append(rows, fs[0])
	}
	if progress != nil {
		progress(len(s.Images), len(s.Images), "done")
	}
	st, err := NewStats(toDense(rows))
	if err != nil {
		return fmt.Errorf("%s: %w", s.Path, err)
	}
	s.Stats = &st
	return nil
}

// Comparison is what 'restorelab metrics' reports on two sets.
type Comparison struct {
	A, B             string
	ImagesA, ImagesB int
	// Pairs counts the images of A with a namesake in B; PSNR and SSIM are
	// their means over the pairs, nil without pairs.
	Pairs      int      `json:"pairs"`
	PSNR, SSIM *float64 `json:",omitempty"`
	// Distances holds FID and KID (Task and Method empty), nil when no
	// feature network was given.
	Distances *Metrics `json:",omitempty"`
}

// Pair matches the images of a and b by name, in a's order, and returns
// the paths of each pair.
func Pair(a, b *Set) (pa, pb []string) {
	in := map[string]string{}
	for i, n := range b.Names {
		in[n] = b.Images[i]
	}
	for i, n := range a.Names {
		if p, ok := in[n]; ok {
			pa, pb = append(pa, a.Images[i]), append(pb, p)
		}
	}
	return pa, pb
}

// PairScores returns the mean PSNR and SSIM over pairs of images, each
// compared on [0, 1] in colour; images of a pair must have one size.
func PairScores(pa, pb []string) (psnr, ssim float64, err error) {
	if len(pa) == 0 {
		return 0, 0, errors.New("no pairs of images of one name")
	}
	for i := range pa {
		x, err := restore.LoadImage(pa[i])
		if err != nil {
			return 0, 0, err
		}
		y, err := restore.LoadImage(pb[i])
		if err != nil {
			return 0, 0, err
		}
		x, y = restore.ToRGB(x), restore.ToRGB(y)
		if x.Shape != y.Shape {
			return 0, 0, fmt.Errorf("%s is %v but %s is %v; paired images must have one size", pa[i], x.Shape, pb[i], y.Shape)
		}
		p := restore.PSNR(x.Data, y.Data)
		s, err := restore.SSIM(x.Data, y.Data, x.Shape)
		if err != nil {
			return 0, 0, err
		}
		psnr, ssim = psnr+p, ssim+s
	}
	n := float64(len(pa))
	return psnr / n, ssim / n, nil
}

// SetPath is the folder WriteSets links a task's images of one label
// (clean or a method) into, one file per image named after it: the layout
// pytorch-fid and 'restorelab metrics' take as a set.
func SetPath(out, task, label string) string {
	return filepath.Join(out, "sets", task, labelFileName.Replace(label))
}

// WriteSets gives each task's clean images and each method's restorations
// a folder of their own (SetPath), as hard links to the images Run saved
// (copies where the file system has no links), so that other tools can
// compare them as sets. It returns the folders.
func WriteSets(out string, results []Result) ([]string, error) {
	var dirs []string
	made := map[string]bool{}
	link := func(task, image, label string) error {
		dir := SetPath(out, task, label)
		if !made[dir] {
			if err := os.RemoveAll(dir); err != nil {
				return err
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			made[dir] = true
			dirs = append(dirs, dir)
		}
		src, dst := ImagePath(out, task, image, label), filepath.Join(dir, image+".png")
		if err := os.Link(src, dst); err == nil {
			return nil
		}
		data, err := os.ReadFile(src)
		if err != nil {
			return fmt.Errorf("sets: %w", err)
		}
		return os.WriteFile(dst, data, 0o644)
	}
	cleanDone := map[string]bool{}
	for _, r := range results {
		if k := r.Task + "\x00" + r.Image; !cleanDone[k] {
			cleanDone[k] = true
			if err := link(r.Task, r.Image, "clean"); err != nil {
				return dirs, err
			}
		}
		if err := link(r.Task, r.Image, r.Method); err != nil {
			return dirs, err
		}
	}
	return dirs, nil
}
