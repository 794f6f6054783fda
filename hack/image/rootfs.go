package main

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/meshctl/meshctl/pkg/meshapi"
)

// file is one entry of the image's root filesystem.
type file struct {
	path string // relative, no leading slash; directories end in "/"
	mode int64
	data []byte
}

// rootFS lists the image's files in the order they are archived, parents
// before children.
func rootFS(binary, caCerts []byte) []file {
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\n"+
		"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"+
		"%s:x:%d:%d:meshctl proxy:/nonexistent:/sbin/nologin\n"+
		"%s:x:%d:%d:meshctl control plane:/nonexistent:/sbin/nologin\n",
		meshapi.ProxyUser, meshapi.ProxyUID, meshapi.ProxyUID,
		meshapi.ControllerUser, meshapi.ControllerUID, meshapi.ControllerUID)
	group := fmt.Sprintf("root:x:0:\nnogroup:x:65534:\n%s:x:%d:\n%s:x:%d:\n",
		meshapi.ProxyUser, meshapi.ProxyUID, meshapi.ControllerUser, meshapi.ControllerUID)
	return []file{
		{path: "etc/", mode: 0o755},
		{path: "etc/group", mode: 0o644, data: []byte(group)},
		{path: "etc/passwd", mode: 0o644, data: []byte(passwd)},
		{path: "etc/ssl/", mode: 0o755},
		{path: "etc/ssl/certs/", mode: 0o755},
		{path: "etc/ssl/certs/ca-certificates.crt", mode: 0o644, data: caCerts},
		{path: "meshctl", mode: 0o755, data: binary},
		{path: "tmp/", mode: 0o1777},
	}
}

// filesLayer archives files into a gzip layer of USTAR headers (no access
// times, no host user names) with owner root and every timestamp mtime.
func filesLayer(files []file, mtime time.Time) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{
			Name:    f.path,
			Mode:    f.mode,
			ModTime: mtime,
			Format:  tar.FormatUSTAR,
		}
		if f.path[len(f.path)-1] == '/' {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(f.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("archive %s: %w", f.path, err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, fmt.Errorf("archive %s: %w", f.path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("archive: %w", err)
	}
	data := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
	if err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	return layer, nil
}

// checkStaticELF rejects files that are not linux ELF executables for arch
// or that need a dynamic loader (there is none in a scratch image).
func checkStaticELF(data []byte, arch string) error {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("not an ELF executable: %w", err)
	}
	defer f.Close()
	want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[arch]
	if f.Machine != want {
		return fmt.Errorf("built for %s, not %s", f.Machine, arch)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return errors.New("dynamically linked (build with CGO_ENABLED=0)")
		}
	}
	return nil
}
