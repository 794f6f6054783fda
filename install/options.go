package install

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/meshctl/meshctl/pkg/meshapi"
	"github.com/meshctl/meshctl/pkg/output"
	"github.com/meshctl/meshctl/pkg/version"
	"github.com/meshctl/meshctl/templates"
)

// Options configure Render, Upgrade and Prune.
type Options struct {
	// Namespace is the control-plane namespace.
	Namespace string
	// CRDs renders the CRDs chart instead of the control plane.
	CRDs bool
	// Output is yaml (the default) or json.
	Output string
	// HA applies the chart's values-ha.yaml before anything else.
	HA bool
	// Overrides are values set by dedicated flags, applied after HA and
	// before Values.
	Overrides []Override
	// Values are the -f/--set/--set-string/--set-file sources.
	Values ValueOptions
	// Identity are the certificate flags.
	Identity IdentityOptions
	// Cluster answers questions about the cluster; nil renders offline
	// (--ignore-cluster).
	Cluster ClusterInfo
	// Certs makes generated certificates; nil means GenerateCerts.
	Certs CertSource
	// Now is the clock for certificates; nil means time.Now.
	Now func() time.Time
	// Version is the meshctl version recorded in the render; empty means
	// version.Version().
	Version string
	// ErrOut receives the report (what was generated, warnings); nil discards it.
	ErrOut io.Writer
	// FS holds the charts; nil means templates.FS.
	FS fs.FS
	// ReadFile reads the files named by flags; nil means os.ReadFile.
	ReadFile func(string) ([]byte, error)
}

// Complete fills in the defaults of unset fields.
func (o *Options) Complete() {
	if o.Namespace == "" {
		o.Namespace = meshapi.DefaultNamespace
	}
	if o.Output == "" {
		o.Output = string(output.YAML)
	}
	if o.Certs == nil {
		o.Certs = GenerateCerts{}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Version == "" {
		o.Version = version.Version()
	}
	if o.ErrOut == nil {
		o.ErrOut = io.Discard
	}
	if o.FS == nil {
		o.FS = templates.FS
	}
}

// Validate checks the options that need no file or cluster access.
func (o *Options) Validate() error {
	if msgs := validation.IsDNS1123Label(o.Namespace); len(msgs) > 0 {
		return fmt.Errorf("invalid control-plane namespace %q: %s", o.Namespace, msgs[0])
	}
	if _, err := output.ParseFormat(o.Output, output.YAML, output.JSON); err != nil {
		return err
	}
	if o.CRDs {
		v := o.Values
		if o.HA || len(o.Overrides) > 0 || len(v.ValueFiles)+len(v.Values)+len(v.StringValues)+len(v.FileValues) > 0 || o.Identity != (IdentityOptions{}) {
			return errors.New("--crds renders the CRDs only and takes no values, certificates or control-plane flags: render the control plane in a second run without --crds")
		}
		return nil
	}
	return o.Identity.validate()
}

// prepare completes and validates the options.
func (o *Options) prepare() error {
	o.Complete()
	return o.Validate()
}
