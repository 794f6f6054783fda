package golden

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// update is the -update flag of every test binary that imports this
// package. It is the one package-level variable of the test helpers: the
// testing package parses flags before any test runs, so the flag must exist
// from program start.
var update = flag.Bool("update", false, "rewrite golden files from the current output")

// Update reports whether the test binary was started with -update.
func Update() bool { return *update }

// Assert checks that got equals the golden file at path byte for byte, after
// turning CRLF into LF on both sides. With -update it writes got to path.
func Assert(t testing.TB, path string, got []byte) {
	t.Helper()
	got = normalise(got)
	if Update() {
		write(t, path, got)
		return
	}
	want := normalise(read(t, path))
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (run with -update to accept it):\n%s", path, diff(string(want), string(got)))
	}
}

// AssertBinary checks that got equals the golden file at path byte for
// byte, with no line-ending normalisation (images). With -update it writes
// got to path.
func AssertBinary(t testing.TB, path string, got []byte) {
	t.Helper()
	if Update() {
		write(t, path, got)
		return
	}
	want := read(t, path)
	if bytes.Equal(got, want) {
		return
	}
	at := 0
	for at < min(len(got), len(want)) && got[at] == want[at] {
		at++
	}
	t.Errorf("%s differs from the output from byte %d (%d bytes, golden %d; run with -update to accept it)", path, at, len(got), len(want))
}

// AssertYAML checks that the YAML stream got means the same as the golden
// file at path: the same documents in the same order, each equal as data.
// With -update it writes got to path.
func AssertYAML(t testing.TB, path string, got []byte) {
	t.Helper()
	got = normalise(got)
	if Update() {
		write(t, path, got)
		return
	}
	want := normalise(read(t, path))
	wd, err := decodeStream(want)
	if err != nil {
		t.Fatalf("golden %s: %v", path, err)
	}
	gd, err := decodeStream(got)
	if err != nil {
		t.Fatalf("output: %v", err)
	}
	if len(wd) != len(gd) {
		t.Errorf("%s has %d documents, the output %d (run with -update to accept it):\n%s", path, len(wd), len(gd), diff(string(want), string(got)))
		return
	}
	for i := range wd {
		if !reflect.DeepEqual(wd[i], gd[i]) {
			w, _ := yaml.Marshal(wd[i])
			g, _ := yaml.Marshal(gd[i])
			t.Errorf("%s: document %d differs (run with -update to accept it):\n%s", path, i+1, diff(string(w), string(g)))
		}
	}
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// decodeStream decodes each non-empty document of a YAML stream.
func decodeStream(b []byte) ([]any, error) {
	var out []any
	for i, part := range docSeparator.Split(string(b), -1) {
		var v any
		if err := yaml.Unmarshal([]byte(part), &v); err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		if v != nil {
			out = append(out, v)
		}
	}
	return out, nil
}

func normalise(b []byte) []byte {
	return bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
}

func read(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file: %v (run with -update to create it)", err)
	}
	return b
}

func write(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// diff returns the lines that differ, marked - (want) and + (got), with
// their line numbers; enough to find the change without a diff library.
func diff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	n := max(len(wl), len(gl))
	shown := 0
	for i := 0; i < n && shown < 40; i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			fmt.Fprintf(&b, "line %d:\n- %s\n+ %s\n", i+1, w, g)
			shown++
		}
	}
	return b.String()
}
