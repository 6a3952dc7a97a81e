package restore

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// MaxPixels is the largest image, in pixels (height times width), that the
// readers decode and the samplers accept. Files hold compressed pixels: a
// 1 MB PNG can declare 20000x20000 pixels, 4.8 GB as float32, and a DDRM run
// with the bundled prior needs about 2.5 GB per megapixel. The default,
// 6 megapixels, fits a restore in 24 GiB. Set it to 0 for no limit.
var MaxPixels = 6_000_000

// MaxPixelsEnv names the environment variable from which the command line
// sets MaxPixels.
const MaxPixelsEnv = "RESTORELAB_MAX_PIXELS"

// CheckPixels returns an error naming what and its size if an image of h by
// w pixels is over MaxPixels.
func CheckPixels(what string, h, w int) error {
	if MaxPixels <= 0 || (h <= MaxPixels && w <= MaxPixels && int64(h)*int64(w) <= int64(MaxPixels)) {
		return nil
	}
	return fmt.Errorf("%s is %dx%d pixels (%s), over the limit of %s; "+
		"crop or shrink it, or raise the limit with %s=PIXELS if the machine has the memory (about 2.5 GB per megapixel)",
		what, w, h, megapixels(int64(h)*int64(w)), megapixels(int64(MaxPixels)), MaxPixelsEnv)
}

func megapixels(n int64) string {
	if n < 100_000 {
		return fmt.Sprintf("%d pixels", n)
	}
	return fmt.Sprintf("%.1f megapixels", float64(n)/1e6)
}

// MaxPixelsFromEnv sets MaxPixels from the environment variable MaxPixelsEnv
// when it is set, so that every front end honours the same setting.
func MaxPixelsFromEnv() error {
	s, ok := os.LookupEnv(MaxPixelsEnv)
	if !ok || s == "" {
		return nil
	}
	n, err := strconv.Atoi(strings.ReplaceAll(s, "_", ""))
	if err != nil || n < 0 {
		return fmt.Errorf("%s=%q is not a pixel count; give a whole number such as 12000000, or 0 for no limit", MaxPixelsEnv, s)
	}
	MaxPixels = n
	return nil
}
