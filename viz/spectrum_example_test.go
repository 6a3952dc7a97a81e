package viz_test

import (
	"fmt"
	"log"

	"github.com/restorelab/restorelab/viz"
)

// Plot the singular values of 4x bicubic downsampling with the thresholds of
// three steps of a noisy run: at each step, the components above its line
// are noisier than the measurement and taken from it. Most components are
// not observed at all.
func ExampleSpectrumPlot() {
	d, err := runDemo()
	if err != nil {
		log.Fatal(err)
	}
	var sigmas []float64
	var labels []string
	for _, i := range []int{0, 4, 8} {
		sigmas = append(sigmas, d.steps[i].SigmaNext)
		labels = append(labels, fmt.Sprintf("t=%d", d.steps[i].T))
	}
	view := d.steps[0].Spectral
	p, err := viz.SpectrumPlot(d.op.Singulars(), view.SigmaY, sigmas, labels)
	if err != nil {
		log.Fatal(err)
	}
	if err := viz.SavePNG("testdata/spectrum.png", viz.FromPlot(p, 400, 300)); err != nil {
		log.Fatal(err)
	}
}

// Compare the energy of DDRM's estimate with the measurement's per band of
// singular values, halfway through a run.
func ExampleSpectralEnergyPlot() {
	d, err := runDemo()
	if err != nil {
		log.Fatal(err)
	}
	p, err := viz.SpectralEnergyPlot(d.steps[5].Spectral, 4)
	if err != nil {
		log.Fatal(err)
	}
	if err := viz.SavePNG("testdata/energy.png", viz.FromPlot(p, 400, 300)); err != nil {
		log.Fatal(err)
	}
}
