package cli

import "github.com/spf13/cobra"

func newVizCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "viz",
		Short: "Show the mesh's traffic from the proxies' metrics",
		Long: `Show traffic as the proxies see it: golden metrics per workload (stat) and
who talks to whom, with TLS status (edges).

No Prometheus is needed: meshctl scrapes each selected proxy's admin
/metrics (port 4191) through the Kubernetes API server twice, a time window
apart, and computes rates from the difference. Saved scrapes can be read
instead with --metrics-file, without a cluster. docs/viz.md explains every
number.`,
		Args: noArgs,
	}
	cmd.AddCommand(newVizStatCmd(g), newVizEdgesCmd(g))
	return cmd
}
