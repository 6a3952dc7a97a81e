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

	"github.com/restorelab/restorelab/restore"
)

// Config connects a Session to the priors it may use.
type Config struct {
	// OpenModel opens a prior by name. Nil opens only "gaussian", restore's
	// analytic prior.
	OpenModel func(name string) (restore.Denoiser, error)
	// ModelNames lists the model names to offer for completion. Nil offers
	// "gaussian".
	ModelNames func() []string
	// DefaultModel is the prior a new session starts with; empty means
	// "gaussian".
	DefaultModel string
	// OpenLDM opens an SRLDM (its conditional UNet and autoencoder) by
	// name, for the ldm and ddrm-ldm methods; "" names the default one. Nil
	// leaves those methods unavailable.
	OpenLDM func(name string) (unet restore.Denoiser, ae restore.Autoencoder, err error)
	// HistoryBytes caps the memory spent on the steps kept for going back
	// (x_t, x0_hat and the spectral view); 0 means DefaultHistoryBytes. Past
	// the cap only every other kept step stays, and going back replays from
	// the nearest one.
	HistoryBytes int64
}

// DefaultHistoryBytes is the default cap on kept steps: about 200 steps at
// 256x256 RGB.
const DefaultHistoryBytes = 512 << 20

const gaussianModel = "gaussian"

// Settings are the parameters the next run starts with.
type Settings struct {
	Task   string // a restore task name
	Method string // one of Methods
	Model  string // a name OpenModel accepts
	// LDMModel names the SRLDM of the ldm methods; "" means the default.
	LDMModel string
	Steps    int
	Eta      float64
	EtaB     float64
	// SigmaY is the measurement noise on the [0, 1] scale, used both to
	// degrade and by the sampler; negative means the task's own level.
	SigmaY float64
	Seed   uint64
}

// DefaultSettings returns 4x super-resolution with DDRM's paper settings and
// the gaussian prior.
func DefaultSettings() Settings {
	c := restore.DefaultDDRMConfig()
	return Settings{Task: "sr4", Method: "ddrm", Model: gaussianModel, Steps: c.Steps, Eta: c.Eta, EtaB: c.EtaB, SigmaY: -1, Seed: c.Seed}
}

// methodDefaults are a method's default steps, eta and eta_b.
func methodDefaults(method string) restore.DDRMConfig {
	switch method {
	case "ldm":
		c := restore.DefaultDDIMConfig()
		return restore.DDRMConfig{Steps: c.Steps, Eta: c.Eta, EtaB: restore.DefaultDDRMConfig().EtaB}
	case "ddrm-ldm":
		return restore.DefaultDDRMLDMConfig()
	}
	return restore.DefaultDDRMConfig()
}

// SettingKeys are the keys Set accepts, in display order.
var SettingKeys = []string{"task", "method", "model", "ldm_model", "steps", "eta", "eta_b", "sigma_y", "seed"}

// Methods are the restoration methods a run can use: DDRM with the model,
// the task's baseline, and latent diffusion's SRLDM and DDRM-LDM with the
// ldm_model (steps and eta then drive their DDIM chain; ddrm-ldm also uses
// eta_b).
var Methods = []string{"ddrm", "baseline", "ldm", "ddrm-ldm"}

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
	Step, Steps         int     // steps taken and in total
	SigmaY              float64 // the noise level the run assumes, [0, 1] scale
	// Reference reports whether the clean image matches the restoration, so
	// that PSNR and SSIM are computed.
	Reference bool
}

// Session is the state of an interactive restoration: a clean image, a
// measurement, settings and a run that advances step by step and can go
// back. It does no terminal I/O; Shell drives it from command lines.
type Session struct {
	cfg      Config
	settings Settings
	model    string
	den      restore.Denoiser

	clean     *restore.Tensor
	cleanName string
	y         *restore.Tensor
	keep      []bool
	yName     string
	yTask     string // the task y was degraded with; "" for a file
	yEightBit bool   // y came from an 8-bit file: add its rounding noise
	run       *run
}

// run is one restoration started from the measurement.
type run struct {
	method  string
	task    restore.Task
	model   string
	op      restore.Operator
	y       *restore.Tensor
	sigmaY  float64
	ref     *restore.Tensor // the clean image if it matches the result
	sampler restore.Sampler // nil for the baseline
	result  *restore.Tensor // the baseline's output
	last    *restore.StepInfo
	records []StepRecord
	thumbs  []image.Image
	states  history
}

// NewSession returns an empty session with DefaultSettings.
func NewSession(cfg Config) *Session {
	if cfg.HistoryBytes <= 0 {
		cfg.HistoryBytes = DefaultHistoryBytes
	}
	settings := DefaultSettings()
	if cfg.DefaultModel != "" {
		settings.Model = cfg.DefaultModel
	}
	return &Session{cfg: cfg, settings: settings}
}

// Settings returns the current settings.
func (s *Session) Settings() Settings { return s.settings }

// ModelNames lists the models to offer.
func (s *Session) ModelNames() []string {
	if s.cfg.ModelNames == nil {
		return []string{gaussianModel}
	}
	return s.cfg.ModelNames()
}

// Set changes one setting from its text form. Keys are SettingKeys; a dash
// may replace the underscore. sigma_y accepts "auto" for the task's level.
// The change applies from the next Start.
func (s *Session) Set(key, value string) error {
	v := s.settings
	var err error
	switch strings.ReplaceAll(key, "-", "_") {
	case "task":
		_, err = restore.LookupTask(value)
		v.Task = value
	case "method":
		if !slices.Contains(Methods, value) {
			err = fmt.Errorf("unknown method %q; use one of %s", value, strings.Join(Methods, ", "))
			break
		}
		// Sampler settings still at the old method's defaults follow the
		// new method's: LDM runs 100 steps at eta 1, DDRM 20 at 0.85.
		if old := methodDefaults(v.Method); v.Steps == old.Steps && v.Eta == old.Eta && v.EtaB == old.EtaB {
			d := methodDefaults(value)
			v.Steps, v.Eta, v.EtaB = d.Steps, d.Eta, d.EtaB
		}
		v.Method = value
	case "ldm_model":
		v.LDMModel = value
	case "model":
		_, err = s.openModel(value)
		v.Model = value
	case "steps":
		v.Steps, err = strconv.Atoi(value)
		if err != nil || v.Steps < 1 {
			err = fmt.Errorf("steps %q is not a positive integer", value)
		}
	case "eta":
		v.Eta, err = unitFloat("eta", value)
	case "eta_b":
		v.EtaB, err = unitFloat("eta_b", value)
	case "sigma_y":
		if value == "auto" {
			v.SigmaY = -1
		} else {
			v.SigmaY, err = unitFloat("sigma_y", value)
		}
	case "seed":
		v.Seed, err = strconv.ParseUint(value, 10, 64)
		if err != nil {
			err = fmt.Errorf("seed %q is not a non-negative integer", value)
		}
	default:
		return fmt.Errorf("unknown setting %q; use one of %s", key, strings.Join(SettingKeys, ", "))
	}
	if err != nil {
		return err
	}
	s.settings = v
	return nil
}

func unitFloat(key, value string) (float64, error) {
	f, err := strconv.ParseFloat(value, 64)
	if err != nil || !(f >= 0 && f <= 1) {
		return 0, fmt.Errorf("%s %q is not a number in [0, 1]", key, value)
	}
	return f, nil
}

// Value returns one setting in its text form.
func (s *Session) Value(key string) (string, error) {
	v := s.settings
	switch strings.ReplaceAll(key, "-", "_") {
	case "task":
		return v.Task, nil
	case "method":
		return v.Method, nil
	case "model":
		return v.Model, nil
	case "ldm_model":
		return cmp.Or(v.LDMModel, "default"), nil
	case "steps":
		return strconv.Itoa(v.Steps), nil
	case "eta":
		return strconv.FormatFloat(v.Eta, 'g', -1, 64), nil
	case "eta_b":
		return strconv.FormatFloat(v.EtaB, 'g', -1, 64), nil
	case "sigma_y":
		if v.SigmaY < 0 {
			t, _ := restore.LookupTask(v.Task)
			return fmt.Sprintf("auto (%g for %s)", t.SigmaY, v.Task), nil
		}
		return strconv.FormatFloat(v.SigmaY, 'g', -1, 64), nil
	case "seed":
		return strconv.FormatUint(v.Seed, 10), nil
	}
	return "", fmt.Errorf("unknown setting %q; use one of %s", key, strings.Join(SettingKeys, ", "))
}

// sigmaY resolves the noise setting for a task.
func (s *Session) sigmaY(t restore.Task) float64 {
	if s.settings.SigmaY < 0 {
		return t.SigmaY
	}
	return s.settings.SigmaY
}

// openModel opens a prior, keeping the last one open: neural priors are
// slow to load.
func (s *Session) openModel(name string) (restore.Denoiser, error) {
	if s.den != nil && s.model == name {
		return s.den, nil
	}
	var den restore.Denoiser
	var err error
	switch {
	case s.cfg.OpenModel != nil:
		den, err = s.cfg.OpenModel(name)
	case name == gaussianModel:
		den = restore.NewGaussianDenoiser(nil)
	default:
		err = fmt.Errorf("unknown model %q; use %s", name, gaussianModel)
	}
	if err != nil {
		return nil, err
	}
	s.model, s.den = name, den
	return den, nil
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
		s.run.ref = s.reference(s.run.op.InShape(), s.run.y.N)
		s.rescore()
	}
	return nil
}

// LoadMeasurement reads a measurement y in place of degrading the clean
// image. Transparent PNG pixels or NaN in .npy files mark inpainting's
// missing pixels. The run, if any, is dropped.
func (s *Session) LoadMeasurement(path string) error {
	y, keep, err := restore.LoadMeasurement(path)
	if err != nil {
		return err
	}
	s.dropMeasurement()
	s.y, s.keep, s.yName = y, keep, filepath.Base(path)
	switch strings.ToLower(filepath.Ext(path)) {
	case ".png", ".jpg", ".jpeg":
		s.yEightBit = true
	}
	return nil
}

func (s *Session) dropMeasurement() {
	s.y, s.keep, s.yName, s.yTask, s.yEightBit, s.run = nil, nil, "", "", false, nil
}

// Degrade makes the measurement y = H x + sigma_y z from the clean image,
// with the named task ("" for the task setting, which a name also sets).
// Inpainting draws its mask from the seed. The run, if any, is dropped.
func (s *Session) Degrade(task string) error {
	if task == "" {
		task = s.settings.Task
	}
	t, err := restore.LookupTask(task)
	if err != nil {
		return err
	}
	if s.clean == nil {
		return errors.New("no clean image; load FILE first (or measure FILE to restore a measurement)")
	}
	var keep []bool
	if task == "inpaint" {
		keep = restore.RandomInpaintMask(s.clean.Shape.H, s.clean.Shape.W, s.settings.Seed)
	}
	op, err := t.Operator(s.clean.Shape, keep)
	if err != nil {
		return err
	}
	y, err := restore.Degrade(op, s.clean, s.sigmaY(t), s.settings.Seed)
	if err != nil {
		return err
	}
	s.dropMeasurement()
	s.settings.Task = task
	s.y, s.keep, s.yName, s.yTask = y, keep, fmt.Sprintf("%s of %s, sigma_y %g", task, s.cleanName, s.sigmaY(t)), task
	return nil
}

// Reset forgets the images and the run; the settings stay.
func (s *Session) Reset() {
	s.dropMeasurement()
	s.clean, s.cleanName = nil, ""
}

// Start begins a new run restoring the measurement with the settings. DDRM
// runs then advance with Step; the baseline is computed at once.
func (s *Session) Start() error {
	if s.y == nil {
		return errors.New("no measurement; load a clean image and degrade it, or measure FILE")
	}
	st := s.settings
	if s.yTask != "" && s.yTask != st.Task {
		return fmt.Errorf("the measurement was degraded with %s but the task is %s; degrade again, or set task %s", s.yTask, st.Task, s.yTask)
	}
	task, err := restore.LookupTask(st.Task)
	if err != nil {
		return err
	}
	shape, err := task.CleanShape(s.y.Shape)
	if err != nil {
		return err
	}
	op, err := task.Operator(shape, s.keep)
	if err != nil {
		return err
	}
	r := &run{method: st.Method, task: task, op: op, y: s.y, ref: s.reference(shape, s.y.N)}
	r.sigmaY = restore.MeasurementSigma(s.sigmaY(task), s.yEightBit)
	var sampler restore.Sampler
	switch st.Method {
	case "baseline":
		if r.result, err = task.Baseline(op, s.y); err != nil {
			return err
		}
		s.run = r
		return nil
	case "ldm", "ddrm-ldm":
		sampler, err = s.startLDM(st, task, op, r.sigmaY)
		r.model = cmp.Or(st.LDMModel, "default SRLDM")
	default:
		var den restore.Denoiser
		if den, err = s.openModel(st.Model); err == nil {
			cfg := restore.DDRMConfig{Steps: st.Steps, Eta: st.Eta, EtaB: st.EtaB, SigmaY: r.sigmaY, Seed: st.Seed}
			sampler, err = restore.NewDDRM(den, op, s.y, cfg)
		}
		r.model = st.Model
	}
	if err != nil {
		return err
	}
	r.sampler = sampler
	r.states = newHistory(s.cfg.HistoryBytes, sampler.State())
	s.run = r
	return nil
}

// startLDM starts SRLDM or DDRM-LDM on the measurement, giving SRLDM the
// low-resolution input restore.LowResInput makes for the task.
func (s *Session) startLDM(st Settings, task restore.Task, op restore.Operator, sigmaY float64) (restore.Sampler, error) {
	if s.cfg.OpenLDM == nil {
		return nil, fmt.Errorf("the %s method is not available here", st.Method)
	}
	unet, ae, err := s.cfg.OpenLDM(st.LDMModel)
	if err != nil {
		return nil, err
	}
	low, err := restore.LowResInput(task, op, s.y, ae.Factor())
	if err != nil {
		return nil, err
	}
	if st.Method == "ldm" {
		return restore.NewLDMSR(unet, ae, low, restore.DDIMConfig{Steps: st.Steps, Eta: st.Eta, Seed: st.Seed})
	}
	cfg := restore.DDRMConfig{Steps: st.Steps, Eta: st.Eta, EtaB: st.EtaB, SigmaY: sigmaY, Seed: st.Seed}
	return restore.NewDDRMLDM(unet, ae, low, op, s.y, cfg)
}

// reference returns the clean image if it is what a restoration of that
// shape and count estimates.
func (s *Session) reference(shape restore.Shape, n int) *restore.Tensor {
	if s.clean != nil && s.clean.Shape == shape && s.clean.N == n {
		return s.clean
	}
	return nil
}

// sampling returns the current DDRM run.
func (s *Session) sampling() (*run, error) {
	switch {
	case s.run == nil:
		return nil, errors.New("no run; start one first")
	case s.run.sampler == nil:
		return nil, errors.New("the baseline takes no steps; set method ddrm (or ldm, ddrm-ldm) and start again")
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

// metrics scores an estimate on the [0, 1] scale, unclamped; PSNR and SSIM
// see it clamped, as a saved image would be.
func (r *run) metrics(x *restore.Tensor) Metrics {
	m := Metrics{PSNR: math.NaN(), SSIM: math.NaN(), Consistency: consistency(r.op, x, r.y)}
	if r.ref == nil {
		return m
	}
	c := x.Clone().Clamp(0, 1)
	if v, err := restore.PSNRTensor(c, r.ref); err == nil {
		m.PSNR = v
	}
	if v, err := restore.SSIMTensor(c, r.ref); err == nil {
		m.SSIM = v
	}
	return m
}

// consistency is ||H x - y|| / sqrt(m) over the batch.
func consistency(op restore.Operator, x, y *restore.Tensor) float64 {
	hx := make([]float32, y.Shape.Len())
	var sum float64
	for b := range x.N {
		restore.ApplyH(op, hx, x.Item(b))
		for i, v := range y.Item(b) {
			d := float64(hx[i]) - float64(v)
			sum += d * d
		}
	}
	return math.Sqrt(sum / float64(len(y.Data)))
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
		st.Method, st.Task, st.Model, st.SigmaY, st.Reference = r.method, r.task.Name, r.model, r.sigmaY, r.ref != nil
		if r.sampler != nil {
			st.Step, st.Steps = r.sampler.Index(), r.sampler.Len()
		}
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
	x, err := s.Tensor("result")
	if err != nil {
		return Metrics{}, err
	}
	return s.run.metrics(x), nil
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
		if s.run != nil && s.run.sampler == nil {
			return s.run.result, nil
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
		return pixelX0(r.last)
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
