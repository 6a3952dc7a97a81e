package method_test

import (
	"os"
	"strings"
	"testing"

	"github.com/restorelab/restorelab/method"
)

// TestReadmeListsTheMethods keeps the README's method table what the
// registry says ('restorelab methods' prints it).
func TestReadmeListsTheMethods(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), method.Markdown()) {
		t.Errorf("README.md does not hold the method table; paste the output of 'restorelab methods':\n%s", method.Markdown())
	}
}
