// Command mkimage packs one static binary into a FROM-scratch, single-layer OCI image-layout
// tarball that `ctr -n k8s.io images import` accepts, without any registry or Docker engine.
// The output is deterministic: same inputs, same bytes, same digests.
//
//	mkimage -ref localhost/pause:meshctl -bin ./pause -out pause.tar [-entrypoint /pause] [-port 8080]
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path"
	"runtime"
	"strings"
	"time"
)

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Platform    map[string]string `json:"platform,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

func digest(b []byte) string { s := sha256.Sum256(b); return "sha256:" + hex.EncodeToString(s[:]) }

func main() {
	ref := flag.String("ref", "", "image reference NAME:TAG (required)")
	bin := flag.String("bin", "", "static binary to put in the image (required)")
	out := flag.String("out", "", "output tarball (required)")
	ep := flag.String("entrypoint", "", "path of the binary inside the image (default /<basename of -bin>)")
	port := flag.Int("port", 0, "exposed TCP port recorded in the image config (optional)")
	flag.Parse()
	if *ref == "" || *bin == "" || *out == "" || !strings.Contains(path.Base(*ref), ":") {
		fmt.Fprintln(os.Stderr, "mkimage: -ref NAME:TAG, -bin and -out are required")
		flag.Usage()
		os.Exit(2)
	}
	if *ep == "" {
		*ep = "/" + path.Base(*bin)
	}
	if err := run(*ref, *bin, *out, *ep, *port); err != nil {
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(1)
	}
}

func run(ref, bin, out, ep string, port int) error {
	exe, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	epoch := time.Unix(0, 0)
	// --- the layer: /tmp (1777) and the binary
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	hdr := func(h *tar.Header) error {
		h.ModTime, h.Uid, h.Gid, h.Format = epoch, 0, 0, tar.FormatPAX
		return tw.WriteHeader(h)
	}
	if err := hdr(&tar.Header{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777}); err != nil {
		return err
	}
	dir := strings.TrimPrefix(path.Dir(ep), "/")
	if dir != "" && dir != "." {
		acc := ""
		for _, p := range strings.Split(dir, "/") {
			acc = path.Join(acc, p)
			if err := hdr(&tar.Header{Name: acc + "/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
				return err
			}
		}
	}
	if err := hdr(&tar.Header{Name: strings.TrimPrefix(ep, "/"), Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(exe))}); err != nil {
		return err
	}
	if _, err := tw.Write(exe); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	diffID := digest(layer.Bytes())
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	zw.ModTime = epoch
	if _, err := zw.Write(layer.Bytes()); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	// --- config, manifest, index
	cfg := map[string]any{
		"architecture": runtime.GOARCH,
		"os":           "linux",
		"created":      epoch.UTC().Format(time.RFC3339),
		"config": func() map[string]any {
			c := map[string]any{"Entrypoint": []string{ep}, "Env": []string{"PATH=/"}, "WorkingDir": "/"}
			if port > 0 {
				c["ExposedPorts"] = map[string]any{fmt.Sprintf("%d/tcp", port): map[string]any{}}
			}
			return c
		}(),
		"rootfs":  map[string]any{"type": "layers", "diff_ids": []string{diffID}},
		"history": []map[string]string{{"created": epoch.UTC().Format(time.RFC3339), "created_by": "hack/cluster/images/mkimage"}},
	}
	cfgJSON, _ := json.Marshal(cfg)
	manifest := map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        descriptor{MediaType: "application/vnd.oci.image.config.v1+json", Digest: digest(cfgJSON), Size: int64(len(cfgJSON))},
		"layers":        []descriptor{{MediaType: "application/vnd.oci.image.layer.v1.tar+gzip", Digest: digest(gz.Bytes()), Size: int64(gz.Len())}},
	}
	manJSON, _ := json.Marshal(manifest)
	tag := ref[strings.LastIndex(ref, ":")+1:]
	index := map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.index.v1+json",
		"manifests": []descriptor{{
			MediaType: "application/vnd.oci.image.manifest.v1+json", Digest: digest(manJSON), Size: int64(len(manJSON)),
			Platform:    map[string]string{"architecture": runtime.GOARCH, "os": "linux"},
			Annotations: map[string]string{"io.containerd.image.name": ref, "org.opencontainers.image.ref.name": tag},
		}},
	}
	idxJSON, _ := json.Marshal(index)
	// --- the OCI image layout tarball
	f, err := os.Create(out + ".tmp")
	if err != nil {
		return err
	}
	ow := tar.NewWriter(f)
	add := func(name string, b []byte) error {
		if err := ow.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), ModTime: epoch, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := ow.Write(b)
		return err
	}
	for _, d := range []string{"blobs/", "blobs/sha256/"} {
		if err := ow.WriteHeader(&tar.Header{Name: d, Mode: 0o755, ModTime: epoch, Typeflag: tar.TypeDir}); err != nil {
			return err
		}
	}
	files := []struct {
		name string
		b    []byte
	}{
		{"oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)},
		{"index.json", idxJSON},
		{"blobs/sha256/" + strings.TrimPrefix(digest(cfgJSON), "sha256:"), cfgJSON},
		{"blobs/sha256/" + strings.TrimPrefix(digest(manJSON), "sha256:"), manJSON},
		{"blobs/sha256/" + strings.TrimPrefix(digest(gz.Bytes()), "sha256:"), gz.Bytes()},
	}
	for _, e := range files {
		if err := add(e.name, e.b); err != nil {
			return err
		}
	}
	if err := ow.Close(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(out+".tmp", out); err != nil {
		return err
	}
	fmt.Printf("%s: %s manifest %s\n", out, ref, digest(manJSON))
	return nil
}
