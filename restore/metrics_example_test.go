package restore_test

import (
	"fmt"

	"github.com/restorelab/restorelab/restore"
)

func ExamplePSNR() {
	reference := []float32{0.2, 0.4, 0.6, 0.8}
	restored := []float32{0.3, 0.5, 0.7, 0.9} // off by 0.1 everywhere: MSE 0.01
	fmt.Printf("%.2f dB\n", restore.PSNR(reference, restored))
	// Output: 20.00 dB
}
