package repl

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/restorelab/restorelab/method"
	"github.com/restorelab/restorelab/restore"
)

// Config connects a Session to the networks it may use.
type Config struct {
	// Models opens the networks the methods' settings name; nil is
	// method.Analytic, which has only the analytic Gaussian prior. When it
	// also has Release(keep ...string) error (as models.Cache does), each
	// start releases the models the session no longer uses.
	Models method.Models
	// ModelNames lists the model names to offer for completion. Nil offers
	// "gaussian".
	ModelNames func() []string
	// HistoryBytes caps the memory spent on the steps kept for going back
	// (x_t, x0_hat and the spectral view); 0 means DefaultHistoryBytes. Past
	// the cap only every other kept step stays, and going back replays from
	// the nearest one.
	HistoryBytes int64
}

// DefaultHistoryBytes is the default cap on kept steps: about 200 steps at
// 256x256 RGB.
const DefaultHistoryBytes = 512 << 20

// SessionKeys are the settings of the session itself, which every method
// shares; the method's own settings follow them (see Session.Keys).
var SessionKeys = []string{"task", "method", "sigma_y", "seed", "fit"}

// Metrics compare an estimate with the clean image and the measurement.
type Metrics struct {
	// PSNR (dB) and SSIM against the clean image; NaN without one.
	PSNR, SSIM float64
	// Consistency is ||H x - y|| / sqrt(m) on the [0, 1] scale, m being the
	// size of y: how far the estimate is from explaining the measurement.
	Consistency float64
}

// StepRecord describes one step taken, with the metrics of its x0_hat.
type StepRecord struct {
	Index, Count int // Index counts from 0 out of Count steps
	T, TNext     int
	Sigma        float64 // the variance-exploding noise level of t
	Metrics
}

// Status describes what a session holds.
type Status struct {
	Clean      string // where the clean image came from; "" when none
	CleanShape restore.Shape
	// Measurement says where y came from; "" when none.
	Measurement string
	YShape      restore.Shape
	Missing     int // pixels the inpainting mask marks missing
	// Method is the method of the current run; "" when none is started.
	Method, Task, Model string
	// Settings are the run's method settings, as key=value pairs.
	Settings    string
	Step, Steps int     // steps taken and in total
	SigmaY      float64 // the noise level the run assumes, [0, 1] scale
	Seed        uint64
	// Reference reports whether the clean image matches the restoration, so
	// that PSNR and SSIM are computed.
	Reference bool
}

// Session is the state of an interactive restoration: a clean image, a
// measurement, settings and a run that advances step by step and can go
// back. It does no terminal I/O; Shell drives it from command lines.
type Session struct {
	cfg    Config
	task   string
	sigmaY float64 // negative: the task's own level
	seed   uint64
	fit    method.Fit
	// method holds the current method's settings; given are the method
	// settings the user set, which carry over to another method that has
	// them.
	method method.Settings
	given  map[string]string

	clean     *restore.Tensor
	cleanName string
	y         *restore.Tensor
	keep      []bool
	yName     string
	yTask     string  // the task y was degraded with; "" for a file
	yRounding float64 // the rounding noise of the file y came from
	yInfo     *restore.MeasurementInfo
	run       *run
}

// run is one restoration started from the measurement.
type run struct {
	method, settings string
	seed             uint64
	// model names the run's network ("" for the default one) if hasModel,
	// modelName as the network calls itself.
	model, modelName string
	hasModel         bool
	p                method.Problem
	input            method.Input    // how p was fitted; its Output crops results back
	ref              *restore.Tensor // the clean image if it matches the result
	sampler          restore.Sampler
	last             *restore.StepInfo
	records          []StepRecord
	thumbs           []image.Image
	states           history
}

// NewSession returns an empty session: 4x super-resolution with DDRM at
// its defaults.
func NewSession(cfg Config) *Session {
	if cfg.HistoryBytes <= 0 {
		cfg.HistoryBytes = DefaultHistoryBytes
	}
	if cfg.Models == nil {
		cfg.Models = method.Analytic{}
	}
	return &Session{cfg: cfg, task: "sr4", sigmaY: -1, fit: method.FitPad, method: method.DDRM.Defaults(), given: map[string]string{}}
}

// Method returns the current method's settings; changing them changes the
// session's.
func (s *Session) Method() method.Settings { return s.method }

// Keys returns the settings Set accepts now: the session's, then the
// current method's.
func (s *Session) Keys() []string {
	return append(slices.Clone(SessionKeys), s.method.Method().Keys()...)
}

// ModelNames lists the models to offer.
func (s *Session) ModelNames() []string {
	if s.cfg.ModelNames == nil {
		return []string{method.GaussianName}
	}
	return s.cfg.ModelNames()
}

// Set changes one setting from its text form: one of SessionKeys or a
// setting of the current method (see method.Settings.Set); a dash may
// replace an underscore. sigma_y accepts "auto" for the task's level.
// Setting the method keeps the method settings set so far that the new
// method also has; the others start at its defaults. A model is opened at
// once, so that a wrong name fails here. The change applies from the next
// Start.
func (s *Session) Set(key, value string) error {
	key = strings.ReplaceAll(key, "-", "_")
	switch key {
	case "task":
		if _, err := restore.LookupTask(value); err != nil {
			return err
		}
		s.task = value
	case "method":
		m, err := method.Lookup(value)
		if err != nil {
			return err
		}
		next := m.Defaults()
		for k, v := range s.given {
			if next.Has(k) {
				if err := next.Set(k, v); err != nil {
					delete(s.given, k) // out of the new method's range
				}
			}
		}
		s.method = next
	case "sigma_y":
		if value == "auto" {
			s.sigmaY = -1
			return nil
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil || !(v >= 0 && v <= 1) {
			return fmt.Errorf("sigma_y %q is not a number in [0, 1] (or auto, the task's level)", value)
		}
		s.sigmaY = v
	case "seed":
		v, err := strconv.ParseUint(value, 10, 64)
		if err != nil {
			return fmt.Errorf("seed %q is not a non-negative integer", value)
		}
		s.seed = v
	case "fit":
		f, err := method.ParseFit(value)
		if err != nil {
			return err
		}
		s.fit = f
	default:
		if !s.method.Has(key) {
			if len(method.With(key)) == 0 {
				return fmt.Errorf("unknown setting %q; use one of %s", key, strings.Join(s.Keys(), ", "))
			}
			return s.method.Set(key, value) // names the methods that have it
		}
		old := s.method.Value(key)
		if err := s.method.Set(key, value); err != nil {
			return err
		}
		if p, _ := s.method.Method().Param(key); p.Kind == method.Prior || p.Kind == method.SRLDM {
			if err := s.openModel(p, s.method.Value(key)); err != nil {
				s.method.Set(key, old)
				return err
			}
		}
		s.given[key] = s.method.Value(key)
	}
	return nil
}

// openModel opens the model a setting names, to check the name.
func (s *Session) openModel(p method.Param, name string) error {
	if name == "default" {
		name = ""
	}
	var err error
	if p.Kind == method.Prior {
		_, err = s.cfg.Models.Prior(name)
	} else {
		_, err = s.cfg.Models.SRLDM(name)
	}
	return err
}

// Value returns one setting in its text form.
func (s *Session) Value(key string) (string, error) {
	key = strings.ReplaceAll(key, "-", "_")
	switch key {
	case "task":
		return s.task, nil
	case "method":
		return s.method.Method().Name, nil
	case "sigma_y":
		if s.sigmaY < 0 {
			t, _ := restore.LookupTask(s.task)
			return fmt.Sprintf("auto (%g for %s)", t.SigmaY, s.task), nil
		}
		return strconv.FormatFloat(s.sigmaY, 'g', -1, 64), nil
	case "seed":
		return strconv.FormatUint(s.seed, 10), nil
	case "fit":
		return string(s.fit), nil
	}
	if !s.method.Has(key) {
		return "", fmt.Errorf("unknown setting %q; use one of %s", key, strings.Join(s.Keys(), ", "))
	}
	return s.method.Value(key), nil
}

// sigmaFor resolves the noise setting for a task.
func (s *Session) sigmaFor(t restore.Task) float64 {
	if s.sigmaY < 0 {
		return t.SigmaY
	}
	return s.sigmaY
}

// LoadClean reads the clean image (gray images become RGB). A measurement
// degraded from the previous clean image is dropped with its run; one read
// from a file stays, and the new image serves as its reference.
func (s *Session) LoadClean(path string) error {
	x, err := restore.LoadImage(path)
	if err != nil {
		return err
	}
	s.clean, s.cleanName = restore.ToRGB(x), filepath.Base(path)
	if s.yTask != "" {
		s.dropMeasurement()
	}
	if s.run != nil {
		s.run.ref = s.reference(s.run.input, s.run.p.Y.N)
		s.rescore()
	}
	return nil
}

// LoadMeasurement reads a measurement y in place of degrading the clean
// image. Transparent PNG pixels or NaN in .npy files mark inpainting's
// missing pixels. The run, if any, is dropped.
func (s *Session) LoadMeasurement(path string) error {
	m, err := restore.LoadMeasurement(path)
	if err != nil {
		return err
	}
	s.dropMeasurement()
	s.y, s.keep, s.yName, s.yRounding, s.yInfo = m.Y, m.Keep, filepath.Base(path), m.Quantisation, m.Info
	if i := m.Info; i != nil {
		// The file knows how it was made: its task and noise become the
		// settings, as restore takes them from it.
		s.task, s.sigmaY = i.Task, i.SigmaY
		s.yName = fmt.Sprintf("%s: %s, sigma_y %g, of a %dx%d image", s.yName, i.Task, i.SigmaY, i.Width, i.Height)
	}
	return nil
}

func (s *Session) dropMeasurement() {
	s.y, s.keep, s.yName, s.yTask, s.yRounding, s.yInfo, s.run = nil, nil, "", "", 0, nil, nil
}

// Degrade makes the measurement y = H x + sigma_y z from the clean image,
// with the named task ("" for the task setting, which a name also sets).
// Inpainting draws its mask from the seed. The run, if any, is dropped.
func (s *Session) Degrade(task string) error {
	if task == "" {
		task = s.task
	}
	t, err := restore.LookupTask(task)
	if err != nil {
		return err
	}
	if s.clean == nil {
		return errors.New("no clean image; load FILE first (or measure FILE to restore a measurement)")
	}
	p, info, err := method.DegradeFitted(t, s.clean, "", s.sigmaFor(t), s.seed, s.fit, 1)
	if err != nil {
		return err
	}
	s.dropMeasurement()
	s.task = task
	s.y, s.keep, s.yName, s.yTask, s.yInfo = p.Y, p.Keep, fmt.Sprintf("%s of %s, sigma_y %g", task, s.cleanName, s.sigmaFor(t)), task, &info
	return nil
}

// Reset forgets the images and the run; the settings stay.
func (s *Session) Reset() {
	s.dropMeasurement()
	s.clean, s.cleanName = nil, ""
}

// Start begins a new run restoring the measurement with the settings.
// Samplers then advance with Step; the baseline is done at once. Models the
// new run and the settings do not use are released.
func (s *Session) Start() error {
	if s.y == nil {
		return errors.New("no measurement; load a clean image and degrade it, or measure FILE")
	}
	if s.yTask != "" && s.yTask != s.task {
		return fmt.Errorf("the measurement was degraded with %s but the task is %s; degrade again, or set task %s", s.yTask, s.task, s.yTask)
	}
	task, err := restore.LookupTask(s.task)
	if err != nil {
		return err
	}
	if i := s.yInfo; i != nil && i.Task != s.task {
		return fmt.Errorf("the measurement was made with %s but the task is %s; set task %s", i.Task, s.task, i.Task)
	}
	settings := s.method.Clone()
	multiple, err := settings.Multiple(s.cfg.Models, task)
	if err != nil {
		return err
	}
	meas := &restore.Measurement{Y: s.y, Keep: s.keep, Quantisation: s.yRounding, Info: s.yInfo}
	in, err := method.Prepare(task, meas, s.sigmaFor(task), "", s.fit, multiple)
	if err != nil {
		return err
	}
	p := in.Problem
	sampler, err := settings.Sampler(s.cfg.Models, p, s.seed)
	if err != nil {
		return err
	}
	r := &run{method: settings.Method().Name, settings: describeSettings(settings), seed: s.seed, p: p, input: in, ref: s.reference(in, s.y.N), sampler: sampler}
	r.model, r.hasModel = settings.Model()
	if r.hasModel {
		r.modelName = s.modelName(settings)
	}
	r.states = newHistory(s.cfg.HistoryBytes, sampler.State())
	s.run = r
	s.release()
	return nil
}

// describeSettings lists the settings other than the network and the steps, as
// "eta 0.85, eta_b 1".
func describeSettings(s method.Settings) string {
	var parts []string
	for _, p := range s.Method().Params {
		if p.Kind == method.Int || p.Kind == method.Float {
			if p.Key != "steps" {
				parts = append(parts, p.Key+" "+s.Value(p.Key))
			}
		}
	}
	return strings.Join(parts, ", ")
}

// modelName is the name of the network the settings use, as it calls
// itself; the settings' text when it cannot be opened.
func (s *Session) modelName(settings method.Settings) string {
	p, _ := settings.Method().ModelParam()
	name, _ := settings.Model()
	switch p.Kind {
	case method.Prior:
		if d, err := s.cfg.Models.Prior(name); err == nil {
			return d.Info().Name
		}
	case method.SRLDM:
		if l, err := s.cfg.Models.SRLDM(name); err == nil {
			return l.Name
		}
	}
	return cmp.Or(name, "default")
}

// release closes the models neither the run nor the settings name, when
// the Models can.
func (s *Session) release() {
	rel, ok := s.cfg.Models.(interface{ Release(keep ...string) error })
	if !ok {
		return
	}
	var keep []string
	if name, ok := s.method.Model(); ok {
		keep = append(keep, name)
	}
	if r := s.run; r != nil && r.hasModel {
		keep = append(keep, r.model)
	}
	rel.Release(keep...)
}

// reference returns the clean image if it is what n restorations of the
// prepared input estimate, once cropped back.
func (s *Session) reference(in method.Input, n int) *restore.Tensor {
	c := s.clean
	if c == nil || c.N != n || c.Shape != (restore.Shape{C: in.Op.InShape().C, H: in.Height, W: in.Width}) {
		return nil
	}
	return c
}

// sampling returns the current DDRM run.
func (s *Session) sampling() (*run, error) {
	switch {
	case s.run == nil:
		return nil, errors.New("no run; start one first")
	case s.run.sampler.Len() == 0:
		return nil, fmt.Errorf("the %s takes no steps; set method ddrm (or another sampler) and start again", s.run.method)
	}
	return s.run, nil
}

// Step takes up to n steps (all remaining ones when n < 1), calling hook,
// if not nil, after each. Cancelling ctx stops it between steps, so the run
// is always at a whole step, and Step returns ctx's error.
func (s *Session) Step(ctx context.Context, n int, hook func(StepRecord)) error {
	r, err := s.sampling()
	if err != nil {
		return err
	}
	d := r.sampler
	if d.Done() {
		return fmt.Errorf("the run is complete (%d/%d steps); go back, or start again", d.Index(), d.Len())
	}
	if n < 1 {
		n = d.Len() - d.Index()
	}
	// Steps run to completion even when ctx is cancelled during one.
	whole := context.WithoutCancel(ctx)
	for range n {
		if d.Done() {
			break
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		info, err := d.Step(whole)
		if err != nil {
			return err
		}
		rec, err := r.record(info)
		if err != nil {
			return err
		}
		if hook != nil {
			hook(rec)
		}
	}
	return nil
}

// pixelX0 is a step's estimate x0_hat as an image on the [0, 1] scale,
// decoded from the latent for latent samplers.
func pixelX0(info *restore.StepInfo) (*restore.Tensor, error) {
	x, err := info.Image()
	if err != nil {
		return nil, err
	}
	return x.Clone().ToUnit(), nil
}

// record keeps what a step leaves for later inspection and going back.
func (r *run) record(info *restore.StepInfo) (StepRecord, error) {
	x0, err := pixelX0(info)
	if err != nil {
		return StepRecord{}, err
	}
	m := r.metrics(x0)
	rec := StepRecord{Index: info.Index, Count: info.Count, T: info.T, TNext: info.TNext, Sigma: info.Sigma, Metrics: m}
	r.records = append(r.records[:info.Index], rec)
	r.thumbs = append(r.thumbs[:info.Index], thumbnail(picture(x0, 0)))
	r.states.add(info)
	r.last = info
	return rec, nil
}

// metrics scores an estimate of the fitted problem on the [0, 1] scale:
// consistency unclamped against the measurement, PSNR and SSIM cropped
// back to the clean image and clamped, as a saved image would be.
func (r *run) metrics(x *restore.Tensor) Metrics {
	m := Metrics{PSNR: math.NaN(), SSIM: math.NaN(), Consistency: restore.Consistency(r.p.Op, x, r.p.Y)}
	if r.ref == nil {
		return m
	}
	c, err := r.input.Crop(x)
	if err != nil {
		return m
	}
	if c == x {
		c = x.Clone()
	}
	c.Clamp(0, 1)
	if v, err := restore.PSNRTensor(c, r.ref); err == nil {
		m.PSNR = v
	}
	if v, err := restore.SSIMTensor(c, r.ref); err == nil {
		m.SSIM = v
	}
	return m
}

// rescore recomputes the PSNR and SSIM of the run's records against a newly
// loaded clean image; their x0_hat survive only as thumbnails, so the
// records of earlier steps get NaN and the last step is scored again.
func (s *Session) rescore() {
	r := s.run
	for i := range r.records {
		r.records[i].PSNR, r.records[i].SSIM = math.NaN(), math.NaN()
	}
	if r.last != nil && len(r.records) > 0 {
		if x0, err := pixelX0(r.last); err == nil {
			r.records[len(r.records)-1].Metrics = r.metrics(x0)
		}
	}
}

// Back returns the run n steps back, restoring the state x_t there and the
// step that made it exactly. When the history was thinned to fit its
// budget, it restores the nearest earlier step kept and replays the steps
// after it (calling hook, as in Step): steps draw their noise from the seed
// and the step index, so a replay repeats them.
func (s *Session) Back(ctx context.Context, n int, hook func(StepRecord)) error {
	r, err := s.sampling()
	if err != nil {
		return err
	}
	i := r.sampler.Index()
	switch {
	case i == 0:
		return errors.New("no steps taken yet")
	case n < 1 || n > i:
		return fmt.Errorf("cannot go back %d steps from step %d; use 1..%d", n, i, i)
	}
	target := i - n
	k, info := r.states.latest(target)
	x := r.states.x0
	if info != nil {
		x = info.XNext
	}
	if err := r.sampler.SetState(k, x); err != nil {
		return err
	}
	r.records, r.thumbs, r.last = r.records[:k], r.thumbs[:k], info
	r.states.truncate(k)
	if k == target {
		return nil
	}
	return s.Step(ctx, target-k, hook)
}

// Status describes the session.
func (s *Session) Status() Status {
	st := Status{}
	if s.clean != nil {
		st.Clean, st.CleanShape = s.cleanName, s.clean.Shape
	}
	if s.y != nil {
		st.Measurement, st.YShape = s.yName, s.y.Shape
		for _, k := range s.keep {
			if !k {
				st.Missing++
			}
		}
	}
	if r := s.run; r != nil {
		st.Method, st.Task, st.SigmaY, st.Reference = r.method, r.p.Task.Name, r.p.SigmaY, r.ref != nil
		st.Settings, st.Seed = r.settings, r.seed
		st.Model = r.modelName
		st.Step, st.Steps = r.sampler.Index(), r.sampler.Len()
	}
	return st
}

// Records returns the records of the steps taken so far.
func (s *Session) Records() []StepRecord {
	if s.run == nil {
		return nil
	}
	return append([]StepRecord(nil), s.run.records...)
}

// ResultMetrics scores the run's result: the final sample, the latest
// x0_hat, or the baseline.
func (s *Session) ResultMetrics() (Metrics, error) {
	x, err := s.result()
	if err != nil {
		return Metrics{}, err
	}
	return s.run.metrics(x), nil
}

// result is the run's result at the fitted problem's size.
func (s *Session) result() (*restore.Tensor, error) {
	if s.run != nil && s.run.sampler.Len() == 0 {
		return s.run.sampler.Result()
	}
	r, err := s.sampling()
	if err != nil {
		return nil, err
	}
	x, err := r.sampler.Result()
	if err != nil {
		return nil, errors.New("no result yet; take a step first")
	}
	return x, nil
}

// Images are the names Tensor accepts.
var Images = []string{"y", "xt", "x0", "result", "clean"}

// Tensor returns an image of the session on the [0, 1] scale (xt and x0,
// which samplers keep in [-1, 1], are mapped and not clamped):
//
//	y       the measurement
//	xt      the current sample x_t
//	x0      the latest estimate x0_hat
//	result  the final sample when the run is done, else the latest x0_hat;
//	        the baseline's output for the baseline
//	clean   the clean image
func (s *Session) Tensor(what string) (*restore.Tensor, error) {
	switch what {
	case "clean":
		if s.clean == nil {
			return nil, errors.New("no clean image; load FILE first")
		}
		return s.clean, nil
	case "y":
		if s.y == nil {
			return nil, errors.New("no measurement; degrade or measure FILE first")
		}
		return s.y, nil
	case "result":
		x, err := s.result()
		if err != nil {
			return nil, err
		}
		return s.run.input.Output(x)
	case "xt":
		r, err := s.sampling()
		if err != nil {
			return nil, err
		}
		return r.sampler.State().ToUnit(), nil
	case "x0":
		r, err := s.sampling()
		if err != nil {
			return nil, err
		}
		if r.last == nil {
			return nil, errors.New("no x0_hat yet; take a step first")
		}
		x, err := pixelX0(r.last)
		if err != nil {
			return nil, err
		}
		return r.input.Output(x)
	}
	return nil, fmt.Errorf("unknown image %q; use one of %s", what, strings.Join(Images, ", "))
}

// history keeps the steps taken by the index of the state each led to,
// within a memory budget, so that going back restores a state x_t and the
// step that made it exactly. The initial state is always kept; when over
// budget, the stride between kept indices doubles and going back replays
// from the nearest kept step.
type history struct {
	x0            *restore.Tensor
	steps         map[int]*restore.StepInfo
	stride        int
	bytes, budget int64
}

func newHistory(budget int64, x0 *restore.Tensor) history {
	return history{x0: x0, steps: map[int]*restore.StepInfo{}, stride: 1, budget: budget}
}

// size is the memory a kept step holds on its own: its input Xt is the
// previous step's output, so it is dropped.
func size(info *restore.StepInfo) int64 {
	n := 4 * int64(len(info.XNext.Data)+len(info.X0Hat.Data))
	if sv := info.Spectral; sv != nil {
		n += 4*int64(len(sv.X0HatBar.Data)) + int64(len(sv.Cases))
	}
	return n
}

func (h *history) add(info *restore.StepInfo) {
	i := info.Index + 1
	if i%h.stride != 0 {
		return
	}
	c := *info
	c.Xt = nil
	if old, ok := h.steps[i]; ok {
		h.bytes -= size(old)
	}
	h.steps[i] = &c
	h.bytes += size(&c)
	for h.bytes > h.budget && len(h.steps) > 0 {
		h.stride *= 2
		for k, v := range h.steps {
			if k%h.stride != 0 {
				delete(h.steps, k)
				h.bytes -= size(v)
			}
		}
	}
}

// latest returns the kept step leading to the largest index k <= i, with k;
// k is 0 and the step nil for the initial state.
func (h *history) latest(i int) (int, *restore.StepInfo) {
	for k := i - i%h.stride; k > 0; k -= h.stride {
		if info, ok := h.steps[k]; ok {
			return k, info
		}
	}
	return 0, nil
}

// truncate forgets the steps leading past index i.
func (h *history) truncate(i int) {
	for k, v := range h.steps {
		if k > i {
			delete(h.steps, k)
			h.bytes -= size(v)
		}
	}
}
