package repl_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

var (
	buildOnce sync.Once
	binDir    string
	binErr    error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// binary builds restorelab once for the tests that run it.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "repl-test-"); binErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", binDir, "../cmd/restorelab").CombinedOutput()
		if err != nil {
			binErr = errors.New(string(out))
		}
	})
	if binErr != nil {
		t.Fatalf("building restorelab: %v", binErr)
	}
	return filepath.Join(binDir, "restorelab")
}

// timeout bounds each wait: the machine running the tests may be busy.
const timeout = 60 * time.Second

// screen is a terminal a test types into and reads from.
type screen struct {
	t    *testing.T
	f    *os.File
	mu   sync.Mutex
	out  bytes.Buffer
	seen int // output before this offset has been matched
	done chan struct{}
}

func startScreen(t *testing.T, cmd *exec.Cmd) *screen {
	t.Helper()
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 120})
	if err != nil {
		t.Fatal(err)
	}
	s := &screen{t: t, f: f, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			s.mu.Lock()
			s.out.Write(buf[:n])
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		f.Close()
	})
	return s
}

func (s *screen) send(keys string) {
	s.t.Helper()
	if _, err := io.WriteString(s.f, keys); err != nil {
		s.t.Fatal(err)
	}
}

// expect waits for want in the output not yet matched and returns that
// output up to the end of want.
func (s *screen) expect(want string) string {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s.mu.Lock()
		text := s.out.String()[s.seen:]
		if i := strings.Index(text, want); i >= 0 {
			s.seen += i + len(want)
			s.mu.Unlock()
			return text[:i+len(want)]
		}
		s.mu.Unlock()
		if time.Now().After(deadline) {
			s.t.Fatalf("no %q after %v; the screen shows:\n%s", want, timeout, text)
		}
		select {
		case <-s.done:
			s.t.Fatalf("restorelab ended without printing %q; it printed:\n%s", want, text)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// TestTerminal drives the REPL on a pseudo-terminal the way a person would.
func TestTerminal(t *testing.T) {
	bin := binary(t)
	history := filepath.Join(t.TempDir(), "history")
	cmd := exec.Command(bin, "repl", "--images", "none")
	cmd.Env = append(os.Environ(), "RESTORELAB_HISTORY="+history, "TERM=xterm-256color")
	s := startScreen(t, cmd)
	const prompt = "restorelab> "
	s.expect(prompt)

	// Tab completes a unique command, and lists the tasks a prefix fits.
	s.send("he\t\r")
	s.expect("Commands:")
	s.expect(prompt)
	s.send("set task sr\t")
	s.expect("sr4-noisy")
	s.send("4-n\t\r")
	s.expect("task = sr4-noisy")

	s.send("set task sr4\r")
	s.expect("task = sr4")
	s.send("set model gaussian\r")
	s.send("set steps 5\r")
	s.expect("steps = 5")
	s.send("load ../samples/cat.png\r")
	s.expect("clean image: cat.png, 3x256x256")
	s.send("degrade\r")
	s.expect("measurement y: 3x64x64")
	s.send("start\r")
	s.expect("restorelab 0/5> ")
	s.send("step\r")
	s.expect("step 1/5")
	s.send("step 2\r")
	s.expect("step 3/5")
	s.send("back\r")
	s.expect("back at step 2/5")
	s.send("frob\r")
	s.expect(`error: unknown command "frob"`)
	s.expect("restorelab 2/5> ")

	// Ctrl-C stops a long run between steps and leaves it usable.
	s.send("set steps 1000\r")
	s.send("start\r")
	s.expect("restorelab 0/1000> ")
	s.send("run\r")
	s.expect("ddrm [")
	s.expect("/1000")
	s.send("\x03")
	msg := s.expect("the run is intact")
	m := regexp.MustCompile(`interrupted at step (\d+)/1000`).FindStringSubmatch(msg)
	if m == nil || m[1] == "0" || m[1] == "1000" {
		t.Fatalf("no interruption mid-run in %q", msg)
	}
	s.expect("restorelab " + m[1] + "/1000> ")
	s.send("step\r")
	s.expect("/1000  t ")
	s.send("metrics\r")
	s.expect("result: PSNR")

	// Ctrl-C at the prompt clears the line; Ctrl-D leaves.
	s.send("status\x03")
	s.expect("^C")
	s.send("\x04")
	select {
	case <-s.done:
	case <-time.After(timeout):
		t.Fatal("Ctrl-D did not end the REPL")
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit: %v", err)
	}
	if h, _ := os.ReadFile(history); !strings.Contains(string(h), "degrade\n") {
		t.Errorf("history file holds %q", h)
	}
}

// TestTerminalDoubleInterrupt leaves on a second Ctrl-C at an empty prompt.
func TestTerminalDoubleInterrupt(t *testing.T) {
	cmd := exec.Command(binary(t), "repl", "--images", "blocks")
	cmd.Env = append(os.Environ(), "RESTORELAB_HISTORY="+filepath.Join(t.TempDir(), "h"))
	s := startScreen(t, cmd)
	s.expect("restorelab> ")
	s.send("load ../samples/cat.png\r")
	s.expect("clean image")
	s.send("show clean\r")
	s.expect("\x1b[38;2;")
	s.expect("▀\x1b[0m")
	// Ctrl-C reaches readline only once it reads again: before, the
	// terminal turns it into a signal.
	s.expect("restorelab> ")
	s.send("\x03")
	s.expect("Ctrl-C again")
	s.send("\x03")
	select {
	case <-s.done:
	case <-time.After(timeout):
		t.Fatal("a second Ctrl-C did not end the REPL")
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit: %v", err)
	}
}

func TestScripts(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	cat, err := os.ReadFile("../samples/cat.png")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cat.png"), cat, 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(stdin io.Reader, args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		cmd := exec.Command(bin, append([]string{"repl"}, args...)...)
		cmd.Dir, cmd.Stdin, cmd.Stdout, cmd.Stderr = dir, stdin, &out, &errOut
		err := cmd.Run()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
	}

	session, _ := filepath.Abs("testdata/session.repl")
	code, out, errOut := run(nil, "--script", session)
	if code != 0 || errOut != "" {
		t.Fatalf("session.repl: exit %d, errors:\n%s", code, errOut)
	}
	for _, want := range []string{"restorelab> degrade sr4\n", "back at step 1/6", "done: result PSNR", "wrote metrics.csv", "baseline sr4"} {
		if !strings.Contains(out, want) {
			t.Errorf("session.repl output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "result.png")); err != nil {
		t.Error(err)
	}

	failing, _ := filepath.Abs("testdata/failing.repl")
	code, out, errOut = run(nil, "--script", failing)
	want := failing + ":4: no run; start one first\nrestorelab repl: 1 of 4 commands failed\n"
	if code != 1 || errOut != want {
		t.Errorf("failing.repl: exit %d, errors %q; want 1, %q", code, errOut, want)
	}
	if !strings.Contains(out, "usage: step [N]") {
		t.Errorf("failing.repl stopped at its failure:\n%s", out)
	}

	// Commands on standard input are a script too.
	code, out, _ = run(strings.NewReader("set seed 7\nstatus\n"))
	if code != 0 || !strings.Contains(out, "restorelab> set seed 7\nseed = 7\n") {
		t.Errorf("stdin script: exit %d, output:\n%s", code, out)
	}
	if code, _, errOut = run(nil, "--images", "frob", "--script", session); code != 1 || !strings.Contains(errOut, "unknown image protocol") {
		t.Errorf("--images frob: exit %d, %q", code, errOut)
	}
}
