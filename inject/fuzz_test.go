package inject

import (
	"bytes"
	"reflect"
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzInject runs arbitrary bytes through inject and checks that it never
// panics and, when it accepts the input, that the output parses and says
// what encoding the documents whole would say, that injecting again changes
// nothing and that uninject undoes inject.
func FuzzInject(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s.data, false)
		f.Add(s.data, true)
	}
	opts := testOptions(f)
	f.Fuzz(func(t *testing.T, data []byte, manual bool) {
		o := opts
		o.Manual = manual
		res, err := Run([]Source{{Name: "fuzz", Data: data}}, o)
		if err != nil {
			return
		}
		out, err := decodeAll(res.Output)
		if err != nil {
			t.Fatalf("output does not parse: %v\n%s", err, res.Output)
		}
		// Edited in the user's text or encoded whole, the output says the
		// same thing.
		w := o
		w.noTextEdits = true
		whole, err := Run([]Source{{Name: "fuzz", Data: data}}, w)
		if err != nil {
			t.Fatalf("encoding whole fails where text edits did not: %v", err)
		}
		if dw, err := decodeAll(whole.Output); err != nil || !reflect.DeepEqual(dw, out) {
			t.Fatalf("text edits and whole encoding differ (%v):\n%s\n---- whole ----\n%s", err, res.Output, whole.Output)
		}
		again, err := Run([]Source{{Name: "again", Data: res.Output}}, o)
		if err != nil {
			t.Fatalf("injecting the output fails: %v\n%s", err, res.Output)
		}
		if !bytes.Equal(again.Output, res.Output) {
			t.Fatalf("not idempotent:\n%s\n---- second run ----\n%s", res.Output, again.Output)
		}
		un := Options{Uninject: true}
		a, err := Run([]Source{{Name: "a", Data: res.Output}}, un)
		if err != nil {
			t.Fatalf("uninject of the output fails: %v", err)
		}
		b, err := Run([]Source{{Name: "b", Data: data}}, un)
		if err != nil {
			t.Fatalf("uninject of the input fails: %v", err)
		}
		da, err := decodeAll(a.Output)
		if err != nil {
			t.Fatal(err)
		}
		db, err := decodeAll(b.Output)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(da, db) {
			t.Fatalf("uninject(inject(x)) != uninject(x):\n%s\n----\n%s", a.Output, b.Output)
		}
	})
}

// decodeAll decodes a stream into values, dropping nulls and empty maps and
// lists: Kubernetes reads a null or empty field as an absent one, and
// uninject removes a collection it emptied even where the input held an
// explicit null (`metadata:` with nothing under it).
func decodeAll(b []byte) ([]any, error) {
	var out []any
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var v any
		err := dec.Decode(&v)
		if err != nil {
			if err.Error() == "EOF" {
				return out, nil
			}
			return nil, err
		}
		out = append(out, prune(v))
	}
}

func prune(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := map[string]any{}
		for k, e := range t {
			if p := prune(e); !empty(p) {
				m[k] = p
			}
		}
		return m
	case map[any]any: // a mapping with a non-string key
		m := map[any]any{}
		for k, e := range t {
			if p := prune(e); !empty(p) {
				m[k] = p
			}
		}
		return m
	case []any:
		l := make([]any, 0, len(t))
		for _, e := range t {
			l = append(l, prune(e))
		}
		return l
	}
	return v
}

func empty(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case map[string]any:
		return len(t) == 0
	case map[any]any:
		return len(t) == 0
	case []any:
		return len(t) == 0
	}
	return false
}
