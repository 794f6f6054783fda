package cli

import "github.com/spf13/cobra"

func newVizCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "viz",
		Short: "Show the mesh's traffic from the proxies' metrics",
		Long: `Show traffic as the proxies see it: golden metrics per workload (stat)
and per ServiceProfile route (routes), who talks to whom, with TLS status
(edges), and live requests sampled by the proxies themselves (tap, top).

No Prometheus is needed: without one, meshctl scrapes each selected proxy's
admin /metrics (port 4191) through the Kubernetes API server twice, a time
window apart, and computes rates from the difference. Once the viz
extension's Prometheus runs (viz install), stat, routes, edges and dashboard
query it through the API server's service proxy instead (-v says which
source answered); --prometheus-url names another Prometheus, and saved
scrapes can be read with --metrics-file, without a cluster. viz check
diagnoses the extension. docs/viz.md explains every number.`,
		Args: noArgs,
	}
	cmd.AddCommand(newVizStatCmd(g), newVizRoutesCmd(g), newVizEdgesCmd(g), newVizInstallCmd(g), newVizUninstallCmd(g), newVizCheckCmd(g), newVizDashboardCmd(g), newVizTapCmd(g), newVizTopCmd(g))
	return cmd
}
