package viz_test

import (
	"bytes"
	"encoding/base64"
	"flag"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/mattn/go-sixel"

	"github.com/restorelab/restorelab/viz"
)

func TestDetectProtocol(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want viz.Protocol
	}{
		{map[string]string{"TERM": "xterm-kitty"}, viz.Kitty},
		{map[string]string{"TERM": "xterm-256color", "KITTY_WINDOW_ID": "1"}, viz.Kitty},
		{map[string]string{"TERM": "xterm-ghostty"}, viz.Kitty},
		{map[string]string{"TERM_PROGRAM": "iTerm.app", "TERM": "xterm-256color"}, viz.ITerm2},
		{map[string]string{"TERM_PROGRAM": "WezTerm", "TERM": "xterm-256color"}, viz.ITerm2},
		{map[string]string{"LC_TERMINAL": "iTerm2", "TERM": "xterm-256color"}, viz.ITerm2},
		{map[string]string{"TERM": "xterm-sixel"}, viz.Sixel},
		{map[string]string{"TERM": "mlterm"}, viz.Sixel},
		{map[string]string{"TERM": "foot"}, viz.Sixel},
		{map[string]string{"TERM": "foot-extra"}, viz.Sixel},
		{map[string]string{"TERM": "xterm-256color", "COLORTERM": "truecolor"}, viz.Blocks},
		{map[string]string{"TERM": "xterm-256color", "COLORTERM": "24bit"}, viz.Blocks},
		{map[string]string{"TERM": "xterm"}, viz.Blocks},
		{map[string]string{}, viz.Blocks},
		{map[string]string{"TERM": "dumb"}, viz.None},
		// Multiplexers swallow pixel protocols without passthrough.
		{map[string]string{"TERM": "tmux-256color", "TMUX": "/tmp/tmux", "KITTY_WINDOW_ID": "1"}, viz.Blocks},
		{map[string]string{"TERM": "screen-256color", "TERM_PROGRAM": "iTerm.app"}, viz.Blocks},
	} {
		got := viz.DetectProtocol(func(k string) string { return c.env[k] })
		if got != c.want {
			t.Errorf("DetectProtocol(%v) = %v, want %v", c.env, got, c.want)
		}
	}
}

func TestParseProtocol(t *testing.T) {
	for name, want := range map[string]viz.Protocol{
		"auto": viz.Auto, "kitty": viz.Kitty, "iterm": viz.ITerm2, "sixel": viz.Sixel,
		"blocks": viz.Blocks, "none": viz.None, "Kitty": viz.Kitty,
	} {
		got, err := viz.ParseProtocol(name)
		if err != nil || got != want {
			t.Errorf("ParseProtocol(%q) = %v, %v; want %v", name, got, err, want)
		}
		if strings.ToLower(name) != got.String() {
			t.Errorf("%v.String() = %q, want %q", got, got.String(), name)
		}
	}
	if _, err := viz.ParseProtocol("vt100"); err == nil || !strings.Contains(err.Error(), "auto, kitty") {
		t.Errorf("ParseProtocol(vt100) error = %v, want one listing the choices", err)
	}

	// As a command-line flag.
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	p := viz.None
	fs.TextVar(&p, "images", viz.Auto, "")
	if p != viz.Auto {
		t.Errorf("flag default = %v, want auto", p)
	}
	if err := fs.Parse([]string{"--images", "sixel"}); err != nil || p != viz.Sixel {
		t.Errorf("--images sixel gave %v, %v", p, err)
	}
	fs.SetOutput(&bytes.Buffer{})
	if err := fs.Parse([]string{"--images", "png"}); err == nil {
		t.Error("--images png was accepted")
	}
}

// noise returns a w x h image of random colours, which compresses badly and
// so spans several kitty chunks.
func noise(w, h int) *image.NRGBA {
	rng := rand.New(rand.NewPCG(1, 2))
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.IntN(256))
		if i%4 == 3 {
			img.Pix[i] = 255
		}
	}
	return img
}

func samePixels(t *testing.T, got, want image.Image) {
	t.Helper()
	if got.Bounds() != want.Bounds() {
		t.Fatalf("decoded image is %v, want %v", got.Bounds(), want.Bounds())
	}
	b := want.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r1, g1, b1, a1 := got.At(x, y).RGBA()
			r2, g2, b2, a2 := want.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
				t.Fatalf("pixel (%d, %d) = %v, want %v", x, y, got.At(x, y), want.At(x, y))
			}
		}
	}
}

func decodePNG(t *testing.T, b64 string) image.Image {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestWriteImageKitty(t *testing.T) {
	img := noise(64, 48)
	var buf bytes.Buffer
	if err := viz.WriteImage(&buf, img, viz.Kitty, 80); err != nil {
		t.Fatal(err)
	}
	out, ok := strings.CutSuffix(buf.String(), "\n")
	if !ok {
		t.Fatal("output does not end with a newline")
	}
	chunks := strings.SplitAfter(out, "\x1b\\")
	if chunks[len(chunks)-1] != "" {
		t.Fatalf("output has trailing bytes %q", chunks[len(chunks)-1])
	}
	chunks = chunks[:len(chunks)-1]
	if len(chunks) < 3 {
		t.Fatalf("%d chunks; the test image should need at least 3", len(chunks))
	}
	chunkRE := regexp.MustCompile(`^\x1b_G((?:a=T,f=100,q=2,)?)m=([01]);([A-Za-z0-9+/=]*)\x1b\\$`)
	var payload strings.Builder
	for i, c := range chunks {
		m := chunkRE.FindStringSubmatch(c)
		if m == nil {
			t.Fatalf("chunk %d %.40q... is malformed", i, c)
		}
		if first := m[1] != ""; first != (i == 0) {
			t.Errorf("chunk %d: keys %q; only the first chunk carries them", i, m[1])
		}
		if more := m[2] == "1"; more != (i < len(chunks)-1) {
			t.Errorf("chunk %d of %d has m=%s", i, len(chunks), m[2])
		}
		if len(m[3]) > 4096 || (i < len(chunks)-1 && len(m[3]) != 4096) {
			t.Errorf("chunk %d carries %d bytes; all but the last carry 4096", i, len(m[3]))
		}
		payload.WriteString(m[3])
	}
	samePixels(t, decodePNG(t, payload.String()), img)

	// A small image fits one chunk; a wide one is scaled to maxCols cells.
	buf.Reset()
	small := noise(2, 2)
	if err := viz.WriteImage(&buf, small, viz.Kitty, 80); err != nil {
		t.Fatal(err)
	}
	var enc bytes.Buffer
	png.Encode(&enc, small)
	want := "\x1b_Ga=T,f=100,q=2,m=0;" + base64.StdEncoding.EncodeToString(enc.Bytes()) + "\x1b\\\n"
	if buf.String() != want {
		t.Errorf("small image:\n got %q\nwant %q", buf.String(), want)
	}
	buf.Reset()
	if err := viz.WriteImage(&buf, noise(200, 10), viz.Kitty, 8); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "\x1b_Ga=T,f=100,q=2,c=8,m=") {
		t.Errorf("wide image starts %.30q, want the column count c=8", buf.String())
	}
}

func TestWriteImageITerm(t *testing.T) {
	img := noise(30, 20)
	var buf bytes.Buffer
	if err := viz.WriteImage(&buf, img, viz.ITerm2, 80); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`^\x1b]1337;File=inline=1;size=(\d+):([A-Za-z0-9+/=]+)\a\n$`).FindStringSubmatch(buf.String())
	if m == nil {
		t.Fatalf("malformed output %.60q...", buf.String())
	}
	raw, _ := base64.StdEncoding.DecodeString(m[2])
	if size, _ := strconv.Atoi(m[1]); size != len(raw) {
		t.Errorf("size=%s but the file has %d bytes", m[1], len(raw))
	}
	samePixels(t, decodePNG(t, m[2]), img)

	buf.Reset()
	if err := viz.WriteImage(&buf, noise(200, 10), viz.ITerm2, 8); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^\x1b]1337;File=inline=1;size=\d+;width=8:`).MatchString(buf.String()) {
		t.Errorf("wide image starts %.50q, want width=8", buf.String())
	}
}

func TestWriteImageBlocks(t *testing.T) {
	red, blue := color.NRGBA{R: 255, A: 255}, color.NRGBA{B: 255, A: 255}
	img := image.NewNRGBA(image.Rect(0, 0, 3, 3))
	for i := range 9 {
		img.Set(i%3, i/3, red)
	}
	img.Set(2, 1, blue)
	img.Set(1, 2, color.NRGBA{G: 255, A: 128}) // half transparent: over black
	var buf bytes.Buffer
	if err := viz.WriteImage(&buf, img, viz.Blocks, 80); err != nil {
		t.Fatal(err)
	}
	// Colours are sent only when they change; the odd last row has no
	// lower pixel and keeps the terminal's background.
	want := "\x1b[38;2;255;0;0m\x1b[48;2;255;0;0m▀▀\x1b[48;2;0;0;255m▀\x1b[0m\n" +
		"\x1b[38;2;255;0;0m▀\x1b[38;2;0;128;0m▀\x1b[38;2;255;0;0m▀\x1b[0m\n"
	if buf.String() != want {
		t.Errorf("got\n%q\nwant\n%q", buf.String(), want)
	}

	buf.Reset()
	if err := viz.WriteImage(&buf, noise(40, 10), viz.Blocks, 8); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 1 || strings.Count(lines[0], "▀") != 8 {
		t.Errorf("40x10 image at 8 columns gave %d lines, %d cells in the first; want 1 line of 8", len(lines), strings.Count(lines[0], "▀"))
	}
}

func TestWriteImageSixel(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 12, 10))
	for y := range 10 {
		for x := range 12 {
			c := color.NRGBA{R: 255, A: 255}
			if x >= 6 {
				c = color.NRGBA{B: 255, A: 255}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := viz.WriteImage(&buf, img, viz.Sixel, 80); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.HasPrefix(out, "\x1bP") || !strings.HasSuffix(out, "\x1b\\\n") {
		t.Fatalf("sixel output %.20q...%q is not one DCS sequence and a newline", out, out[max(0, len(out)-4):])
	}
	var got image.Image
	if err := sixel.NewDecoder(strings.NewReader(strings.TrimSuffix(out, "\n"))).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.Bounds().Dx() != 12 || got.Bounds().Dy() < 10 {
		t.Fatalf("decoded %v, want 12 wide and at least 10 tall (sixels come in bands of 6)", got.Bounds())
	}
	for _, p := range []struct {
		x, y int
		want color.NRGBA
	}{{1, 1, color.NRGBA{R: 255, A: 255}}, {10, 8, color.NRGBA{B: 255, A: 255}}} {
		r, g, b, _ := got.At(p.x, p.y).RGBA()
		if uint8(r>>8) < 250 && p.want.R == 255 || uint8(b>>8) < 250 && p.want.B == 255 || g>>8 > 5 {
			t.Errorf("pixel (%d, %d) decodes to %v, want about %v", p.x, p.y, got.At(p.x, p.y), p.want)
		}
	}

	buf.Reset()
	if err := viz.WriteImage(&buf, noise(400, 20), viz.Sixel, 8); err != nil {
		t.Fatal(err)
	}
	if err := sixel.NewDecoder(strings.NewReader(strings.TrimSuffix(buf.String(), "\n"))).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.Bounds().Dx() != 80 {
		t.Errorf("400 px wide image at 8 columns is %d px wide, want 80", got.Bounds().Dx())
	}
}

func TestWriteImageNoneAndErrors(t *testing.T) {
	var buf bytes.Buffer
	if err := viz.WriteImage(&buf, noise(4, 4), viz.None, 80); err != nil || buf.Len() != 0 {
		t.Errorf("None wrote %q, %v; want nothing", buf.String(), err)
	}
	if err := viz.WriteImage(&buf, nil, viz.Blocks, 80); err == nil {
		t.Error("nil image accepted")
	}
	if err := viz.WriteImage(&buf, image.NewNRGBA(image.Rect(0, 0, 0, 3)), viz.Blocks, 80); err == nil {
		t.Error("empty image accepted")
	}
	if err := viz.WriteImage(&buf, noise(4, 4), viz.Protocol(42), 80); err == nil {
		t.Error("unknown protocol accepted")
	}
}
