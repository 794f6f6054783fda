package install

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/meshctl/meshctl/pkg/render"
)

// ValueOptions are the Helm-style value sources (-f, --set, --set-string,
// --set-file), shared with every chart meshctl renders.
type ValueOptions = render.ValueOptions

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
	check := func(fm map[string]any) error { return checkKeys(fm, reflect.TypeFor[Values](), "") }
	if err := render.MergeValueOptions(m, s.opts, s.readFile, check); err != nil {
		return nil, err
	}
	return decodeValues(m)
}

// mergeMaps merges src into dst (render.MergeMaps).
func mergeMaps(dst, src map[string]any) { render.MergeMaps(dst, src) }

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
