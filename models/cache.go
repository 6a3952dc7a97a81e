package models

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"slices"
	"sync"

	"github.com/restorelab/restorelab/method"
	"github.com/restorelab/restorelab/restore"
)

// Cache opens models by name for the restoration methods (it implements
// method.Models) and keeps each one open for reuse, since opening a model
// takes a moment: asking twice for a name returns the same model. Release
// closes those no longer needed and Close all of them. "" names
// DefaultPrior and DefaultLDM. A Cache is safe for concurrent use.
type Cache struct {
	opts   Options
	mu     sync.Mutex
	priors map[string]restore.Denoiser
	ldms   map[string]*cachedLDM
}

type cachedLDM struct {
	ldm   *LDM
	model *method.SRLDMModel
}

var _ method.Models = (*Cache)(nil)

// NewCache returns an empty cache that opens models with opts.
func NewCache(opts Options) *Cache {
	return &Cache{opts: opts, priors: map[string]restore.Denoiser{}, ldms: map[string]*cachedLDM{}}
}

// Prior implements method.Models: Open's priors, by name or path.
func (c *Cache) Prior(name string) (restore.Denoiser, error) {
	if name == "" {
		name = DefaultPrior
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if d, ok := c.priors[name]; ok {
		return d, nil
	}
	d, err := Open(name, c.opts)
	if err != nil {
		return nil, err
	}
	c.priors[name] = d
	return d, nil
}

// SRLDM implements method.Models: OpenLDM's bundles, by name or path.
func (c *Cache) SRLDM(name string) (*method.SRLDMModel, error) {
	if name == "" {
		name = DefaultLDM
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if l, ok := c.ldms[name]; ok {
		return l.model, nil
	}
	l, err := OpenLDM(name, c.opts)
	if err != nil {
		return nil, err
	}
	m := &method.SRLDMModel{Name: l.Manifest.Name, UNet: l.UNet, Autoencoder: l.Autoencoder, Multiple: l.Manifest.SizeMultiple, Digest: l.digest(),
		FinalAlphaOne: l.UNet.Manifest().DDIM.FinalAlphaOne()}
	c.ldms[name] = &cachedLDM{ldm: l, model: m}
	return m, nil
}

// digest is the sha256 of the sha256 of every part's file, in the order
// unet, encoder, decoder.
func (l *LDM) digest() string {
	h := sha256.New()
	for _, m := range []Manifest{l.UNet.Manifest(), l.Autoencoder.enc.manifest, l.Autoencoder.dec.manifest} {
		io.WriteString(h, m.onnxFile().SHA256)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// Release closes the cached models whose names (as asked for; "" is the
// default's) are not in keep, so that a front end switching models holds
// only those it still uses.
func (c *Cache) Release(keep ...string) error {
	kept := func(name string) bool {
		return slices.Contains(keep, name) ||
			name == DefaultPrior && slices.Contains(keep, "") ||
			name == DefaultLDM && slices.Contains(keep, "")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for name, d := range c.priors {
		if !kept(name) {
			errs = append(errs, closeDenoiser(d))
			delete(c.priors, name)
		}
	}
	for name, l := range c.ldms {
		if !kept(name) {
			errs = append(errs, l.ldm.Close())
			delete(c.ldms, name)
		}
	}
	return errors.Join(errs...)
}

// Held reports how many models the cache holds open.
func (c *Cache) Held() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.priors) + len(c.ldms)
}

// Close closes every cached model.
func (c *Cache) Close() error { return c.Release() }

func closeDenoiser(d restore.Denoiser) error {
	if cl, ok := d.(io.Closer); ok {
		return cl.Close()
	}
	return nil
}
