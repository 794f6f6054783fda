package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/meshctl/meshctl/diagnostics"
)

type diagnosticsOptions struct {
	*globalOptions
	namespace string
}

func newDiagnosticsCmd(g *globalOptions) *cobra.Command {
	o := &diagnosticsOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "diagnostics",
		Short: "Read raw state from running proxies, for debugging and support",
		Long: `Read what a running proxy publishes on its admin port, through the API
server (no port-forward needed): its metrics and its certificate chain.`,
		Args: noArgs,
	}
	cmd.PersistentFlags().StringVarP(&o.namespace, "namespace", "n", "default", "Namespace of the pods")
	cmd.AddCommand(o.proxyMetricsCmd(), o.proxyIdentityCmd())
	return cmd
}

func (o *diagnosticsOptions) proxyMetricsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "proxy-metrics POD",
		Short: "Print a proxy's /metrics, ready for viz stat --metrics-file",
		Long: `Print the Prometheus metrics of a meshed pod's proxy, preceded by the
"# pod:" and "# scraped-at:" comments that meshctl viz stat --metrics-file
reads: save two scrapes a while apart and compute stat offline.`,
		Example: `  meshctl diagnostics proxy-metrics web-7c9d8 -n shop > a.prom
  sleep 30
  meshctl diagnostics proxy-metrics web-7c9d8 -n shop > b.prom
  meshctl viz stat deploy --metrics-file a.prom --metrics-file b.prom`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.runProxyMetrics(cmd.Context(), args[0])
		},
	}
}

func (o *diagnosticsOptions) runProxyMetrics(ctx context.Context, pod string) error {
	cs, err := o.Factory().Kubernetes()
	if err != nil {
		return err
	}
	out, err := diagnostics.ProxyMetrics(ctx, cs, o.namespace, pod, o.Now, 10*time.Second)
	if err != nil {
		return fmt.Errorf("diagnostics proxy-metrics: %w", err)
	}
	_, err = o.streams.Out.Write(out)
	return err
}

func (o *diagnosticsOptions) proxyIdentityCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "proxy-identity POD...",
		Short:   "Print the certificate chain a proxy presents, as PEM",
		Example: `  meshctl diagnostics proxy-identity web-7c9d8 -n shop | openssl x509 -noout -text`,
		Args:    minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.runProxyIdentity(cmd.Context(), args)
		},
	}
}

func (o *diagnosticsOptions) runProxyIdentity(ctx context.Context, pods []string) error {
	cs, err := o.Factory().Kubernetes()
	if err != nil {
		return err
	}
	ids, err := diagnostics.ProxyIdentities(ctx, cs, diagnostics.IdentityOptions{Namespace: o.namespace, Pods: pods})
	if err != nil {
		return fmt.Errorf("diagnostics proxy-identity: %w", err)
	}
	for _, id := range ids {
		if id.Error != "" {
			return fmt.Errorf("diagnostics proxy-identity: pod %s/%s: %s", id.Namespace, id.Pod, id.Error)
		}
	}
	return diagnostics.WriteIdentityPEM(o.streams.Out, ids)
}
