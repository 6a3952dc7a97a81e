// Package viz draws what restorelab's samplers do, for notebooks, the
// terminal REPL and papers.
//
// Pictures:
//   - Image turns one image of a restore.Tensor into pixels.
//   - Grid lays images out with row and column labels; StepGrid shows the
//     estimate x0_hat across the steps of a run and MethodGrid puts
//     restorations side by side.
//
// Plots, built on gonum.org/v1/plot and returned as *plot.Plot for further
// styling:
//   - SpectrumPlot shows an operator's singular values with the thresholds
//     sigma_y / sigma_t that decide, at each step, which components DDRM
//     takes from the measurement; SpectralEnergyPlot compares the estimate
//     with the measurement per band of singular values.
//   - CurvePlot (with StepSeries), SchedulePlot, BarChart (with PivotBars)
//     and ScatterThroughput draw metrics, noise schedules and the study's
//     results.
//
// A Figure (FromPlot, Panels, FromImage) renders to an image.Image for
// inline display, and SavePNG and SaveSVG write it to a file atomically.
// WriteImage shows an image in a terminal with the kitty, iTerm2 or sixel
// protocols, or with coloured half blocks anywhere else.
//
// Text is set in the Liberation fonts that ship with gonum/plot, so a figure
// renders to the same pixels on every machine of one architecture; the
// package's tests compare figures with golden images in testdata.
package viz
