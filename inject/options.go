package inject

import (
	"errors"

	"github.com/meshctl/meshctl/pkg/meshapi"
	"github.com/meshctl/meshctl/pkg/output"
	"github.com/meshctl/meshctl/pkg/sidecar"
)

// Options configure Run. Values and Injector are required unless
// Uninject; the rest have defaults.
type Options struct {
	// noSplice encodes every document whole (tests compare it with the
	// spliced output).
	noSplice bool
	// noTextEdits re-encodes every changed document instead of editing
	// its text (textedit.go), for the same tests.
	noTextEdits bool
	// Uninject removes the proxy instead of adding it.
	Uninject bool
	// Manual writes the full proxy spec into pod templates instead of the
	// meshctl.io/inject annotation the webhook acts on.
	Manual bool
	// Values are the mesh values to inject with: the installed values (or
	// the chart defaults) with the command's flags applied.
	Values map[string]any
	// Installed are the values the control plane runs with; annotation
	// mode writes config.meshctl.io/* for every setting where Values
	// differ. nil means Values (no overrides).
	Installed map[string]any
	// ServiceOpaquePorts, when not empty, is written to every Service as
	// config.meshctl.io/opaque-ports (--opaque-ports given explicitly).
	ServiceOpaquePorts string
	// Output is yaml (the default) or json: one JSON object per line.
	Output output.Format
	// Injector decides and renders; required unless Uninject (the caller
	// chooses the chart renderer: sidecar.Options.Render).
	Injector *sidecar.Injector
	// MeshNamespace is the control-plane namespace; empty means the
	// Injector's.
	MeshNamespace string
}

func (o *Options) complete() error {
	if o.Values == nil && !o.Uninject {
		return errors.New("inject: no mesh values given")
	}
	if o.Installed == nil {
		o.Installed = o.Values
	}
	if o.Output == "" {
		o.Output = output.YAML
	}
	if o.Output != output.YAML && o.Output != output.JSON {
		return errors.New("inject: output must be yaml or json")
	}
	if o.Injector == nil && !o.Uninject {
		return errors.New("inject: no sidecar injector given (Options.Injector)")
	}
	if o.MeshNamespace == "" && o.Injector != nil {
		o.MeshNamespace = o.Injector.MeshNamespace()
	}
	if o.MeshNamespace == "" {
		o.MeshNamespace = meshapi.DefaultNamespace
	}
	return nil
}
