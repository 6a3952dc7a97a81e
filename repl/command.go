package repl

import (
	"errors"
	"fmt"
	"strings"
)

// Command is one parsed command line.
type Command struct {
	Name string // the command's canonical name; "" for a blank or comment line
	Args []string
}

// String returns the command as a line that Parse reads back, quoting
// arguments where needed.
func (c Command) String() string {
	var b strings.Builder
	b.WriteString(c.Name)
	for _, a := range c.Args {
		b.WriteByte(' ')
		b.WriteString(quote(a))
	}
	return b.String()
}

// argKind says what an argument is, for completion.
type argKind int

const (
	argNone argKind = iota
	argCommand
	argImageFile // a file LoadImage reads
	argFile      // any file
	argTask
	argKey
	argValue // a value of the setting named by the previous argument
	argPicture
	argAll
)

// spec describes a command: its usage line, help and arguments.
type spec struct {
	name, usage, summary, help string
	min, max                   int
	args                       []argKind
}

// specs lists the commands in the order help shows them.
var specs = []spec{
	{name: "help", usage: "help [COMMAND]", summary: "list the commands, or explain one", max: 1, args: []argKind{argCommand},
		help: "Tab completes commands, tasks, settings, models and file names. Ctrl-C stops a run between steps; Ctrl-C twice at an empty prompt, Ctrl-D or quit leaves."},
	{name: "load", usage: "load FILE", summary: "load a clean image", min: 1, max: 1, args: []argKind{argImageFile},
		help: "Reads a PNG, JPEG or .npy image in [0, 1]; gray images become RGB. It is what degrade degrades and what PSNR and SSIM compare with."},
	{name: "measure", usage: "measure FILE", summary: "load a measurement y instead of degrading", min: 1, max: 1, args: []argKind{argImageFile},
		help: "Reads a measurement made with the task setting (set task first or after); an .npz from 'restorelab degrade' sets task and sigma_y itself and restores to the clean image's size. Transparent PNG pixels or NaN in .npy arrays mark the pixels inpainting must fill. 8-bit files add their rounding noise to sigma_y."},
	{name: "degrade", usage: "degrade [TASK]", summary: "make y = H x + sigma_y z from the clean image", max: 1, args: []argKind{argTask},
		help: "Uses TASK (which also sets the task setting) or the task setting, with noise sigma_y and the seed; inpainting draws its random mask from the seed."},
	{name: "set", usage: "set [KEY [VALUE]]", summary: "show the settings, or show or change one", max: 2, args: []argKind{argKey, argValue},
		help: "Keys: task, method, sigma_y (a number, or auto for the task's level), seed, fit (pad, crop or error: what to do with an image whose sides the task or network do not take; pad restores it at its own size), and the method's own settings, listed below. A setting you set carries over to another method that has it; the others start at the new method's defaults. Changes apply from the next start."},
	{name: "start", usage: "start", summary: "begin a new restoration of y with the settings",
		help: "Sampler runs advance with step and run; the baseline (bicubic for super-resolution, y for deblurring and denoising, H^+ y otherwise) is computed at once."},
	{name: "step", usage: "step [N]", summary: "take N steps (default 1)", max: 1,
		help: "Prints the last step: its time steps t -> t_next, the PSNR and SSIM of x0_hat against the clean image, and ||H x0_hat - y|| / sqrt(m). Ctrl-C stops between steps."},
	{name: "run", usage: "run", summary: "take the remaining steps",
		help: "Shows a progress bar; Ctrl-C stops between steps, leaving the run intact for step or run to continue."},
	{name: "back", usage: "back [N]", summary: "go back N steps (default 1)", max: 1,
		help: "Restores the saved state x_t exactly and replays one step to recover its x0_hat: the noise of a step depends only on the seed and the step, so stepping on repeats the run."},
	{name: "show", usage: "show WHAT", summary: "draw y, xt, x0, result, clean, grid, spectrum or metrics", min: 1, max: 1, args: []argKind{argPicture},
		help: "grid: x0_hat after up to 8 of the steps taken. spectrum: the last step in the operator's spectral space, per channel, the DDRM case of each component (green: y less noisy than the sample, blue: noisier, gray: missing) above log |V^T x0_hat|. metrics: PSNR (green) and ||H x0_hat - y|| (orange, log scale) by step. Images are inline when restorelab repl runs with --images; save writes them."},
	{name: "metrics", usage: "metrics [all]", summary: "PSNR, SSIM and ||H x0_hat - y|| by step", max: 1, args: []argKind{argAll},
		help: "A table of the steps taken (20 rows, evenly spaced, unless all) and the result's scores. PSNR and SSIM need a clean image of the restored size."},
	{name: "save", usage: "save WHAT FILE", summary: "write an image or the metrics to a file", min: 2, max: 2, args: []argKind{argPicture, argFile},
		help: "y, xt, x0, result and clean as .png (8-bit) or .npy (float32, [0, 1] scale; xt and x0 are mapped from the sampler's [-1, 1]); grid, spectrum and metrics as .png; metrics also as .csv, one row per step."},
	{name: "status", usage: "status", summary: "show the images and the run",
		help: "The clean image, the measurement and the run's position."},
	{name: "reset", usage: "reset", summary: "forget the images and the run; the settings stay"},
	{name: "quit", usage: "quit", summary: "leave (also Ctrl-D)"},
}

// aliases are other names of commands.
var aliases = map[string]string{"exit": "quit", "?": "help"}

func lookup(name string) (spec, bool) {
	if a, ok := aliases[name]; ok {
		name = a
	}
	for _, s := range specs {
		if s.name == name {
			return s, true
		}
	}
	return spec{}, false
}

// Parse reads one command line. Words are separated by blanks; single
// quotes keep text as is, double quotes and backslashes as in a shell. A #
// at the start of a word begins a comment. Blank and comment lines give a
// Command with no Name. Parse checks the command name and the number of
// arguments; commands check their values.
func Parse(line string) (Command, error) {
	words, err := split(line)
	if err != nil || len(words) == 0 {
		return Command{}, err
	}
	sp, ok := lookup(words[0])
	if !ok {
		return Command{}, unknownCommand(words[0])
	}
	args := words[1:]
	if len(args) < sp.min || len(args) > sp.max {
		return Command{}, fmt.Errorf("usage: %s", sp.usage)
	}
	return Command{Name: sp.name, Args: args}, nil
}

func unknownCommand(name string) error {
	var match []string
	for _, s := range specs {
		if name != "" && strings.HasPrefix(s.name, name) {
			match = append(match, s.name)
		}
	}
	if len(match) == 1 {
		return fmt.Errorf("unknown command %q; did you mean %s?", name, match[0])
	}
	return fmt.Errorf("unknown command %q; type help for the list", name)
}

func isBlank(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// split cuts a line into words, as Parse describes.
func split(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(line); {
		c := line[i]
		switch {
		case isBlank(c):
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
			i++
		case c == '#' && !inWord:
			return words, nil
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated ' quote")
			}
			cur.WriteString(line[i+1 : i+1+j])
			i += j + 2
			inWord = true
		case c == '"':
			i++
			for ; i < len(line) && line[i] != '"'; i++ {
				if line[i] == '\\' && i+1 < len(line) && (line[i+1] == '"' || line[i+1] == '\\') {
					i++
				}
				cur.WriteByte(line[i])
			}
			if i == len(line) {
				return nil, errors.New("unterminated \" quote")
			}
			i++
			inWord = true
		case c == '\\':
			if i+1 == len(line) {
				return nil, errors.New("the line ends with a backslash; use \\\\ for a backslash")
			}
			cur.WriteByte(line[i+1])
			i += 2
			inWord = true
		default:
			cur.WriteByte(c)
			i++
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// quote returns s as one word that split reads back.
func quote(s string) string {
	safe := s != ""
	for i := 0; i < len(s) && safe; i++ {
		c := s[i]
		safe = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("_-+=.,/:@%~", c) >= 0
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
