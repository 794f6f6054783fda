package main

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// fakeELF returns a minimal static ELF64 executable header for machine
// (62 = x86-64, 183 = AArch64): enough for debug/elf, not for running.
func fakeELF(machine uint16) []byte {
	h := make([]byte, 64)
	copy(h, []byte{0x7f, 'E', 'L', 'F', 2, 1, 1})
	le := binary.LittleEndian
	le.PutUint16(h[16:], 2) // ET_EXEC
	le.PutUint16(h[18:], machine)
	le.PutUint32(h[20:], 1)  // EV_CURRENT
	le.PutUint16(h[52:], 64) // e_ehsize
	le.PutUint16(h[54:], 56) // e_phentsize
	le.PutUint16(h[58:], 64) // e_shentsize
	return append(h, []byte("payload")...)
}

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func testOptions(t *testing.T) Options {
	return Options{
		Binary:  writeTemp(t, "meshctl", fakeELF(62)),
		Tag:     "ghcr.io/meshctl/meshctl:v1.2.3",
		CACerts: writeTemp(t, "ca.crt", []byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")),
		Epoch:   1700000000,
	}
}

func build(t *testing.T, o Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, o); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReproducible(t *testing.T) {
	o := testOptions(t)
	a, b := build(t, o), build(t, o)
	if !bytes.Equal(a, b) {
		t.Fatal("two builds from the same inputs differ")
	}
	o.Epoch++
	if bytes.Equal(a, build(t, o)) {
		t.Fatal("the epoch does not reach the image")
	}
}

func TestImageContents(t *testing.T) {
	o := testOptions(t)
	data := build(t, o)

	outer := tarNames(t, data)
	if !contains(outer, "manifest.json") {
		t.Errorf("docker-archive lacks manifest.json: %v", outer)
	}

	tag, err := name.NewTag(o.Tag)
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.Image(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }, &tag)
	if err != nil {
		t.Fatalf("go-containerregistry cannot read the tarball: %v", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.Config.Entrypoint, " "); got != "/meshctl" {
		t.Errorf("entrypoint %q", got)
	}
	if cfg.Config.User != "2103:2103" {
		t.Errorf("user %q, want the non-root 2103:2103", cfg.Config.User)
	}
	if cfg.OS != "linux" || cfg.Architecture != "amd64" {
		t.Errorf("platform %s/%s", cfg.OS, cfg.Architecture)
	}
	if want := time.Unix(o.Epoch, 0).UTC(); !cfg.Created.Time.Equal(want) {
		t.Errorf("created %s, want %s", cfg.Created.Time, want)
	}
	if cfg.Config.Labels["org.opencontainers.image.version"] != "v1.2.3" {
		t.Errorf("labels %v", cfg.Config.Labels)
	}

	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers: %d, %v", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	files := map[string]*tar.Header{}
	contents := map[string]string{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = h
		b, _ := io.ReadAll(tr)
		contents[h.Name] = string(b)
		if !h.ModTime.Equal(time.Unix(o.Epoch, 0)) || h.Uid != 0 || h.Gid != 0 || h.Uname != "" {
			t.Errorf("%s: mtime %s uid %d gid %d uname %q", h.Name, h.ModTime, h.Uid, h.Gid, h.Uname)
		}
	}
	want := map[string]int64{
		"meshctl": 0o755, "etc/passwd": 0o644, "etc/group": 0o644,
		"etc/ssl/certs/ca-certificates.crt": 0o644, "tmp/": 0o1777,
	}
	for p, mode := range want {
		h, ok := files[p]
		if !ok {
			t.Errorf("layer lacks %s (has %v)", p, keys(files))
			continue
		}
		if h.Mode != mode {
			t.Errorf("%s mode %o, want %o", p, h.Mode, mode)
		}
	}
	if contents["meshctl"] != string(fakeELF(62)) {
		t.Error("binary differs from the input")
	}
	for _, line := range []string{"meshctl-proxy:x:2102:2102:", "meshctl:x:2103:2103:"} {
		if !strings.Contains(contents["etc/passwd"], line) {
			t.Errorf("/etc/passwd lacks %q:\n%s", line, contents["etc/passwd"])
		}
	}
	if !strings.Contains(contents["etc/group"], "meshctl:x:2103:") {
		t.Errorf("/etc/group:\n%s", contents["etc/group"])
	}
}

func TestBuildErrors(t *testing.T) {
	cases := []struct {
		name   string
		change func(*Options)
		want   string
	}{
		{"no binary", func(o *Options) { o.Binary = "" }, "a binary and a tag are required"},
		{"missing binary", func(o *Options) { o.Binary = "/nonexistent/meshctl" }, "read binary"},
		{"not ELF", func(o *Options) { o.Binary = writeTemp(t, "script", []byte("#!/bin/sh\n")) }, "not an ELF executable"},
		{"wrong arch", func(o *Options) { o.Arch = "arm64" }, "built for EM_X86_64, not arm64"},
		{"unknown arch", func(o *Options) { o.Arch = "s390x" }, `unsupported architecture "s390x"`},
		{"bad tag", func(o *Options) { o.Tag = "Not A Tag" }, `tag "Not A Tag"`},
		{"missing CA bundle", func(o *Options) { o.CACerts = "/nonexistent/ca.crt" }, "read CA certificates"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := testOptions(t)
			tc.change(&o)
			err := Write(io.Discard, o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestRunFlags(t *testing.T) {
	o := testOptions(t)
	out := filepath.Join(t.TempDir(), "sub", "image.tar")
	env := func(k string) string {
		if k == "SOURCE_DATE_EPOCH" {
			return "1700000000"
		}
		return ""
	}
	var log bytes.Buffer
	args := []string{"--binary", o.Binary, "--tag", o.Tag, "--ca-certs", o.CACerts, "--output", out}
	if err := run(args, env, &log); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, build(t, o)) {
		t.Error("the command's tarball differs from Write's with the same inputs")
	}
	for _, bad := range [][]string{
		{"--binary", o.Binary, "--tag", o.Tag},
		append(append([]string{}, args...), "--source-date-epoch", "yesterday"),
		append(append([]string{}, args...), "extra"),
	} {
		if err := run(bad, env, io.Discard); err == nil {
			t.Errorf("run %q succeeded", bad)
		}
	}
}

func tarNames(t *testing.T, data []byte) []string {
	t.Helper()
	var names []string
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func keys(m map[string]*tar.Header) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return k
}

func TestArm64(t *testing.T) {
	o := testOptions(t)
	o.Arch = "arm64"
	o.Binary = writeTemp(t, "meshctl", fakeELF(183))
	img, _, err := Build(o)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Architecture != "arm64" {
		t.Errorf("architecture %q", cfg.Architecture)
	}
}
