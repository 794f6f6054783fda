package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/meshctl/meshctl/check"
	"github.com/meshctl/meshctl/pkg/output"
	"github.com/meshctl/meshctl/pkg/version"
)

type vizCheckOptions struct {
	*globalOptions
	namespace string
	wait      time.Duration
	output    string

	format output.Format
}

func newVizCheckCmd(g *globalOptions) *cobra.Command {
	o := &vizCheckOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Check that the viz extension's Prometheus runs and scrapes every meshed pod",
		Long: `Check the viz extension (viz install): namespace meshctl-viz exists, its
Prometheus is ready, answers through the API server's service proxy (as
viz stat, edges and dashboard reach it), and has a healthy scrape target for
every running meshed pod. This is where to start when viz stat shows no
data.

Checks have stable codes (MESH5xx) documented in docs/checks.md; output,
--wait and exit codes are those of meshctl check.`,
		Example: `  # Check the viz extension, waiting up to a minute for Prometheus
  meshctl viz check --wait 1m

  # Only the pods of one namespace must be scraped
  meshctl viz check -n shop -o short`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	cmd.Flags().StringVarP(&o.namespace, "namespace", "n", "", "Namespace whose meshed pods must be scraped (default all)")
	cmd.Flags().DurationVar(&o.wait, "wait", 5*time.Minute, "How long retried checks may wait, and the bound of the whole run")
	cmd.Flags().StringVarP(&o.output, "output", "o", "table", "Output format: table, short or json")
	return cmd
}

func (o *vizCheckOptions) validate() error {
	f, err := output.ParseFormat(o.output, output.Table, output.Short, output.JSON)
	if err != nil {
		return usageError(err)
	}
	if o.wait <= 0 {
		return usageError(fmt.Errorf("--wait %s must be positive", o.wait))
	}
	o.format = f
	return nil
}

func (o *vizCheckOptions) run(ctx context.Context) error {
	env := &check.Env{
		Namespace:          o.meshNamespace,
		CLIVersion:         version.Version(),
		Now:                o.Now,
		CallTimeout:        o.kube.Timeout,
		DataPlaneNamespace: o.namespace,
	}
	if cs, err := o.Factory().Kubernetes(); err != nil {
		env.KubeErr = err
	} else {
		env.Kube = cs
	}
	return runCheckCategories(ctx, o.globalOptions, env, check.Categories(check.ModeViz), o.format, o.wait)
}
