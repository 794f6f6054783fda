package bench

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchRefusesABuildThatDoesNotRun: a build whose executable is no
// meshctl fails the benchmark before anything starts, naming the build.
func TestBenchRefusesABuildThatDoesNotRun(t *testing.T) {
	dir := t.TempDir()
	script := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	work := filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := Options{
		Binary:  script("meshctl", "exit 0"),
		WorkDir: work,
		Builds:  []Build{{Name: "broken", Path: script("other", "echo not meshctl >&2; exit 3")}},
	}
	_, err := Bench(context.Background(), opts)
	if err == nil || !strings.Contains(err.Error(), "build broken") || !strings.Contains(err.Error(), "does not run as meshctl") || !strings.Contains(err.Error(), "not meshctl") {
		t.Fatalf("Bench() = %v, want the broken build named", err)
	}
}

func TestVersionLine(t *testing.T) {
	for out, want := range map[string]string{
		"nginx version: nginx/1.22.1\n":                                            "nginx/1.22.1",
		"HAProxy version 2.6.12-1+deb12u3 2025/10/03 - https://haproxy.org/\nmore": "HAProxy version 2.6.12-1+deb12u3 2025/10/03",
		"Client version: v0.9.0\n":                                                 "v0.9.0",
		"":                                                                         "",
	} {
		if got := versionLine([]byte(out)); got != want {
			t.Errorf("versionLine(%q) = %q, want %q", out, got, want)
		}
	}
}
