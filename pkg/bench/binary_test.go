package bench

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestInstallBinary(t *testing.T) {
	src := filepath.Join(t.TempDir(), "tool")
	script := []byte("#!/bin/sh\necho copied \"$@\"\n")
	if err := os.WriteFile(src, script, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	got, err := installBinary(src, dir, "meshctl@before")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "meshctl@before"); got != want {
		t.Errorf("copy at %s, want %s", got, want)
	}
	b, err := os.ReadFile(got)
	if err != nil || !bytes.Equal(b, script) {
		t.Fatalf("copy holds %q (%v), want the original", b, err)
	}
	out, err := exec.Command(got, "ok").Output()
	if err != nil || strings.TrimSpace(string(out)) != "copied ok" {
		t.Errorf("the copy does not run: %q %v", out, err)
	}

	if _, err := installBinary(filepath.Join(dir, "missing"), dir, "meshctl"); err == nil || !strings.Contains(err.Error(), "copy the meshctl executable") {
		t.Errorf("missing source: %v", err)
	}
	if _, err := installBinary(src, filepath.Join(dir, "no", "such", "dir"), "meshctl"); err == nil {
		t.Error("unwritable destination: no error")
	}
}
