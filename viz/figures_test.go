package viz_test

import (
	"testing"

	"gonum.org/v1/plot/cmpimg"
)

// The examples render figures into testdata; these tests compare them with
// the committed goldens. Run go test -regen (cmpimg's flag) to rewrite the
// goldens after a deliberate change, and look at them before committing.

// delta tolerates the anti-aliasing differences that floating-point
// contraction can make between architectures, about 13 grey levels, while a
// moved line or a missing label still fails.
const delta = 0.05

func check(t *testing.T, example func(), names ...string) {
	t.Helper()
	cmpimg.CheckPlotApprox(example, t, delta, names...)
}

func TestGoldenGrid(t *testing.T)       { check(t, ExampleGrid, "grid.png") }
func TestGoldenStepGrid(t *testing.T)   { check(t, ExampleStepGrid, "stepgrid.png") }
func TestGoldenMethodGrid(t *testing.T) { check(t, ExampleMethodGrid, "methodgrid.png") }

func TestGoldenSpectrumPlot(t *testing.T)       { check(t, ExampleSpectrumPlot, "spectrum.png") }
func TestGoldenSpectralEnergyPlot(t *testing.T) { check(t, ExampleSpectralEnergyPlot, "energy.png") }

func TestGoldenCurvePlot(t *testing.T)         { check(t, ExampleCurvePlot, "curve.png") }
func TestGoldenSchedulePlot(t *testing.T)      { check(t, ExampleSchedulePlot, "schedule.png") }
func TestGoldenBarChart(t *testing.T)          { check(t, ExampleBarChart, "bars.png") }
func TestGoldenScatterThroughput(t *testing.T) { check(t, ExampleScatterThroughput, "scatter.png") }

func TestGoldenComparison(t *testing.T) { check(t, ExampleComparison, "comparison.png") }
