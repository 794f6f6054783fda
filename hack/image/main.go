// Command image builds the meshctl container image from a static linux
// meshctl binary, without a Docker engine or a registry, and writes it as a
// docker-archive tarball that `ctr -n k8s.io images import`, `docker load`
// and go-containerregistry read.
//
// The image is FROM scratch: the binary at /meshctl (the entrypoint), the
// CA certificates, and /etc/passwd and /etc/group naming the non-root users
// meshctl runs as (the controllers' uid, the default user, and the
// proxy's). Every timestamp is SOURCE_DATE_EPOCH (or --source-date-epoch, or
// 0), so two builds from the same inputs are byte-identical.
//
// Usage:
//
//	go run ./hack/image --binary _output/linux-amd64/meshctl \
//	    --tag ghcr.io/meshctl/meshctl:v0.1.0 --output _output/meshctl-image.tar
//
// hack/build-image.sh builds the binary and runs this.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
)

func main() {
	if err := run(os.Args[1:], os.Getenv, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "image: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string, getenv func(string) string, log io.Writer) error {
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	fs.SetOutput(log)
	var o Options
	fs.StringVar(&o.Binary, "binary", "", "path of the static linux meshctl binary (required)")
	fs.StringVar(&o.Tag, "tag", "", "image reference, e.g. ghcr.io/meshctl/meshctl:v0.1.0 (required)")
	fs.StringVar(&o.Arch, "arch", "amd64", "GOARCH of the binary: amd64 or arm64")
	fs.StringVar(&o.CACerts, "ca-certs", DefaultCACerts, "CA certificate bundle copied into the image")
	fs.StringVar(&o.Version, "version", "", "version recorded in the image labels (default: the tag's tag)")
	output := fs.String("output", "", "path of the tarball to write (required)")
	epoch := fs.String("source-date-epoch", getenv("SOURCE_DATE_EPOCH"), "seconds since 1970 used for every timestamp (default $SOURCE_DATE_EPOCH, else 0)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *output == "" {
		return fmt.Errorf("--output is required")
	}
	if *epoch != "" {
		n, err := strconv.ParseInt(*epoch, 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("source date epoch %q is not a non-negative integer", *epoch)
		}
		o.Epoch = n
	}
	if err := WriteFile(*output, o); err != nil {
		return err
	}
	fmt.Fprintf(log, "wrote %s (%s)\n", *output, o.Tag)
	return nil
}
