package kernel

import (
	"sync"

	"github.com/restorelab/restorelab/models"
	"github.com/restorelab/restorelab/restore"
)

// Prior returns the diffusion prior the notebooks restore with by default:
// the bundled eps-prediction UNet (models.DefaultPrior), run by ONNX
// Runtime. It is opened once and shared, since a session takes a moment to
// create. Notebooks that need speed more than realism use the analytic
// restore.NewGaussianDenoiser instead.
func Prior() (restore.Denoiser, error) { return openPrior() }

var openPrior = sync.OnceValues(func() (restore.Denoiser, error) {
	return models.Open(models.DefaultPrior, models.Options{})
})
