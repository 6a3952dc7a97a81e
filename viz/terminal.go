package viz

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/disintegration/imaging"
	"github.com/mattn/go-sixel"
)

// Protocol is a way of showing images in a terminal.
type Protocol int

// The protocols WriteImage speaks. The zero value, None, shows nothing.
const (
	// None writes nothing, e.g. for logs and dumb terminals.
	None Protocol = iota
	// Kitty is the kitty graphics protocol (kitty, Ghostty).
	Kitty
	// ITerm2 is iTerm2's inline images protocol (iTerm2, WezTerm).
	ITerm2
	// Sixel is DEC sixel graphics (foot, mlterm, xterm -ti vt340, ...).
	Sixel
	// Blocks draws two pixels per character cell with the upper half block
	// '▀' in 24-bit colour; it works in any modern terminal.
	Blocks
	// Auto picks a protocol from the environment with DetectProtocol.
	Auto
)

var protocolNames = []string{None: "none", Kitty: "kitty", ITerm2: "iterm", Sixel: "sixel", Blocks: "blocks", Auto: "auto"}

func (p Protocol) String() string {
	if p < 0 || int(p) >= len(protocolNames) {
		return "Protocol(" + strconv.Itoa(int(p)) + ")"
	}
	return protocolNames[p]
}

// ParseProtocol reads a protocol name as given to --images: auto, kitty,
// iterm, sixel, blocks or none.
func ParseProtocol(name string) (Protocol, error) {
	for p, n := range protocolNames {
		if strings.EqualFold(name, n) {
			return Protocol(p), nil
		}
	}
	return None, fmt.Errorf("unknown image protocol %q; use auto, kitty, iterm, sixel, blocks or none", name)
}

// MarshalText and UnmarshalText let a Protocol be a flag (flag.TextVar) or a
// configuration field.
func (p Protocol) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseProtocol.
func (p *Protocol) UnmarshalText(b []byte) error {
	q, err := ParseProtocol(string(b))
	if err != nil {
		return err
	}
	*p = q
	return nil
}

// DetectProtocol guesses the terminal's best image protocol from its
// environment, read through getenv (os.Getenv, or a map in tests). It does
// not check that the output is a terminal; callers do that first.
//
// Inside tmux or screen, pixel protocols need passthrough settings that are
// rarely on, so they get Blocks. TERM=dumb gets None.
func DetectProtocol(getenv func(string) string) Protocol {
	term, prog := getenv("TERM"), getenv("TERM_PROGRAM")
	switch {
	case term == "dumb":
		return None
	case getenv("TMUX") != "" || strings.HasPrefix(term, "screen") || strings.HasPrefix(term, "tmux"):
		return Blocks
	case getenv("KITTY_WINDOW_ID") != "" || term == "xterm-kitty" || term == "xterm-ghostty" || prog == "ghostty":
		return Kitty
	case prog == "iTerm.app" || prog == "WezTerm" || getenv("LC_TERMINAL") == "iTerm2":
		return ITerm2
	case strings.Contains(term, "sixel") || term == "mlterm" || strings.HasPrefix(term, "foot"):
		return Sixel
	}
	// 256-colour terminals mostly map 24-bit colours to their nearest, so
	// they get blocks too, whatever COLORTERM says.
	return Blocks
}

// cellWidth is the assumed width of a character cell in pixels. A writer
// cannot ask the terminal, and maxCols only bounds the size, so a rough
// figure is enough.
const cellWidth = 10

// WriteImage shows img in a terminal using protocol p (Auto detects one
// from os.Getenv), followed by a newline. maxCols bounds the width in
// character cells: larger images are shown smaller; 0 means 80.
func WriteImage(w io.Writer, img image.Image, p Protocol, maxCols int) error {
	if img == nil || img.Bounds().Empty() {
		return errors.New("viz: no image to show")
	}
	if maxCols <= 0 {
		maxCols = 80
	}
	if p == Auto {
		p = DetectProtocol(os.Getenv)
	}
	switch p {
	case None:
		return nil
	case Kitty:
		return writeKitty(w, img, maxCols)
	case ITerm2:
		return writeITerm(w, img, maxCols)
	case Sixel:
		return writeSixel(w, img, maxCols)
	case Blocks:
		return writeBlocks(w, img, maxCols)
	}
	return fmt.Errorf("viz: unknown image protocol %v", p)
}

// cols is the width in cells of img when it must shrink to maxCols, and 0
// when it fits and can be shown at its own size.
func cols(img image.Image, maxCols int) int {
	if img.Bounds().Dx() > maxCols*cellWidth {
		return maxCols
	}
	return 0
}

func pngBase64(img image.Image) (string, int, error) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", 0, err
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes()), buf.Len(), nil
}

// kittyChunk is the largest payload of one kitty graphics escape.
const kittyChunk = 4096

// writeKitty transmits and displays a PNG (a=T, f=100) in chunks of at most
// 4096 base64 bytes; m=1 says more chunks follow. Only the first chunk
// carries the keys. q=2 silences the terminal's replies, which would
// otherwise arrive as input to the REPL.
func writeKitty(w io.Writer, img image.Image, maxCols int) error {
	data, _, err := pngBase64(img)
	if err != nil {
		return err
	}
	keys := "a=T,f=100,q=2"
	if c := cols(img, maxCols); c > 0 {
		keys += ",c=" + strconv.Itoa(c)
	}
	bw := bufio.NewWriter(w)
	for first := true; first || data != ""; first = false {
		n := min(len(data), kittyChunk)
		more := 0
		if n < len(data) {
			more = 1
		}
		bw.WriteString("\x1b_G")
		if first {
			bw.WriteString(keys + ",")
		}
		fmt.Fprintf(bw, "m=%d;%s\x1b\\", more, data[:n])
		data = data[n:]
	}
	bw.WriteString("\n")
	return bw.Flush()
}

// writeITerm sends an OSC 1337 inline file, ended by BEL.
func writeITerm(w io.Writer, img image.Image, maxCols int) error {
	data, size, err := pngBase64(img)
	if err != nil {
		return err
	}
	args := "inline=1;size=" + strconv.Itoa(size)
	if c := cols(img, maxCols); c > 0 {
		args += ";width=" + strconv.Itoa(c) // the height follows the aspect ratio
	}
	_, err = fmt.Fprintf(w, "\x1b]1337;File=%s:%s\a\n", args, data)
	return err
}

// writeSixel shrinks img itself, since sixel has no notion of cells.
func writeSixel(w io.Writer, img image.Image, maxCols int) error {
	if c := cols(img, maxCols); c > 0 {
		img = imaging.Resize(img, c*cellWidth, 0, imaging.Box)
	}
	bw := bufio.NewWriter(w)
	if err := sixel.NewEncoder(bw).Encode(img); err != nil {
		return err
	}
	bw.WriteString("\n")
	return bw.Flush()
}

// writeBlocks prints each pair of pixel rows as one text row of '▀' whose
// foreground is the upper pixel and background the lower one, which gives
// square pixels in cells about twice as tall as wide. Colours are only
// sent when they change. Translucent pixels are shown over black.
func writeBlocks(w io.Writer, img image.Image, maxCols int) error {
	if img.Bounds().Dx() > maxCols {
		img = imaging.Resize(img, maxCols, 0, imaging.Box)
	}
	b := img.Bounds()
	bw := bufio.NewWriter(w)
	rgb := func(x, y int) [3]uint8 {
		r, g, b, _ := img.At(x, y).RGBA() // premultiplied: over black
		return [3]uint8{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8)}
	}
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		var fg, bg *[3]uint8
		for x := b.Min.X; x < b.Max.X; x++ {
			up := rgb(x, y)
			if fg == nil || *fg != up {
				fmt.Fprintf(bw, "\x1b[38;2;%d;%d;%dm", up[0], up[1], up[2])
				fg = &up
			}
			if y+1 < b.Max.Y {
				lo := rgb(x, y+1)
				if bg == nil || *bg != lo {
					fmt.Fprintf(bw, "\x1b[48;2;%d;%d;%dm", lo[0], lo[1], lo[2])
					bg = &lo
				}
			}
			bw.WriteString("▀")
		}
		// Reset before the newline so the colour does not fill the rest of the line.
		bw.WriteString("\x1b[0m\n")
	}
	return bw.Flush()
}
