package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestLine(t *testing.T) {
	got := Line("ddrm", 5, 20, 10*time.Second, "t=700")
	for _, want := range []string{"ddrm [######..................] 5/20", "2.00s/step", "30s left", "t=700"} {
		if !strings.Contains(got, want) {
			t.Errorf("line %q lacks %q", got, want)
		}
	}
	if got := Line("x", 0, 0, 0, ""); !strings.Contains(got, "0/0") {
		t.Errorf("empty total: %q", got)
	}
}

func TestBarLogsPlainLinesWhenNotTerminal(t *testing.T) {
	var buf bytes.Buffer
	b := New(&buf, "bench", 3)
	b.every = 0
	b.Set(1, "cat")
	b.Set(2, "dog")
	b.Finish()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 3 || strings.ContainsAny(buf.String(), "\r\x1b") {
		t.Fatalf("want three plain lines, got %q", buf.String())
	}
	for i, want := range []string{"1/3  ", "2/3  ", "2/3  "} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %d %q lacks %q", i, lines[i], want)
		}
	}
}

func TestBarSilentWhenNotTerminalAndShort(t *testing.T) {
	var buf bytes.Buffer
	b := New(&buf, "x", 3)
	b.Set(1, "")
	b.Finish()
	if buf.Len() != 0 {
		t.Errorf("wrote %q to a non-terminal", buf.String())
	}
}
