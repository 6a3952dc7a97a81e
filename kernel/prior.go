package kernel

import "github.com/restorelab/restorelab/restore"

// Prior returns the diffusion prior the notebooks restore with: for now the
// analytic Gaussian prior, which needs no model file and runs in a fraction
// of a second. Every notebook gets its prior here, so moving them all to a
// trained model is a change to this one function.
func Prior() (restore.Denoiser, error) {
	return restore.NewGaussianDenoiser(nil), nil
}

// Must returns v, or panics with err when it is not nil. Notebook cells have
// no caller to return an error to, and GoNB shows a panic's message.
func Must[T any](v T, err error) T {
	Check(err)
	return v
}

// Check panics with err when it is not nil; see Must.
func Check(err error) {
	if err != nil {
		panic(err)
	}
}
