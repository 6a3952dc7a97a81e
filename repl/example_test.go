package repl_test

import (
	"context"
	"fmt"
	"os"

	"github.com/restorelab/restorelab/repl"
)

// Restore a 4x downsampled photograph with DDRM and the analytic gaussian
// prior, a few steps at a time, going back one step on the way.
func Example() {
	sh := repl.NewShell(repl.NewSession(repl.Config{}), os.Stdout)
	for _, line := range []string{
		"load ../samples/cat.png",
		"set steps 4",
		"degrade sr4",
		"start",
		"step 2",
		"back",
		"run",
		"metrics",
	} {
		fmt.Printf("> %s\n", line)
		if err := sh.Exec(context.Background(), line); err != nil {
			fmt.Println("error:", err)
		}
	}
	// Output:
	// > load ../samples/cat.png
	// clean image: cat.png, 3x256x256
	// > set steps 4
	// steps = 4
	// > degrade sr4
	// measurement y: 3x64x64 (sr4 of cat.png, sigma_y 0)
	// > start
	// ddrm sr4: 3x64x64 -> 3x256x256, 4 steps, model gaussian, eta 0.85, eta_b 1, sigma_y 0, seed 0
	// > step 2
	// step 2/4  t 500 -> 250  PSNR 20.67 dB  SSIM 0.4336  |Hx0-y| 0.08266
	// > back
	// back at step 1/4  PSNR 16.82 dB  SSIM 0.3878  |Hx0-y| 0.1382
	// > run
	// step 4/4  t 0 -> -1  PSNR 27.44 dB  SSIM 0.6207  |Hx0-y| 0.001017
	// done: result PSNR 27.44 dB  SSIM 0.6207  |Hx0-y| 0.001141
	// > metrics
	//   step     t t_next      sigma     PSNR    SSIM    |Hx0-y|
	//      1   750    500      17.38    16.82  0.3878     0.1382
	//      2   500    250      3.443    20.67  0.4336    0.08266
	//      3   250      0      0.958    23.70  0.4783    0.04558
	//      4     0     -1       0.01    27.44  0.6207   0.001017
	// result: PSNR 27.44 dB  SSIM 0.6207  |Hx0-y| 0.001141
}
