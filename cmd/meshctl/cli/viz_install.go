package cli

import (
	"bytes"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/meshctl/meshctl/pkg/render"
	"github.com/meshctl/meshctl/viz"
)

// vizValueFlags are the value flags of viz install and uninstall, as for
// meshctl install.
type vizValueFlags struct {
	values render.ValueOptions
}

func (v *vizValueFlags) addFlags(fs *pflag.FlagSet) {
	fs.StringSliceVarP(&v.values.ValueFiles, "values", "f", nil, "Values file(s) in YAML (can repeat)")
	fs.StringArrayVar(&v.values.Values, "set", nil, "Set values on the command line (key1=val1,key2=val2)")
	fs.StringArrayVar(&v.values.StringValues, "set-string", nil, "Set string values on the command line (key1=val1,key2=val2)")
	fs.StringArrayVar(&v.values.FileValues, "set-file", nil, "Set values from files (key1=path1,key2=path2)")
}

func newVizInstallCmd(g *globalOptions) *cobra.Command {
	var v vizValueFlags
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Render the viz extension (a Prometheus that scrapes the proxies), for kubectl apply",
		Long: `Print the manifest of the viz extension: namespace meshctl-viz with a
Prometheus that discovers every meshed pod and scrapes its proxy's admin
port (meshctl-admin, 4191) every 10s, keeping 6h of samples in an emptyDir.
Once it runs, viz stat, viz edges and viz dashboard read from it instead of
scraping every proxy themselves.

Values (-f, --set, --set-string, --set-file) work as for meshctl install;
docs/viz.md lists them (prometheus.image, prometheus.retention, ...). The
render is offline: nothing is read from the cluster.`,
		Example: `  # Install the viz extension
  meshctl viz install | kubectl apply -f -

  # With a mirrored image and a day of retention
  meshctl viz install --set prometheus.image=registry.local/prometheus:v3.16.0 --set prometheus.retention=1d | kubectl apply -f -`,
		Args: noArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			var buf bytes.Buffer
			if err := viz.RenderInstall(viz.InstallOptions{Values: v.values}, &buf); err != nil {
				return inputError(err)
			}
			_, err := g.streams.Out.Write(buf.Bytes())
			return err
		},
	}
	v.addFlags(cmd.Flags())
	return cmd
}

func newVizUninstallCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "uninstall",
		Short: "List the viz extension's objects, for kubectl delete",
		Long: `Print every object viz install creates (namespace meshctl-viz last), for
kubectl delete. The control plane and the proxies are left alone; viz stat
and viz edges go back to scraping the proxies directly.`,
		Example: `  # Remove the viz extension
  meshctl viz uninstall | kubectl delete -f -`,
		Args: noArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			var buf bytes.Buffer
			if err := viz.RenderUninstall(viz.InstallOptions{}, &buf); err != nil {
				return inputError(err)
			}
			_, err := g.streams.Out.Write(buf.Bytes())
			return err
		},
	}
	return cmd
}
