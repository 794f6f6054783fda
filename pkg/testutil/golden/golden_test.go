package golden

import (
	"os"
	"path/filepath"
	"testing"
)

func TestAssert(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.golden")
	if err := os.WriteFile(p, []byte("a\r\nb\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	Assert(t, p, []byte("a\nb\n"))
}

func TestAssertYAML(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.yaml")
	if err := os.WriteFile(p, []byte("---\nb: 1\na: [x]\n---\n# only a comment\n---\nc: d\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	AssertYAML(t, p, []byte("a:\n- x\nb: 1\n---\nc: d\n"))
}

func TestDecodeStreamDiffers(t *testing.T) {
	a, _ := decodeStream([]byte("a: 1\n---\nb: 2\n"))
	b, _ := decodeStream([]byte("a: 1\n---\nb: 3\n"))
	if len(a) != 2 || len(b) != 2 {
		t.Fatalf("documents: %d %d", len(a), len(b))
	}
	if diff("x\ny", "x\nz") == "" {
		t.Fatal("diff found no difference")
	}
}
