package restore_test

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/restorelab/restorelab/restore"
)

// Denoise an image drawn from the prior itself, for which the posterior mean
// is the best estimate there is.
func ExampleGaussianDenoiser() {
	g := restore.NewGaussianDenoiser(nil)
	info := g.Info()
	fmt.Println(info.Name, info.Channels, info.SizeMultiple)

	x0, err := g.Sample(1, 1, restore.Shape{C: 3, H: 64, W: 64})
	if err != nil {
		panic(err)
	}
	// Noise it to step 100: x_t = sqrt(ab) x0 + sqrt(1 - ab) eps.
	const t = 100
	ab := info.Schedule.AlphaBar(t)
	rng := rand.New(rand.NewPCG(2, 3))
	xt := x0.Clone()
	for i, v := range x0.Data {
		xt.Data[i] = float32(math.Sqrt(ab)*float64(v) + math.Sqrt(1-ab)*rng.NormFloat64())
	}
	x0hat, err := g.PosteriorMean(xt, []int{t})
	if err != nil {
		panic(err)
	}
	noisy := xt.Clone()
	for i, v := range xt.Data {
		noisy.Data[i] = v / float32(math.Sqrt(ab))
	}
	// PSNR for a [-1, 1] range of 2.
	psnr := func(x *restore.Tensor) float64 {
		var se float64
		for i, v := range x.Data {
			d := float64(v - x0.Data[i])
			se += d * d
		}
		return 10 * math.Log10(4/(se/float64(len(x.Data))))
	}
	fmt.Printf("PSNR %.0f dB noisy, %.0f dB denoised\n", psnr(noisy), psnr(x0hat))
	// Output:
	// gaussian 3 1
	// PSNR 15 dB noisy, 24 dB denoised
}
