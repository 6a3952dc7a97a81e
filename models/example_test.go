package models_test

import (
	"context"
	"fmt"
	"io"
	"log"

	"github.com/restorelab/restorelab/models"
	"github.com/restorelab/restorelab/restore"
)

// Open a model folder and predict the noise in a batch of two images.
func ExampleOpen() {
	d, err := models.Open("testdata/closed_f32", models.Options{Threads: 2})
	if err != nil {
		log.Fatal(err) // e.g. ONNX Runtime library not found: ... run 'make onnxruntime'
	}
	if c, ok := d.(io.Closer); ok {
		defer c.Close()
	}
	info := d.Info()
	x := restore.NewTensor(2, restore.Shape{C: info.Channels, H: 4 * info.SizeMultiple, W: 4 * info.SizeMultiple})
	eps, err := d.PredictEps(context.Background(), x, []int{999, 500})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.Name, eps.N, eps.Shape)
}

// Check a model file against its manifest and contract, as
// 'restorelab models inspect' does.
func ExampleInspect() {
	r, err := models.Inspect("testdata/wrong_shape", models.Options{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(r)
	if !r.OK() {
		fmt.Println("the model cannot be used")
	}
}
