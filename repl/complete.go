package repl

import (
	"cmp"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/restorelab/restorelab/method"
	"github.com/restorelab/restorelab/restore"
)

// Complete returns the completions of the last word of line, the text
// before the cursor, and that word's length in runes. Completions are whole
// words; finished ones end with a space, folders with a slash.
func (sh *Shell) Complete(line string) ([]string, int) {
	words := strings.Fields(line)
	cur := ""
	if len(words) > 0 && line != "" && !isBlank(line[len(line)-1]) {
		cur, words = words[len(words)-1], words[:len(words)-1]
	}
	var options []string
	if len(words) == 0 {
		options = commandNames()
	} else {
		sp, ok := lookup(words[0])
		if !ok || len(words)-1 >= len(sp.args) {
			return nil, 0
		}
		kind := sp.args[len(words)-1]
		if kind == argFile || kind == argImageFile {
			return completePath(cur, kind == argImageFile), utf8.RuneCountInString(cur)
		}
		options = sh.options(kind, words)
	}
	var out []string
	for _, o := range options {
		if strings.HasPrefix(o, cur) {
			out = append(out, o+" ")
		}
	}
	return out, utf8.RuneCountInString(cur)
}

func commandNames() []string {
	var names []string
	for _, s := range specs {
		names = append(names, s.name)
	}
	return names
}

// options lists the values of an argument of kind after words.
func (sh *Shell) options(kind argKind, words []string) []string {
	switch kind {
	case argCommand:
		return commandNames()
	case argTask:
		return restore.TaskNames()
	case argKey:
		return sh.Session.Keys()
	case argPicture:
		return Pictures
	case argAll:
		return []string{"all"}
	case argValue:
		switch strings.ReplaceAll(words[1], "-", "_") {
		case "task":
			return restore.TaskNames()
		case "method":
			return method.Names()
		case "model":
			return sh.Session.ModelNames()
		case "ldm_model":
			return []string{"default"}
		case "sigma_y":
			return []string{"auto"}
		case "fit":
			return []string{string(method.FitPad), string(method.FitCrop), string(method.FitError)}
		}
		if p, ok := sh.Session.Method().Method().Param(words[1]); ok && p.Kind == method.Choice {
			return p.Choices
		}
	}
	return nil
}

// imageExts are the file types load and measure read.
var imageExts = []string{".png", ".jpg", ".jpeg", ".npy", ".npz"}

// completePath lists the files and folders starting with prefix, hiding dot
// files unless the prefix names one; images limits files to imageExts.
func completePath(prefix string, images bool) []string {
	dir, base := filepath.Split(prefix)
	entries, err := os.ReadDir(cmp.Or(dir, "."))
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, base) || strings.HasPrefix(name, ".") && !strings.HasPrefix(base, ".") {
			continue
		}
		// Stat follows symbolic links to folders.
		if st, err := os.Stat(filepath.Join(cmp.Or(dir, "."), name)); err == nil && st.IsDir() {
			out = append(out, dir+name+"/")
		} else if !images || slices.Contains(imageExts, strings.ToLower(filepath.Ext(name))) {
			out = append(out, dir+name+" ")
		}
	}
	return out
}
