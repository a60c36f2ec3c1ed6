package config

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Error lists every configuration problem found, each naming its setting.
type Error struct{ Problems []string }

func (e *Error) Error() string {
	return "invalid configuration: " + strings.Join(e.Problems, "; ")
}

// Sources are the places a setting can come from, highest precedence first.
type Sources struct {
	// Flags holds the flags given on the command line, by flag name.
	Flags map[string]string
	// Env looks up an environment variable (os.LookupEnv in production).
	Env func(string) (string, bool)
	// File is an optional YAML file of key: value pairs (keys as in Setting.Key).
	File string
}

// Load builds a Config from the sources and validates it. Every problem is reported at once.
func Load(src Sources) (*Config, error) {
	if src.Env == nil {
		src.Env = os.LookupEnv
	}
	fileValues, err := readFile(src.File)
	if err != nil {
		return nil, &Error{Problems: []string{err.Error()}}
	}
	c := &Config{explicit: map[string]bool{}}
	var problems []string
	for _, s := range Settings {
		v, origin, explicit := s.Default, "default", false
		if fv, ok := fileValues[s.Key()]; ok {
			v, origin, explicit = fv, "file key "+s.Key(), true
			delete(fileValues, s.Key())
		}
		if ev, ok := src.Env(s.Env); ok && ev != "" {
			v, origin, explicit = ev, s.Env, true
		}
		if fl, ok := src.Flags[s.Flag()]; ok && !s.Secret {
			v, origin, explicit = fl, "--"+s.Flag(), true
		}
		c.explicit[s.Env] = explicit
		if v == "" && s.Default == "" && !explicit {
			continue // optional and unset
		}
		if err := s.apply(c, v); err != nil {
			name := s.Env
			if origin != s.Env && origin != "default" {
				name = origin + " (" + s.Env + ")"
			}
			problems = append(problems, fmt.Sprintf("%s: %v", name, err))
		}
	}
	for _, k := range sortedKeys(fileValues) {
		problems = append(problems, fmt.Sprintf("%s: unknown key %q", src.File, k))
	}
	problems = append(problems, c.validate()...)
	if len(problems) > 0 {
		return nil, &Error{Problems: problems}
	}
	return c, nil
}

func readFile(path string) (map[string]string, error) {
	out := map[string]string{}
	if path == "" {
		return out, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--config: %v", err)
	}
	var raw map[string]any
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("--config %s: not valid YAML: %v", path, err)
	}
	for k, v := range raw {
		switch t := v.(type) {
		case string:
			out[k] = t
		case int:
			out[k] = strconv.Itoa(t)
		case bool:
			out[k] = strconv.FormatBool(t)
		case float64:
			out[k] = strconv.FormatFloat(t, 'f', -1, 64)
		case []any:
			parts := make([]string, 0, len(t))
			for _, p := range t {
				parts = append(parts, fmt.Sprint(p))
			}
			out[k] = strings.Join(parts, ",")
		case nil:
			out[k] = ""
		default:
			return nil, fmt.Errorf("--config %s: key %q must be a scalar or a list", path, k)
		}
	}
	return out, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
