package install

import (
	"fmt"
	"os"
	"reflect"
	"strings"

	"helm.sh/helm/v3/pkg/strvals"
	"sigs.k8s.io/yaml"
)

// ValueOptions are the Helm-style value sources, applied in this order:
// -f files, then --set, --set-string and --set-file (later wins).
type ValueOptions struct {
	// ValueFiles are YAML files of values (-f).
	ValueFiles []string
	// Values are key=value pairs with typed values (--set).
	Values []string
	// StringValues are key=value pairs whose values stay strings (--set-string).
	StringValues []string
	// FileValues are key=path pairs whose values are the files' contents (--set-file).
	FileValues []string
}

// Override sets one value by its dotted path, for example
// {"proxy.ports.inbound", 4143}. Command-line flags become Overrides.
type Override struct {
	Path  string
	Value any
}

// valueSources is everything that builds the values, in order.
type valueSources struct {
	base      map[string]any
	ha        map[string]any
	overrides []Override
	opts      ValueOptions
	readFile  func(string) ([]byte, error)
}

// build merges the sources into a strictly decoded Values.
func (s valueSources) build() (*Values, error) {
	m := s.base
	if s.ha != nil {
		mergeMaps(m, s.ha)
	}
	for _, o := range s.overrides {
		if err := setPath(m, o.Path, o.Value); err != nil {
			return nil, err
		}
	}
	read := s.readFile
	if read == nil {
		read = os.ReadFile
	}
	for _, f := range s.opts.ValueFiles {
		b, err := read(f)
		if err != nil {
			return nil, fmt.Errorf("read values file: %w", err)
		}
		fm := map[string]any{}
		if err := yaml.Unmarshal(b, &fm); err != nil {
			return nil, fmt.Errorf("values file %s is not a YAML map: %w", f, err)
		}
		if err := checkKeys(fm, reflect.TypeFor[Values](), ""); err != nil {
			return nil, fmt.Errorf("values file %s: %w", f, err)
		}
		mergeMaps(m, fm)
	}
	for _, kv := range s.opts.Values {
		if err := strvals.ParseInto(kv, m); err != nil {
			return nil, fmt.Errorf("--set %q: %w", kv, err)
		}
	}
	for _, kv := range s.opts.StringValues {
		if err := strvals.ParseIntoString(kv, m); err != nil {
			return nil, fmt.Errorf("--set-string %q: %w", kv, err)
		}
	}
	for _, kv := range s.opts.FileValues {
		reader := func(rs []rune) (any, error) {
			b, err := read(string(rs))
			if err != nil {
				return nil, err
			}
			return string(b), nil
		}
		if err := strvals.ParseIntoFile(kv, m, reader); err != nil {
			return nil, fmt.Errorf("--set-file %q: %w", kv, err)
		}
	}
	return decodeValues(m)
}

// mergeMaps merges src into dst: maps merge key by key, anything else in
// src replaces dst's value. A null in src leaves dst's value (the default).
func mergeMaps(dst, src map[string]any) {
	for k, sv := range src {
		if sv == nil {
			continue
		}
		sm, sIsMap := sv.(map[string]any)
		dm, dIsMap := dst[k].(map[string]any)
		if sIsMap && dIsMap {
			mergeMaps(dm, sm)
			continue
		}
		dst[k] = sv
	}
}

// setPath sets a dotted path in m, creating maps on the way.
func setPath(m map[string]any, path string, v any) error {
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			if m[p] != nil {
				return fmt.Errorf("value %q: %q is not a map", path, p)
			}
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = v
	return nil
}
