package main

import (
	"fmt"

	"github.com/restorelab/restorelab/restore"
)

// defaultModel is the prior restore uses when --model is not given.
const defaultModel = "gaussian"

func openModel(name string) (restore.Denoiser, error) {
	if name == "gaussian" {
		return restore.NewGaussianDenoiser(nil), nil
	}
	return nil, fmt.Errorf("unknown model %q; use 'gaussian'", name)
}
