package install

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// decodeValues decodes a values tree strictly: every key must be a field of
// Values and every value must have the field's type.
func decodeValues(m map[string]any) (*Values, error) {
	if err := checkKeys(m, reflect.TypeFor[Values](), ""); err != nil {
		return nil, err
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode values: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var v Values
	if err := dec.Decode(&v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("value %q must be %s, not %s (quote strings with --set-string)", te.Field, typeName(te.Type), te.Value)
		}
		return nil, fmt.Errorf("decode values: %w", err)
	}
	return &v, nil
}

// checkKeys reports the first key of m (in sorted order) that is not a field
// of t, naming it by its dotted path.
func checkKeys(m map[string]any, t reflect.Type, prefix string) error {
	fields := jsonFields(t)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		path := k
		if prefix != "" {
			path = prefix + "." + k
		}
		ft, ok := fields[k]
		if !ok {
			return fmt.Errorf("unknown value %q: %s", path, known(fields, prefix))
		}
		sub, isMap := m[k].(map[string]any)
		if isMap && ft.Kind() == reflect.Struct {
			if err := checkKeys(sub, ft, path); err != nil {
				return err
			}
		}
	}
	return nil
}

// jsonFields maps the JSON names of t's fields to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out[name] = f.Type
		}
	}
	return out
}

func known(fields map[string]reflect.Type, prefix string) string {
	names := make([]string, 0, len(fields))
	for n := range fields {
		if prefix != "" {
			n = prefix + "." + n
		}
		names = append(names, n)
	}
	sort.Strings(names)
	return "known keys here are " + strings.Join(names, ", ")
}

func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a map"
	default:
		return t.String()
	}
}
