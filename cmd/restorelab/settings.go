package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/restorelab/restorelab/method"
)

// settingFlags are the flags of every method setting (--steps, --eta,
// --model, ...), generated from the method registry; the values given
// apply to the methods that have them.
type settingFlags struct {
	given map[string]string // setting key -> value, for the flags given
}

func addSettingFlags(fs *flagSet) *settingFlags {
	sf := &settingFlags{given: map[string]string{}}
	for _, p := range method.Params() {
		fs.Func(p.Flag(), settingHelp(p), func(v string) error {
			sf.given[p.Key] = v
			return nil
		})
	}
	return sf
}

// settingHelp describes a setting and its default for each method.
func settingHelp(p method.Param) string {
	var defaults []string
	for _, m := range method.With(p.Key) {
		q, _ := m.Param(p.Key)
		d := q.Default
		if d == "" {
			d = "default"
		}
		defaults = append(defaults, m.Name+" "+d)
	}
	help := p.Help
	if r := p.Range(); r != "" {
		help += ", " + r
	}
	return fmt.Sprintf("%s (default: %s)", help, strings.Join(defaults, ", "))
}

// apply sets the given values on s. With strict, a value for a setting s
// does not have is an error; otherwise it is skipped (bench applies the
// flags to every method that has them).
func (sf *settingFlags) apply(s method.Settings, strict bool) error {
	keys := make([]string, 0, len(sf.given))
	for k := range sf.given {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !s.Has(k) {
			if strict {
				var names []string
				for _, m := range method.With(k) {
					names = append(names, m.Name)
				}
				return fmt.Errorf("--%s is a setting of %s, not of --method %s; its settings are %s",
					strings.ReplaceAll(k, "_", "-"), strings.Join(names, ", "), s.Method().Name, flagList(s.Method()))
			}
			continue
		}
		if err := s.Set(k, sf.given[k]); err != nil {
			return fmt.Errorf("--%s: %w", strings.ReplaceAll(k, "_", "-"), err)
		}
	}
	return nil
}

func flagList(m *method.Method) string {
	if len(m.Params) == 0 {
		return "none"
	}
	var flags []string
	for _, p := range m.Params {
		flags = append(flags, "--"+p.Flag())
	}
	return strings.Join(flags, ", ")
}

// parseMethodSpec reads one method of bench's --methods: NAME, then
// options separated by colons, each KEY=VALUE or a bare model name for the
// method's model (ddrm:gaussian, ldm:steps=50:eta=0). The flags' values
// apply first; the spec's own options override them.
func parseMethodSpec(spec string, sf *settingFlags) (method.Settings, error) {
	parts := strings.Split(spec, ":")
	m, err := method.Lookup(parts[0])
	if err != nil {
		return method.Settings{}, err
	}
	s := m.Defaults()
	if err := sf.apply(s, false); err != nil {
		return method.Settings{}, err
	}
	for _, opt := range parts[1:] {
		key, value, ok := strings.Cut(opt, "=")
		if !ok {
			mp, has := m.ModelParam()
			if !has {
				return method.Settings{}, fmt.Errorf("--methods %s: %s takes no model; give options as KEY=VALUE", spec, m.Name)
			}
			key, value = mp.Key, opt
		}
		if err := s.Set(key, value); err != nil {
			return method.Settings{}, fmt.Errorf("--methods %s: %w", spec, err)
		}
	}
	return s, nil
}
