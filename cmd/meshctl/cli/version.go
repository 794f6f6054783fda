package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/meshctl/meshctl/pkg/kube"
	"github.com/meshctl/meshctl/pkg/output"
	"github.com/meshctl/meshctl/pkg/version"
)

// serverVersionTimeout bounds the look-up of the control plane's version, so
// that `meshctl version` answers promptly when no cluster is reachable.
const serverVersionTimeout = 5 * time.Second

type versionOptions struct {
	*globalOptions
	clientOnly bool
	short      bool
	output     string

	format output.Format
}

// versionReport is the JSON shape of `meshctl version -o json`.
type versionReport struct {
	Client version.Info   `json:"client"`
	Server *serverVersion `json:"server,omitempty"`
}

type serverVersion struct {
	Version string `json:"version,omitempty"`
	Error   string `json:"error,omitempty"`
}

func newVersionCmd(g *globalOptions) *cobra.Command {
	o := &versionOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the client and control-plane versions",
		Example: `  # Print both versions
  meshctl version

  # Print only the client version, as JSON
  meshctl version --client -o json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	cmd.Flags().BoolVar(&o.clientOnly, "client", false, "Print the client version only")
	cmd.Flags().BoolVar(&o.short, "short", false, "Print the version numbers only")
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "Output format: json")
	return cmd
}

func (o *versionOptions) validate() error {
	if o.output == "" {
		return nil
	}
	f, err := output.ParseFormat(o.output, output.JSON)
	if err != nil {
		return usageError(err)
	}
	o.format = f
	return nil
}

func (o *versionOptions) run(ctx context.Context) error {
	report := versionReport{Client: version.Get()}
	if !o.clientOnly {
		report.Server = o.serverVersion(ctx)
	}
	if o.format == output.JSON {
		return output.WriteJSON(o.streams.Out, report)
	}
	w := o.streams.Out
	if o.short {
		fmt.Fprintln(w, report.Client.Version)
		if report.Server != nil {
			fmt.Fprintln(w, orUnavailable(report.Server.Version))
		}
		return nil
	}
	fmt.Fprintf(w, "Client version: %s\n", report.Client.Version)
	if report.Server != nil {
		fmt.Fprintf(w, "Server version: %s\n", orUnavailable(report.Server.Version))
		if report.Server.Error != "" && o.verbose {
			fmt.Fprintf(o.streams.ErrOut, "server version: %s\n", report.Server.Error)
		}
	}
	return nil
}

func (o *versionOptions) serverVersion(ctx context.Context) *serverVersion {
	ctx, cancel := context.WithTimeout(ctx, serverVersionTimeout)
	defer cancel()
	cs, err := o.Factory().Kubernetes()
	if err != nil {
		return &serverVersion{Error: err.Error()}
	}
	v, err := kube.ControlPlaneVersion(ctx, cs, o.meshNamespace)
	if err != nil {
		return &serverVersion{Error: err.Error()}
	}
	return &serverVersion{Version: v}
}

func orUnavailable(s string) string {
	if s == "" {
		return "unavailable"
	}
	return s
}
