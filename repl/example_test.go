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
	// step 2/4  t 500 -> 250  PSNR 20.94 dB  SSIM 0.4378  |Hx0-y| 0.07938
	// > back
	// back at step 1/4  PSNR 17.12 dB  SSIM 0.3904  |Hx0-y| 0.1331
	// > run
	// step 4/4  t 0 -> -1  PSNR 27.38 dB  SSIM 0.6208  |Hx0-y| 0.001021
	// done: result PSNR 27.38 dB  SSIM 0.6208  |Hx0-y| 0.001122
	// > metrics
	//   step     t t_next      sigma     PSNR    SSIM    |Hx0-y|
	//      1   750    500      17.38    17.12  0.3904     0.1331
	//      2   500    250      3.443    20.94  0.4378    0.07938
	//      3   250      0      0.958    23.66  0.4779    0.04595
	//      4     0     -1       0.01    27.38  0.6208   0.001021
	// result: PSNR 27.38 dB  SSIM 0.6208  |Hx0-y| 0.001122
}
