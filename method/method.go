package method

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/restorelab/restorelab/restore"
)

// Kind is the type of a setting's value.
type Kind int

const (
	// Int settings hold whole numbers.
	Int Kind = iota
	// Float settings hold real numbers.
	Float
	// Prior settings name an unconditional diffusion prior for Models.Prior;
	// "" (shown as "default") is the Models' default one.
	Prior
	// SRLDM settings name a latent-diffusion super-resolution model for
	// Models.SRLDM; "" (shown as "default") is the Models' default one.
	SRLDM
	// Choice settings take one of Param.Choices.
	Choice
)

// Param describes one setting of a method.
type Param struct {
	// Key names the setting: `set KEY` in the REPL, --KEY with dashes for
	// underscores on the command line, and, for numbers, the field of the
	// method's restore configuration named by Field.
	Key  string
	Kind Kind
	Help string
	// Min and Max bound numbers; MinOpen excludes Min itself.
	Min, Max float64
	MinOpen  bool
	// Choices are the values of a Choice setting.
	Choices []string
	// Default is the default value in text form.
	Default string
}

// Flag is the command-line flag of the setting, without its dashes.
func (p Param) Flag() string { return strings.ReplaceAll(p.Key, "_", "-") }

// Field is the name of the configuration field a number setting fills:
// the key in CamelCase (eta_b: EtaB).
func (p Param) Field() string {
	var b strings.Builder
	for _, part := range strings.Split(p.Key, "_") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

// Range describes the values a number setting takes, e.g. "1..1000" or
// "[0, 1]"; "" for model names.
func (p Param) Range() string {
	switch p.Kind {
	case Int:
		return fmt.Sprintf("%g..%g", p.Min, p.Max)
	case Float:
		open := "["
		if p.MinOpen {
			open = "("
		}
		return fmt.Sprintf("%s%g, %g]", open, p.Min, p.Max)
	case Choice:
		return "one of " + strings.Join(p.Choices, ", ")
	}
	return ""
}

// parse checks a value's text and returns its canonical form.
func (p Param) parse(text string) (string, error) {
	text = strings.TrimSpace(text)
	switch p.Kind {
	case Prior, SRLDM:
		if text == "" || text == "default" {
			return "", nil
		}
		return text, nil
	case Choice:
		if !slices.Contains(p.Choices, text) {
			return "", fmt.Errorf("%s %q is not %s", p.Key, text, p.Range())
		}
		return text, nil
	case Int:
		v, err := strconv.Atoi(text)
		if err != nil {
			return "", fmt.Errorf("%s %q is not a whole number; use %s", p.Key, text, p.Range())
		}
		if float64(v) < p.Min || float64(v) > p.Max {
			return "", fmt.Errorf("%s = %d is out of range; use %s", p.Key, v, p.Range())
		}
		return strconv.Itoa(v), nil
	}
	v, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(v) {
		return "", fmt.Errorf("%s %q is not a number; use a value in %s", p.Key, text, p.Range())
	}
	if v < p.Min || v > p.Max || p.MinOpen && v == p.Min {
		return "", fmt.Errorf("%s = %g is out of range; use a value in %s", p.Key, v, p.Range())
	}
	return strconv.FormatFloat(v, 'g', -1, 64), nil
}

// Method is a restoration method: how to build its sampler from settings.
type Method struct {
	// Name is what --method, `set method` and bench's --methods take.
	Name string
	// Summary says in one line what the method does.
	Summary string
	// Reference names the paper and the official code it follows.
	Reference string
	// Params are its settings, model names first.
	Params []Param
	build  func(s Settings, ms Models, p Problem, seed uint64) (restore.Sampler, error)
}

// Param returns the method's setting named key (dashes may stand for
// underscores).
func (m *Method) Param(key string) (Param, bool) {
	key = strings.ReplaceAll(key, "-", "_")
	for _, p := range m.Params {
		if p.Key == key {
			return p, true
		}
	}
	return Param{}, false
}

// Keys lists the method's setting keys in order.
func (m *Method) Keys() []string {
	keys := make([]string, len(m.Params))
	for i, p := range m.Params {
		keys[i] = p.Key
	}
	return keys
}

// ModelParam returns the setting that names the method's network, if any.
func (m *Method) ModelParam() (Param, bool) {
	for _, p := range m.Params {
		if p.Kind == Prior || p.Kind == SRLDM {
			return p, true
		}
	}
	return Param{}, false
}

// Defaults returns the method's settings at their defaults.
func (m *Method) Defaults() Settings {
	s := Settings{m: m, values: map[string]string{}}
	for _, p := range m.Params {
		s.values[p.Key] = p.Default
	}
	return s
}

// Settings are one method's settings. The zero value is not usable; start
// from Method.Defaults.
type Settings struct {
	m      *Method
	values map[string]string
}

// Method returns the method the settings belong to.
func (s Settings) Method() *Method { return s.m }

// Clone returns an independent copy.
func (s Settings) Clone() Settings {
	c := Settings{m: s.m, values: make(map[string]string, len(s.values))}
	for k, v := range s.values {
		c.values[k] = v
	}
	return c
}

// Set changes one setting from its text form, checking its range. Keys
// are the method's Params; a dash may replace an underscore; model names
// take "default" for the default model.
func (s Settings) Set(key, value string) error {
	p, ok := s.m.Param(key)
	if !ok {
		return unknownSetting(s.m, key)
	}
	v, err := p.parse(value)
	if err != nil {
		return err
	}
	s.values[p.Key] = v
	return nil
}

func unknownSetting(m *Method, key string) error {
	key = strings.ReplaceAll(key, "-", "_")
	var others []string
	for _, o := range All() {
		if _, ok := o.Param(key); ok {
			others = append(others, o.Name)
		}
	}
	msg := fmt.Sprintf("%s has no setting %q; its settings are %s", m.Name, key, strings.Join(m.Keys(), ", "))
	if len(m.Params) == 0 {
		msg = fmt.Sprintf("%s has no settings, so not %q", m.Name, key)
	}
	if len(others) > 0 {
		msg += fmt.Sprintf(" (%s is a setting of %s)", key, strings.Join(others, ", "))
	}
	return fmt.Errorf("%s", msg)
}

// Has reports whether the method has the setting key.
func (s Settings) Has(key string) bool {
	_, ok := s.m.Param(key)
	return ok
}

// Value returns a setting in its text form; model names at their default
// read "default".
func (s Settings) Value(key string) string {
	p, ok := s.m.Param(key)
	if !ok {
		return ""
	}
	v := s.values[p.Key]
	if v == "" && (p.Kind == Prior || p.Kind == SRLDM) {
		return "default"
	}
	return v
}

// name returns a model-name setting, "" for the default model.
func (s Settings) name(key string) string { return s.values[key] }

// Model returns the name of the network the settings use ("" for the
// default one), and false for methods without one.
func (s Settings) Model() (string, bool) {
	p, ok := s.m.ModelParam()
	if !ok {
		return "", false
	}
	return s.values[p.Key], true
}

// Changed lists the settings not at their defaults, in order.
func (s Settings) Changed() []string {
	var keys []string
	for _, p := range s.m.Params {
		if s.values[p.Key] != p.Default {
			keys = append(keys, p.Key)
		}
	}
	return keys
}

// String lists the settings as key=value pairs, e.g. "model=default
// steps=20 eta=0.85 eta_b=1".
func (s Settings) String() string {
	parts := make([]string, 0, len(s.m.Params))
	for _, p := range s.m.Params {
		parts = append(parts, p.Key+"="+s.Value(p.Key))
	}
	return strings.Join(parts, " ")
}

// Values returns every setting in its text form, keyed by name.
func (s Settings) Values() map[string]string {
	out := make(map[string]string, len(s.m.Params))
	for _, p := range s.m.Params {
		out[p.Key] = s.Value(p.Key)
	}
	return out
}

// Sampler builds the method's sampler for problem p, opening the networks
// the settings name through ms. seed fixes the sampler's noise.
func (s Settings) Sampler(ms Models, p Problem, seed uint64) (restore.Sampler, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	return s.m.build(s, ms, p, seed)
}

// fill sets the fields of the configuration *cfg named after the number
// settings (Param.Field).
func (s Settings) fill(cfg any) {
	v := reflect.ValueOf(cfg).Elem()
	for _, p := range s.m.Params {
		if p.Kind != Int && p.Kind != Float {
			continue
		}
		f := v.FieldByName(p.Field())
		switch f.Kind() {
		case reflect.Int:
			n, _ := strconv.Atoi(s.values[p.Key])
			f.SetInt(int64(n))
		case reflect.Float64:
			x, _ := strconv.ParseFloat(s.values[p.Key], 64)
			f.SetFloat(x)
		default:
			panic(fmt.Sprintf("method %s: setting %s has no field %s in %T", s.m.Name, p.Key, p.Field(), cfg))
		}
	}
}

// numbers completes number settings with their defaults, read from the
// fields of a default configuration cfg.
func numbers(cfg any, params ...Param) []Param {
	v := reflect.ValueOf(cfg)
	for i, p := range params {
		f := v.FieldByName(p.Field())
		switch f.Kind() {
		case reflect.Int:
			params[i].Default = strconv.FormatInt(f.Int(), 10)
		case reflect.Float64:
			params[i].Default = strconv.FormatFloat(f.Float(), 'g', -1, 64)
		default:
			panic(fmt.Sprintf("setting %s has no field %s in %T", p.Key, p.Field(), cfg))
		}
	}
	return params
}

// The settings several methods share.
var (
	modelParam = Param{Key: "model", Kind: Prior, Help: "the diffusion prior: a model name or folder, 'gaussian' for the analytic prior (see 'restorelab models list')"}
	ldmParam   = Param{Key: "ldm_model", Kind: SRLDM, Help: "the SRLDM: a model name or an ldm-sr folder"}
)

func stepsParam(max float64, help string) Param {
	return Param{Key: "steps", Kind: Int, Min: 1, Max: max, Help: help}
}

func etaParam(help string) Param {
	return Param{Key: "eta", Kind: Float, Min: 0, Max: 1, Help: help}
}

// registry lists the methods in the order front ends show them.
var registry = []*Method{Baseline, DDRM, DDNM, DDNMPlus, DiffPIR, LDM, DDRMLDM}

// All returns every method, in display order.
func All() []*Method { return slices.Clone(registry) }

// Names returns the methods' names, in display order.
func Names() []string {
	names := make([]string, len(registry))
	for i, m := range registry {
		names[i] = m.Name
	}
	return names
}

// Lookup finds a method by name.
func Lookup(name string) (*Method, error) {
	for _, m := range registry {
		if m.Name == name {
			return m, nil
		}
	}
	return nil, fmt.Errorf("unknown method %q; use one of %s (see 'restorelab methods')", name, strings.Join(Names(), ", "))
}

// Params returns every setting key of every method once, in the order
// they first appear, with the first method's description of it.
func Params() []Param {
	var out []Param
	seen := map[string]bool{}
	for _, m := range registry {
		for _, p := range m.Params {
			if !seen[p.Key] {
				seen[p.Key] = true
				out = append(out, p)
			}
		}
	}
	return out
}

// With returns the methods that have the setting key.
func With(key string) []*Method {
	var out []*Method
	for _, m := range registry {
		if _, ok := m.Param(key); ok {
			out = append(out, m)
		}
	}
	return out
}

// Markdown is the table of every method, its settings with their defaults
// and what it follows, as the README shows it.
func Markdown() string {
	var b strings.Builder
	b.WriteString("| method | what it does | settings (defaults) | follows |\n|---|---|---|---|\n")
	for _, m := range registry {
		var settings []string
		for _, p := range m.Params {
			d := p.Default
			if d == "" {
				d = "default"
			}
			settings = append(settings, fmt.Sprintf("`%s` %s", p.Key, d))
		}
		if len(settings) == 0 {
			settings = []string{"none"}
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", m.Name, m.Summary, strings.Join(settings, ", "), m.Reference)
	}
	return b.String()
}
