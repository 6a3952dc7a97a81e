package repl

import (
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		line string
		want Command
		err  string
	}{
		{"", Command{}, ""},
		{"   \t ", Command{}, ""},
		{"# a comment", Command{}, ""},
		{"step 3 # three more", Command{"step", []string{"3"}}, ""},
		{"load 'my cat.png'", Command{"load", []string{"my cat.png"}}, ""},
		{`load "say \"hi\".png"`, Command{"load", []string{`say "hi".png`}}, ""},
		{`load a\ b.png`, Command{"load", []string{"a b.png"}}, ""},
		{"load a#b.png", Command{"load", []string{"a#b.png"}}, ""},
		{"load ''", Command{"load", []string{""}}, ""},
		{"set  task\tsr4 ", Command{"set", []string{"task", "sr4"}}, ""},
		{"exit", Command{"quit", nil}, ""},
		{"?", Command{"help", nil}, ""},
		{"frob", Command{}, `unknown command "frob"; type help`},
		{"sh x0", Command{}, "did you mean show?"},
		{"step 1 2", Command{}, "usage: step [N]"},
		{"save x0", Command{}, "usage: save WHAT FILE"},
		{"load 'open", Command{}, "unterminated ' quote"},
		{`load "open`, Command{}, `unterminated " quote`},
		{`load x\`, Command{}, "ends with a backslash"},
	} {
		got, err := Parse(tc.line)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Parse(%q) error %v, want one containing %q", tc.line, err, tc.err)
			}
		case err != nil:
			t.Errorf("Parse(%q): %v", tc.line, err)
		case got.Name != tc.want.Name || !slices.Equal(got.Args, tc.want.Args):
			t.Errorf("Parse(%q) = %#v, want %#v", tc.line, got, tc.want)
		}
	}
}

func TestEveryCommandHasAHandlerAndHelp(t *testing.T) {
	if len(handlers) != len(specs) {
		t.Errorf("%d handlers for %d commands", len(handlers), len(specs))
	}
	for _, s := range specs {
		if handlers[s.name] == nil {
			t.Errorf("%s has no handler", s.name)
		}
		if !strings.HasPrefix(s.usage, s.name) || s.summary == "" || len(s.args) > s.max {
			t.Errorf("%s: bad spec %+v", s.name, s)
		}
	}
}

// FuzzParse checks that Parse never panics and that an accepted command,
// written back with String, parses to itself.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"load cat.png", "set task sr4-noisy", "save x0 'a b'.png", `measure "y \"1\".npy"`, "step 5 # c", `back \3`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		cmd, err := Parse(line)
		if err != nil || cmd.Name == "" {
			return
		}
		again, err := Parse(cmd.String())
		if err != nil {
			t.Fatalf("Parse(%q) = %#v, whose String %q fails: %v", line, cmd, cmd.String(), err)
		}
		if again.Name != cmd.Name || !slices.Equal(again.Args, cmd.Args) {
			t.Fatalf("Parse(%q) = %#v, but its String %q parses to %#v", line, cmd, cmd.String(), again)
		}
	})
}
