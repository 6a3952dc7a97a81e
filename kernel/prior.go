package kernel

import (
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/restorelab/restorelab/method"
	"github.com/restorelab/restorelab/models"
	"github.com/restorelab/restorelab/restore"
)

// Models are the networks the notebooks' methods open, shared by every
// cell: each model is opened once, since a session takes a moment to
// create. Opening a large one (a published checkpoint) prints what it is
// doing below the cell.
func Models() *models.Cache { return sharedModels() }

var sharedModels = sync.OnceValue(func() *models.Cache {
	return models.NewCache(models.Options{Notify: func(line string) { fmt.Fprintln(os.Stderr, line) }})
})

// Prior returns the diffusion prior the notebooks restore with by default:
// the bundled eps-prediction UNet (models.DefaultPrior), run by ONNX
// Runtime. Notebooks that need speed more than realism use the analytic
// restore.NewGaussianDenoiser instead.
func Prior() (restore.Denoiser, error) { return Models().Prior("") }

// Sampler builds the sampler of the method named name (see package
// method) for problem p, with settings given as "key=value" over the
// method's defaults, its networks from Models, and its noise from seed.
func Sampler(name string, p method.Problem, seed uint64, settings ...string) (restore.Sampler, error) {
	m, err := method.Lookup(name)
	if err != nil {
		return nil, err
	}
	s := m.Defaults()
	for _, kv := range settings {
		k, v, _ := strings.Cut(kv, "=")
		if err := s.Set(k, v); err != nil {
			return nil, err
		}
	}
	return s.Sampler(Models(), p, seed)
}
