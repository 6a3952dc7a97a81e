package viz_test

import (
	"fmt"
	"image"
	"log"

	"github.com/restorelab/restorelab/restore"
	"github.com/restorelab/restorelab/viz"
)

// Compare bicubic and DDRM at full resolution, with a zoomed crop where
// they differ most and the PSNR of each under it.
func ExampleComparison() {
	d, err := runDemo()
	if err != nil {
		log.Fatal(err)
	}
	task, err := restore.LookupTask("sr4-noisy")
	if err != nil {
		log.Fatal(err)
	}
	base, err := task.Baseline(d.op, d.y)
	if err != nil {
		log.Fatal(err)
	}
	first := func(t *restore.Tensor) *restore.Tensor { return t.Image(0) }
	methods := []*restore.Tensor{first(base), first(d.result)}
	crop, err := viz.MostDifferentCrop(methods, 12, 12)
	if err != nil {
		log.Fatal(err)
	}
	names := []string{"clean", "degraded", "bicubic", "DDRM"}
	captions := []string{"", ""}
	var images []image.Image
	for i, t := range []*restore.Tensor{d.clean, d.y, base, d.result} {
		img, err := viz.Image(t, 0, false)
		if err != nil {
			log.Fatal(err)
		}
		images = append(images, img)
		if i >= 2 {
			captions = append(captions, fmt.Sprintf("%.2f dB", restore.PSNR(t.Item(0), d.clean.Item(0))))
		}
	}
	g, err := viz.Comparison(names, captions, images, crop, 4, viz.GridOptions{})
	if err != nil {
		log.Fatal(err)
	}
	if err := viz.SavePNG("testdata/comparison.png", viz.FromImage(g)); err != nil {
		log.Fatal(err)
	}
}
