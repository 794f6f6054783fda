package render

import (
	"fmt"
	"os"

	"helm.sh/helm/v3/pkg/strvals"
	"sigs.k8s.io/yaml"
)

// ValueOptions are the Helm-style value sources of every chart meshctl
// renders, applied in this order: -f files, then --set, --set-string and
// --set-file (later wins).
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

// Empty reports whether no value source is given.
func (v ValueOptions) Empty() bool {
	return len(v.ValueFiles)+len(v.Values)+len(v.StringValues)+len(v.FileValues) == 0
}

// MergeValueOptions applies opts to m in place. readFile reads -f and
// --set-file files (nil means os.ReadFile); checkFile, when set, vets each
// values file's map before it is merged (unknown keys, for example).
func MergeValueOptions(m map[string]any, opts ValueOptions, readFile func(string) ([]byte, error), checkFile func(map[string]any) error) error {
	read := readFile
	if read == nil {
		read = os.ReadFile
	}
	for _, f := range opts.ValueFiles {
		b, err := read(f)
		if err != nil {
			return fmt.Errorf("read values file: %w", err)
		}
		fm := map[string]any{}
		if err := yaml.Unmarshal(b, &fm); err != nil {
			return fmt.Errorf("values file %s is not a YAML map: %w", f, err)
		}
		if checkFile != nil {
			if err := checkFile(fm); err != nil {
				return fmt.Errorf("values file %s: %w", f, err)
			}
		}
		MergeMaps(m, fm)
	}
	for _, kv := range opts.Values {
		if err := strvals.ParseInto(kv, m); err != nil {
			return fmt.Errorf("--set %q: %w", kv, err)
		}
	}
	for _, kv := range opts.StringValues {
		if err := strvals.ParseIntoString(kv, m); err != nil {
			return fmt.Errorf("--set-string %q: %w", kv, err)
		}
	}
	for _, kv := range opts.FileValues {
		reader := func(rs []rune) (any, error) {
			b, err := read(string(rs))
			if err != nil {
				return nil, err
			}
			return string(b), nil
		}
		if err := strvals.ParseIntoFile(kv, m, reader); err != nil {
			return fmt.Errorf("--set-file %q: %w", kv, err)
		}
	}
	return nil
}

// MergeMaps merges src into dst: maps merge key by key, anything else in
// src replaces dst's value. A null in src leaves dst's value (the default).
func MergeMaps(dst, src map[string]any) {
	for k, sv := range src {
		if sv == nil {
			continue
		}
		sm, sIsMap := sv.(map[string]any)
		dm, dIsMap := dst[k].(map[string]any)
		if sIsMap && dIsMap {
			MergeMaps(dm, sm)
			continue
		}
		dst[k] = sv
	}
}
