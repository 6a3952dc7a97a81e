package kernel

import (
	"bytes"

	"gonum.org/v1/plot"

	"github.com/restorelab/restorelab/restore"
	"github.com/restorelab/restorelab/viz"
)

// ShowTensor shows image i of t, a batch in [0, 1], as a PNG output.
func ShowTensor(t *restore.Tensor, i int) error {
	img, err := viz.Image(t, i, false)
	if err != nil {
		return err
	}
	return ShowImage(img)
}

// ShowFigure shows a viz figure (a plot, panels of plots, or a grid) as a
// PNG output.
func ShowFigure(fig viz.Figure) error {
	if !inNotebook() {
		return nil
	}
	var buf bytes.Buffer
	if err := fig.WritePNG(&buf); err != nil {
		return err
	}
	showPNG(buf.Bytes())
	return nil
}

// ShowPlot shows p drawn at width x height pixels (0 for viz's default
// size) as a PNG output.
func ShowPlot(p *plot.Plot, width, height int) error {
	return ShowFigure(viz.FromPlot(p, width, height))
}

// ShowMarkdown shows Markdown, such as bench.Markdown's tables, rendered.
func ShowMarkdown(md string) {
	if inNotebook() {
		showMarkdown(md)
	}
}
