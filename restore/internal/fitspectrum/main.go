// Command fitspectrum fits the power spectrum of the gaussian prior in package
// restore from natural images and writes it as Go source.
//
// It is run by hand through go generate in restore/, never by tests or CI,
// because it needs the training images under ../shared/data/train:
//
//	go generate ./restore
//
// It takes random square crops of every image, maps them to [-1, 1], turns
// RGB into the opponent basis of restore's gaussian prior, takes each
// channel's orthonormal 2-D DCT-II, and averages the squared coefficients in
// log-spaced bins of radial frequency sqrt((ky/2n)^2 + (kx/2n)^2) in cycles
// per pixel. With an orthonormal transform a coefficient's variance is the
// power spectral density at its frequency, whatever the crop size, so one
// table serves every image size. The DC coefficient is left out of the bins:
// its variance grows with the crop's area.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"image"
	"image/draw"
	_ "image/jpeg"
	_ "image/png"
	"io/fs"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"gonum.org/v1/gonum/mat"
)

// opponent must equal gaussOpponent in restore/gaussian.go: rows are the
// luminance and two chroma directions of an orthonormal colour basis.
var opponent = [3][3]float64{
	{1 / math.Sqrt(3), 1 / math.Sqrt(3), 1 / math.Sqrt(3)},
	{1 / math.Sqrt(2), 0, -1 / math.Sqrt(2)},
	{1 / math.Sqrt(6), -2 / math.Sqrt(6), 1 / math.Sqrt(6)},
}

func main() {
	data := flag.String("data", "../../shared/data/train", "folder of training images, searched recursively for .png and .jpg files")
	out := flag.String("out", "gaussian_spectrum.go", "Go file to write")
	n64 := flag.Int("crops64", 16, "random 64x64 crops per image")
	n128 := flag.Int("crops128", 4, "random 128x128 crops per image")
	bins := flag.Int("bins", 40, "log-spaced radial frequency bins")
	seed := flag.Uint64("seed", 1, "seed of the crop positions")
	minWidth := flag.Float64("minwidth", 1/256.0, "least width of a bin in cycles per pixel")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("fitspectrum: ")

	files, folders, err := listImages(*data)
	if err != nil {
		log.Fatal(err)
	}
	if len(files) == 0 {
		log.Fatalf("no .png or .jpg images under %s", *data)
	}

	// Bin edges run from the lowest non-DC frequency of the largest crop to
	// the highest of any crop, widened a little so both ends fall inside.
	fLo := 1 / (2 * 128.0) * 0.999
	fHi := math.Sqrt2 * 0.5 * 1.001
	acc := newAccumulator(*bins, fLo, fHi, *minWidth)
	dct := map[int]*mat.Dense{64: dctMatrix(64), 128: dctMatrix(128)}
	rng := rand.New(rand.NewPCG(*seed, 0))
	crops := map[int]int{}
	for _, f := range files {
		img, err := loadRGB(f)
		if err != nil {
			log.Fatal(err)
		}
		for _, c := range []struct{ size, count int }{{64, *n64}, {128, *n128}} {
			if img.w < c.size || img.h < c.size {
				continue
			}
			for range c.count {
				y0 := rng.IntN(img.h - c.size + 1)
				x0 := rng.IntN(img.w - c.size + 1)
				acc.addCrop(img, x0, y0, c.size, dct[c.size])
				crops[c.size]++
			}
		}
	}

	cmd := fmt.Sprintf("go run ./internal/fitspectrum -data %s -crops64 %d -crops128 %d -bins %d -minwidth %g -seed %d",
		filepath.ToSlash(*data), *n64, *n128, *bins, *minWidth, *seed)
	src, err := acc.source(provenance{cmd: cmd, data: filepath.ToSlash(*data), folders: folders,
		images: len(files), crops64: crops[64], crops128: crops[128], minWidth: *minWidth})
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		log.Fatal(err)
	}
	log.Printf("%d images, %d 64x64 and %d 128x128 crops -> %s", len(files), crops[64], crops[128], *out)
}

// listImages returns the image files under root in a fixed order, and the
// folders that hold them relative to root.
func listImages(root string) (files, folders []string, err error) {
	seen := map[string]bool{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch strings.ToLower(filepath.Ext(path)) {
		case ".png", ".jpg", ".jpeg":
			files = append(files, path)
			rel, err := filepath.Rel(root, filepath.Dir(path))
			if err != nil {
				return err
			}
			if !seen[rel] {
				seen[rel] = true
				folders = append(folders, filepath.ToSlash(rel))
			}
		}
		return nil
	})
	slices.Sort(files)
	slices.Sort(folders)
	return files, folders, err
}

// rgbImage holds an image in [-1, 1], channel-major.
type rgbImage struct {
	w, h int
	pix  [3][]float64
}

func loadRGB(path string) (*rgbImage, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	src, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	b := src.Bounds()
	rgba := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(rgba, rgba.Bounds(), src, b.Min, draw.Src)
	img := &rgbImage{w: b.Dx(), h: b.Dy()}
	for c := range img.pix {
		img.pix[c] = make([]float64, img.w*img.h)
	}
	for i := range img.w * img.h {
		for c := range 3 {
			img.pix[c][i] = float64(rgba.Pix[4*i+c])/255*2 - 1
		}
	}
	return img, nil
}

// dctMatrix returns the orthonormal DCT-II matrix of size n.
func dctMatrix(n int) *mat.Dense {
	d := mat.NewDense(n, n, nil)
	for k := range n {
		s := math.Sqrt(2 / float64(n))
		if k == 0 {
			s = math.Sqrt(1 / float64(n))
		}
		for i := range n {
			d.Set(k, i, s*math.Cos(math.Pi*float64(k)*(2*float64(i)+1)/(2*float64(n))))
		}
	}
	return d
}

// accumulator sums squared DCT coefficients per channel and frequency bin.
type accumulator struct {
	edges  []float64 // bin b holds frequencies in [edges[b], edges[b+1])
	binOf  map[int][]int
	power  [3][]float64
	logF   []float64 // sum of log frequency per bin, for its centre
	count  []float64 // coefficients per bin and channel
	mean   [3]float64
	pixels float64
}

// newAccumulator makes bins log-spaced from fLo to fHi, merged so that none
// is narrower than minWidth: a bin narrower than the frequency lattice holds
// a handful of coefficients, and their mix of on-axis and diagonal ones, not
// their frequency, sets its power.
func newAccumulator(bins int, fLo, fHi, minWidth float64) *accumulator {
	edges := []float64{fLo}
	for b := 1; b <= bins; b++ {
		e := math.Exp(math.Log(fLo) + float64(b)/float64(bins)*(math.Log(fHi)-math.Log(fLo)))
		if b == bins {
			e = fHi
		}
		if e-edges[len(edges)-1] >= minWidth || b == bins {
			edges = append(edges, e)
		}
	}
	n := len(edges) - 1
	a := &accumulator{edges: edges, binOf: map[int][]int{}, logF: make([]float64, n), count: make([]float64, n)}
	for c := range a.power {
		a.power[c] = make([]float64, n)
	}
	return a
}

// bins returns the bin of each coefficient of an n x n crop, -1 for DC.
func (a *accumulator) bins(n int) []int {
	if b, ok := a.binOf[n]; ok {
		return b
	}
	b := make([]int, n*n)
	for ky := range n {
		for kx := range n {
			f := math.Hypot(float64(ky)/float64(2*n), float64(kx)/float64(2*n))
			b[ky*n+kx] = sort.SearchFloat64s(a.edges, f) - 1
			if f == a.edges[b[ky*n+kx]+1] {
				b[ky*n+kx]++
			}
		}
	}
	b[0] = -1
	a.binOf[n] = b
	return b
}

func (a *accumulator) addCrop(img *rgbImage, x0, y0, n int, d *mat.Dense) {
	var opp [3]*mat.Dense
	for c := range opp {
		opp[c] = mat.NewDense(n, n, nil)
	}
	for y := range n {
		for x := range n {
			i := (y0+y)*img.w + x0 + x
			for c := range 3 {
				v := opponent[c][0]*img.pix[0][i] + opponent[c][1]*img.pix[1][i] + opponent[c][2]*img.pix[2][i]
				opp[c].Set(y, x, v)
				a.mean[c] += v
			}
		}
	}
	a.pixels += float64(n * n)
	bins := a.bins(n)
	var tmp, coef mat.Dense
	for c := range opp {
		tmp.Mul(d, opp[c])
		coef.Mul(&tmp, d.T())
		raw := coef.RawMatrix()
		for k, b := range bins {
			if b < 0 {
				continue
			}
			v := raw.Data[(k/n)*raw.Stride+k%n]
			a.power[c][b] += v * v
			if c == 0 {
				f := math.Hypot(float64(k/n), float64(k%n)) / float64(2*n)
				a.logF[b] += math.Log(f)
				a.count[b]++
			}
		}
	}
}

// provenance is what the generated file says about how it was made.
type provenance struct {
	cmd, data                 string
	folders                   []string
	images, crops64, crops128 int
	minWidth                  float64
}

// source renders the non-empty bins as the Go file restore compiles.
func (a *accumulator) source(p provenance) ([]byte, error) {
	var freq []float64
	var vars [3][]float64
	for b, n := range a.count {
		if n == 0 {
			continue
		}
		freq = append(freq, math.Exp(a.logF[b]/n))
		for c := range vars {
			vars[c] = append(vars[c], a.power[c][b]/n)
		}
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "// Code generated by fitspectrum; DO NOT EDIT.\n\n")
	fmt.Fprintf(&buf, "package restore\n\n")
	fmt.Fprintf(&buf, "// The gaussian prior's spectrum, fitted by running, in restore/,\n//\n//\t%s\n//\n", p.cmd)
	fmt.Fprintf(&buf, "// on the %d images under %s (%s):\n", p.images, p.data, strings.Join(p.folders, ", "))
	fmt.Fprintf(&buf, "// %d random 64x64 and %d random 128x128 crops in [-1, 1]. Squared\n", p.crops64, p.crops128)
	fmt.Fprintf(&buf, "// coefficients are averaged in %d bins of radial frequency, log-spaced and\n", len(freq))
	fmt.Fprintf(&buf, "// merged to be at least %.4g cycles per pixel wide; the DC coefficient is\n// left out.\n\n", p.minWidth)
	fmt.Fprintf(&buf, "// gaussSpecFreq is each bin's centre (geometric mean frequency of its\n// coefficients) in cycles per pixel, ascending.\n")
	fmt.Fprintf(&buf, "var gaussSpecFreq = [...]float64{%s}\n\n", floats(freq))
	fmt.Fprintf(&buf, "// gaussSpecVar is the mean squared orthonormal DCT coefficient per opponent\n// channel (luminance, red-blue, green-magenta) and bin.\n")
	fmt.Fprintf(&buf, "var gaussSpecVar = [3][len(gaussSpecFreq)]float64{\n")
	for c := range vars {
		fmt.Fprintf(&buf, "{%s},\n", floats(vars[c]))
	}
	fmt.Fprintf(&buf, "}\n\n")
	fmt.Fprintf(&buf, "// gaussSpecMean is the mean pixel value per opponent channel.\n")
	fmt.Fprintf(&buf, "var gaussSpecMean = [3]float64{%s}\n", floats([]float64{a.mean[0] / a.pixels, a.mean[1] / a.pixels, a.mean[2] / a.pixels}))
	return format.Source(buf.Bytes())
}

func floats(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprintf("%.5g", x)
	}
	return strings.Join(s, ", ")
}
