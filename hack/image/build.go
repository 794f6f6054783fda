package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/meshctl/meshctl/pkg/meshapi"
)

// DefaultCACerts is the Debian location of the CA bundle, also where Go's
// crypto/x509 looks for it first on linux.
const DefaultCACerts = "/etc/ssl/certs/ca-certificates.crt"

// Entrypoint is the path of the binary in the image.
const Entrypoint = "/meshctl"

// Options describe one image build.
type Options struct {
	// Binary is the static linux meshctl binary.
	Binary string
	// Tag is the image reference recorded in the tarball.
	Tag string
	// Arch is the binary's GOARCH; empty means amd64.
	Arch string
	// CACerts is the CA bundle to copy; empty means DefaultCACerts.
	CACerts string
	// Version is the org.opencontainers.image.version label; empty means
	// the tag's tag.
	Version string
	// Epoch is every timestamp in the image, in seconds since 1970.
	Epoch int64
}

// Build assembles the image.
func Build(o Options) (v1.Image, name.Tag, error) {
	if o.Binary == "" || o.Tag == "" {
		return nil, name.Tag{}, errors.New("a binary and a tag are required")
	}
	tag, err := name.NewTag(o.Tag, name.StrictValidation)
	if err != nil {
		return nil, name.Tag{}, fmt.Errorf("tag %q: %w", o.Tag, err)
	}
	if o.Arch == "" {
		o.Arch = "amd64"
	}
	if o.Arch != "amd64" && o.Arch != "arm64" {
		return nil, name.Tag{}, fmt.Errorf("unsupported architecture %q (want amd64 or arm64)", o.Arch)
	}
	if o.CACerts == "" {
		o.CACerts = DefaultCACerts
	}
	if o.Version == "" {
		o.Version = tag.TagStr()
	}
	bin, err := os.ReadFile(o.Binary)
	if err != nil {
		return nil, name.Tag{}, fmt.Errorf("read binary: %w", err)
	}
	if err := checkStaticELF(bin, o.Arch); err != nil {
		return nil, name.Tag{}, fmt.Errorf("binary %s: %w", o.Binary, err)
	}
	certs, err := os.ReadFile(o.CACerts)
	if err != nil {
		return nil, name.Tag{}, fmt.Errorf("read CA certificates: %w", err)
	}
	created := time.Unix(o.Epoch, 0).UTC()
	layer, err := filesLayer(rootFS(bin, certs), created)
	if err != nil {
		return nil, name.Tag{}, err
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{
		Layer: layer,
		History: v1.History{
			Created:   v1.Time{Time: created},
			CreatedBy: "meshctl hack/image: /meshctl, CA certificates, /etc/passwd, /etc/group",
			Comment:   "FROM scratch",
		},
	})
	if err != nil {
		return nil, name.Tag{}, fmt.Errorf("append layer: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, name.Tag{}, fmt.Errorf("read config: %w", err)
	}
	cfg = cfg.DeepCopy()
	cfg.Created = v1.Time{Time: created}
	cfg.OS = "linux"
	cfg.Architecture = o.Arch
	cfg.Config.Entrypoint = []string{Entrypoint}
	cfg.Config.User = fmt.Sprintf("%d:%d", meshapi.ControllerUID, meshapi.ControllerUID)
	cfg.Config.WorkingDir = "/"
	cfg.Config.Env = []string{"SSL_CERT_FILE=" + DefaultCACerts}
	cfg.Config.Labels = map[string]string{
		"org.opencontainers.image.title":   "meshctl",
		"org.opencontainers.image.source":  "https://github.com/meshctl/meshctl",
		"org.opencontainers.image.version": o.Version,
	}
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, name.Tag{}, fmt.Errorf("set config: %w", err)
	}
	return img, tag, nil
}

// Write builds the image and writes it as a docker-archive tarball to w.
func Write(w io.Writer, o Options) error {
	img, tag, err := Build(o)
	if err != nil {
		return err
	}
	if err := tarball.Write(tag, img, w); err != nil {
		return fmt.Errorf("write tarball: %w", err)
	}
	return nil
}

// WriteFile writes the tarball to path atomically (a temporary file renamed
// into place), creating the directory if needed.
func WriteFile(path string, o Options) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".image-*.tar")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := Write(f, o); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
