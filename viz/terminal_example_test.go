package viz_test

import (
	"fmt"
	"image"
	"image/color"
	"log"
	"strings"

	"github.com/restorelab/restorelab/viz"
)

// Pick the protocol for --images: auto detects it from the environment.
func ExampleDetectProtocol() {
	env := map[string]string{"TERM": "xterm-256color", "TERM_PROGRAM": "WezTerm"}
	p, err := viz.ParseProtocol("auto")
	if err != nil {
		log.Fatal(err)
	}
	if p == viz.Auto {
		p = viz.DetectProtocol(func(k string) string { return env[k] })
	}
	fmt.Println(p)
	// Output: iterm
}

// Draw a 2x2 image with half blocks: one character holds an upper pixel
// (foreground) and a lower one (background).
func ExampleWriteImage() {
	img := image.NewNRGBA(image.Rect(0, 0, 2, 2))
	img.Set(0, 0, color.NRGBA{R: 255, A: 255})
	img.Set(1, 0, color.NRGBA{G: 255, A: 255})
	img.Set(0, 1, color.NRGBA{B: 255, A: 255})
	img.Set(1, 1, color.NRGBA{R: 255, G: 255, B: 255, A: 255})
	var out strings.Builder
	if err := viz.WriteImage(&out, img, viz.Blocks, 80); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%q\n", out.String())
	// Output:
	// "\x1b[38;2;255;0;0m\x1b[48;2;0;0;255m▀\x1b[38;2;0;255;0m\x1b[48;2;255;255;255m▀\x1b[0m\n"
}
