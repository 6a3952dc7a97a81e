package viz_test

import (
	"fmt"
	"log"
	"math"

	"gonum.org/v1/plot"

	"github.com/restorelab/restorelab/restore"
	"github.com/restorelab/restorelab/viz"
)

// Plot the PSNR of DDRM's estimate x0_hat at every step of a run, one curve
// per image, with time running from left to right.
func ExampleCurvePlot() {
	d, err := runDemo()
	if err != nil {
		log.Fatal(err)
	}
	var series []viz.Series
	for b := range d.clean.N {
		s, err := viz.StepSeries(fmt.Sprintf("image %d", b+1), d.steps, func(info *restore.StepInfo) float64 {
			x0 := restore.NewTensor(1, info.X0Hat.Shape)
			copy(x0.Data, info.X0Hat.Item(b))
			x0.ToUnit().Clamp(0, 1)
			return restore.PSNR(x0.Data, d.clean.Item(b))
		})
		if err != nil {
			log.Fatal(err)
		}
		series = append(series, s)
	}
	p, err := viz.CurvePlot("PSNR of x0_hat", "t", "PSNR (dB)", series...)
	if err != nil {
		log.Fatal(err)
	}
	p.X.Scale = plot.InvertedScale{Normalizer: plot.LinearScale{}}
	fig := viz.FromPlot(p, 400, 300)
	if err := viz.SavePNG("testdata/curve.png", fig); err != nil {
		log.Fatal(err)
	}
	if err := viz.SaveSVG("testdata/curve.svg", fig); err != nil {
		log.Fatal(err)
	}
}

// Show DDPM's linear schedule with the steps a 10-step DDRM run visits.
func ExampleSchedulePlot() {
	s := restore.DefaultDDPMSchedule()
	steps, err := s.TimeSteps(restore.SkipSteps, 10)
	if err != nil {
		log.Fatal(err)
	}
	sigma, alphaBar, err := viz.SchedulePlot(s, steps...)
	if err != nil {
		log.Fatal(err)
	}
	if err := viz.SavePNG("testdata/schedule.png", viz.Panels(640, 260, sigma, alphaBar)); err != nil {
		log.Fatal(err)
	}
}

// Compare methods per task; NaN leaves out a method that was not run.
func ExampleBarChart() {
	p, err := viz.BarChart("PSNR by task", "PSNR (dB)", []string{"sr4", "deblur", "denoise"}, []viz.BarSeries{
		{Name: "baseline", Values: []float64{24.1, 26.3, 20.0}},
		{Name: "DDRM, 20 steps", Values: []float64{27.5, 31.2, 29.4}},
		{Name: "DDRM, 100 steps", Values: []float64{27.9, math.NaN(), 29.8}},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := viz.SavePNG("testdata/bars.png", viz.FromPlot(p, 400, 300)); err != nil {
		log.Fatal(err)
	}
}

// Place methods by speed and quality, as in the study's FID-against-
// throughput figure.
func ExampleScatterThroughput() {
	p, err := viz.ScatterThroughput("Quality against speed", "FID (lower is better)", []viz.ScatterPoint{
		{Label: "bicubic", ImagesPerSecond: 900, Value: 82},
		{Label: "DDRM 20", ImagesPerSecond: 2.5, Value: 38},
		{Label: "DDRM 100", ImagesPerSecond: 0.5, Value: 33},
		{Label: "DDPM 1000", ImagesPerSecond: 0.05, Value: 29},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := viz.SavePNG("testdata/scatter.png", viz.FromPlot(p, 400, 300)); err != nil {
		log.Fatal(err)
	}
}
