package inject

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStreamMatchesRun: the streamed output of a manifest large enough to
// spill to a temporary file is byte for byte Run's.
func TestStreamMatchesRun(t *testing.T) {
	data := manifest(3000)
	for _, manual := range []bool{false, true} {
		opts := testOptions(t)
		opts.Manual = manual
		res, err := Run([]Source{{Name: "big", Data: data}}, opts)
		if err != nil {
			t.Fatal(err)
		}
		if manual && len(res.Output) <= spillAt {
			t.Fatalf("the --manual output (%d bytes) does not spill: make the manifest larger", len(res.Output))
		}
		var out bytes.Buffer
		sres, err := Stream([]Source{{Name: "big", Data: data}}, opts, &out)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), res.Output) {
			t.Fatalf("manual=%v: Stream wrote %d bytes that differ from Run's %d", manual, out.Len(), len(res.Output))
		}
		if len(sres.Resources) != 3000 || sres.Output != nil {
			t.Fatalf("manual=%v: %d resources, Output %d bytes", manual, len(sres.Resources), len(sres.Output))
		}
	}
}

// TestStreamWritesNothingOnFailure: a refused workload after thousands of
// good ones (their output already staged) still leaves the writer empty.
func TestStreamWritesNothingOnFailure(t *testing.T) {
	bad := []byte(`---
apiVersion: v1
kind: Pod
metadata:
  name: host
spec:
  hostNetwork: true
  containers:
    - name: app
      image: app
`)
	for name, data := range map[string][]byte{
		"refused": append(manifest(3000), bad...),
		"parse":   append(manifest(3000), "---\nkind: [unclosed\n"...),
	} {
		opts := testOptions(t)
		opts.Manual = true
		var out bytes.Buffer
		_, err := Stream([]Source{{Name: "in", Data: data}}, opts, &out)
		if err == nil {
			t.Fatalf("%s: no error", name)
		}
		if out.Len() != 0 {
			t.Fatalf("%s: %d bytes written before the error %v", name, out.Len(), err)
		}
		var rej *RejectedError
		if name == "refused" && (!errors.As(err, &rej) || !strings.Contains(err.Error(), "pod/host")) {
			t.Fatalf("refused: %v", err)
		}
	}
}

func TestStageSpillsAndKeepsToMemoryWithoutTempDir(t *testing.T) {
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	fill := func(s *stage) []byte {
		var want []byte
		for range spillAt/len(chunk) + 3 {
			if _, err := s.Write(chunk); err != nil {
				t.Fatal(err)
			}
			want = append(want, chunk...)
		}
		return want
	}
	for _, tmp := range []string{t.TempDir(), filepath.Join(t.TempDir(), "missing")} {
		t.Setenv("TMPDIR", tmp)
		var s stage
		want := fill(&s)
		_, statErr := os.Stat(tmp)
		if spilled := s.file != nil; spilled != (statErr == nil) {
			t.Fatalf("TMPDIR %s: spilled %v", tmp, spilled)
		}
		entries, _ := os.ReadDir(tmp)
		if len(entries) != 0 {
			t.Fatalf("the staging file is visible in %s: %v", tmp, entries)
		}
		got, err := s.Bytes()
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("TMPDIR %s: Bytes %d bytes, %v", tmp, len(got), err)
		}
		var out bytes.Buffer
		if _, err := s.WriteTo(&out); err != nil || !bytes.Equal(out.Bytes(), want) {
			t.Fatalf("TMPDIR %s: WriteTo %d bytes, %v", tmp, out.Len(), err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
