package viz_test

import (
	"image"
	"log"

	"github.com/restorelab/restorelab/restore"
	"github.com/restorelab/restorelab/viz"
)

// Lay out the clean images, their 8x8 measurements and the restorations of
// a run, one row per image. The measurements are enlarged to the row height
// with their pixels kept sharp.
func ExampleGrid() {
	d, err := runDemo()
	if err != nil {
		log.Fatal(err)
	}
	var cells [][]image.Image
	for b := range d.clean.N {
		var row []image.Image
		for _, t := range []*restore.Tensor{d.clean, d.y, d.result} {
			img, err := viz.Image(t, b, false)
			if err != nil {
				log.Fatal(err)
			}
			row = append(row, img)
		}
		cells = append(cells, row)
	}
	g, err := viz.Grid(cells, []string{"image 1", "image 2"}, []string{"clean", "y (8x8)", "DDRM"}, viz.GridOptions{CellHeight: 64})
	if err != nil {
		log.Fatal(err)
	}
	if err := viz.SavePNG("testdata/grid.png", viz.FromImage(g)); err != nil {
		log.Fatal(err)
	}
}

// Show how DDRM's estimate x0_hat sharpens over a 10-step run: every third
// step and the last, for both images of the batch.
func ExampleStepGrid() {
	d, err := runDemo()
	if err != nil {
		log.Fatal(err)
	}
	g, err := viz.StepGrid(d.steps, 3, viz.GridOptions{CellHeight: 48, FontSize: 12})
	if err != nil {
		log.Fatal(err)
	}
	if err := viz.SavePNG("testdata/stepgrid.png", viz.FromImage(g)); err != nil {
		log.Fatal(err)
	}
}

// Compare methods on one image: the clean image, the measurement, the
// study's bicubic baseline and DDRM.
func ExampleMethodGrid() {
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
	var images []image.Image
	for _, t := range []*restore.Tensor{d.clean, d.y, base, d.result} {
		img, err := viz.Image(t, 0, false)
		if err != nil {
			log.Fatal(err)
		}
		images = append(images, img)
	}
	g, err := viz.MethodGrid([]string{"clean", "degraded", "bicubic", "DDRM"}, images, viz.GridOptions{CellHeight: 64})
	if err != nil {
		log.Fatal(err)
	}
	if err := viz.SavePNG("testdata/methodgrid.png", viz.FromImage(g)); err != nil {
		log.Fatal(err)
	}
}
