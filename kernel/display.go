package kernel

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html"
	"image"
	"image/png"
	"strings"

	"github.com/janpfeifer/gonb/gonbui"
)

// The package's only ways to reach the notebook; tests replace them. Each
// waits until GoNB has the output (gonbui.Sync): a cell's program may exit
// right after showing something, and GoNB drops what is still in transit.
var (
	// showHTML shows h as a new output when id is empty, and otherwise in
	// the output block id, created on first use and replaced thereafter.
	showHTML = func(id, h string) {
		if id == "" {
			gonbui.DisplayHTML(h)
		} else {
			gonbui.UpdateHTML(id, h)
		}
		gonbui.Sync()
	}
	showPNG = func(png []byte) {
		gonbui.DisplayPng(png)
		gonbui.Sync()
	}
	showMarkdown = func(md string) {
		gonbui.DisplayMarkdown(md)
		gonbui.Sync()
	}
)

// inNotebook reports whether the program runs in a GoNB cell.
func inNotebook() bool { return gonbui.IsNotebook }

// ShowHTML shows an HTML fragment as the cell's output.
func ShowHTML(h string) {
	if inNotebook() {
		showHTML("", h)
	}
}

// ShowImage shows img as a PNG output.
func ShowImage(img image.Image) error {
	if !inNotebook() {
		return nil
	}
	b, err := encodePNG(img)
	if err != nil {
		return err
	}
	showPNG(b)
	return nil
}

// ShowTable shows an HTML table with a header row. Cells are text: HTML
// special characters in them are escaped.
func ShowTable(header []string, rows [][]string) {
	if inNotebook() {
		showHTML("", TableHTML(header, rows))
	}
}

// TableHTML returns header and rows as an HTML table, escaping every cell.
// Rows shorter than the header are padded with empty cells.
func TableHTML(header []string, rows [][]string) string {
	var b strings.Builder
	b.WriteString(`<table style="border-collapse:collapse;font-variant-numeric:tabular-nums">`)
	cell := func(tag, text string) {
		fmt.Fprintf(&b, `<%s style="border:1px solid #ccc;padding:2px 8px;text-align:left">%s</%s>`, tag, html.EscapeString(text), tag)
	}
	if len(header) > 0 {
		b.WriteString("<thead><tr>")
		for _, h := range header {
			cell("th", h)
		}
		b.WriteString("</tr></thead>")
	}
	b.WriteString("<tbody>")
	for _, r := range rows {
		b.WriteString("<tr>")
		for _, c := range r {
			cell("td", c)
		}
		for range len(header) - len(r) {
			cell("td", "")
		}
		b.WriteString("</tr>")
	}
	b.WriteString("</tbody></table>")
	return b.String()
}

// ImageHTML returns an <img> element showing img inline as a PNG data URL,
// with alt text and, when caption is not empty, a caption below it.
func ImageHTML(img image.Image, caption string) (string, error) {
	src, err := DataURL(img)
	if err != nil {
		return "", err
	}
	tag := fmt.Sprintf(`<img src="%s" alt="%s" style="image-rendering:pixelated">`, src, html.EscapeString(caption))
	if caption == "" {
		return tag, nil
	}
	return fmt.Sprintf(`<figure style="display:inline-block;margin:2px;text-align:center">%s<figcaption style="font-size:small">%s</figcaption></figure>`,
		tag, html.EscapeString(caption)), nil
}

// DataURL encodes img as a PNG data URL, for <img src> in HTML outputs.
func DataURL(img image.Image) (string, error) {
	b, err := encodePNG(img)
	if err != nil {
		return "", err
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(b), nil
}

func encodePNG(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("encoding the image as PNG: %w", err)
	}
	return buf.Bytes(), nil
}
