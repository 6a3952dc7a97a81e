package bench_test

import (
	"fmt"

	"github.com/restorelab/restorelab/bench"
)

func ExampleSummarise() {
	results := []bench.Result{
		{Image: "a", Task: "sr4", Method: "ddrm", PSNR: 26, SSIM: 0.7, Seconds: 4, NFE: 20},
		{Image: "b", Task: "sr4", Method: "ddrm", PSNR: 28, SSIM: 0.8, Seconds: 4, NFE: 20},
	}
	for _, s := range bench.Summarise(results) {
		fmt.Printf("%s %s: %d images, PSNR %.1f, %.2f img/s\n", s.Task, s.Method, s.Images, s.PSNR, s.ImagesPerSecond)
	}
	// Output: sr4 ddrm: 2 images, PSNR 27.0, 0.25 img/s
}
