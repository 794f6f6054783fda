package sidecar

import (
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// ValuesFile is where the control-plane chart's default values live in the
// templates file system.
const ValuesFile = "control-plane/values.yaml"

// DefaultValues returns the control-plane chart's default values from fsys,
// the values an --ignore-cluster render uses.
func DefaultValues(fsys fs.FS) (map[string]any, error) {
	b, err := fs.ReadFile(fsys, ValuesFile)
	if err != nil {
		return nil, fmt.Errorf("read chart defaults: %w", err)
	}
	return ParseValues(b)
}

// ParseValues parses a values tree in YAML, for example data.values of
// ConfigMap meshctl-config.
func ParseValues(b []byte) (map[string]any, error) {
	m := map[string]any{}
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("parse mesh values: %w", err)
	}
	return m, nil
}

// MergeValues returns a copy of base with over merged into it; maps merge
// key by key, anything else in over replaces what base has.
func MergeValues(base, over map[string]any) map[string]any {
	out := CloneValues(base)
	mergeInto(out, over)
	return out
}

func mergeInto(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				mergeInto(dm, sm)
				continue
			}
		}
		dst[k] = cloneValue(v)
	}
}

// CloneValues returns a deep copy of a values tree.
func CloneValues(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return cloneValue(m).(map[string]any)
}

func cloneValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = cloneValue(e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = cloneValue(e)
		}
		return out
	default:
		return v
	}
}

// GetValue returns the value at a dotted path such as "proxy.ports.admin".
func GetValue(m map[string]any, path string) (any, bool) {
	var cur any = m
	for _, k := range strings.Split(path, ".") {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = mm[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// SetValue sets the value at a dotted path, creating maps on the way.
func SetValue(m map[string]any, path string, v any) error {
	keys := strings.Split(path, ".")
	cur := m
	for _, k := range keys[:len(keys)-1] {
		next, ok := cur[k]
		if !ok || next == nil {
			nm := map[string]any{}
			cur[k] = nm
			cur = nm
			continue
		}
		nm, ok := next.(map[string]any)
		if !ok {
			return fmt.Errorf("set %s: %s is not a map", path, k)
		}
		cur = nm
	}
	cur[keys[len(keys)-1]] = v
	return nil
}

// formatValue renders a values-tree leaf the way annotations spell it.
func formatValue(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case bool:
		return strconv.FormatBool(t)
	case float64:
		if t == float64(int64(t)) {
			return strconv.FormatInt(int64(t), 10)
		}
		return strconv.FormatFloat(t, 'f', -1, 64)
	case int:
		return strconv.Itoa(t)
	case int64:
		return strconv.FormatInt(t, 10)
	default:
		return fmt.Sprint(t)
	}
}
