package cli

import (
	"github.com/spf13/cobra"

	"github.com/meshctl/meshctl/install"
	"github.com/meshctl/meshctl/pkg/output"
)

type uninstallOptions struct {
	*globalOptions
	force         bool
	ignoreCluster bool
	output        string
}

func newUninstallCmd(g *globalOptions) *cobra.Command {
	o := &uninstallOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "uninstall",
		Short: "List the control plane's objects and CRDs, for kubectl delete",
		Long: `Print every object labelled as part of the control plane, CRDs included,
for kubectl delete. Refuses while pods outside the control plane are still
meshed, unless --force. With --ignore-cluster it prints what a default
install creates.`,
		Example: `  # Remove meshctl from the cluster
  meshctl uninstall | kubectl delete -f -`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return usageError(err)
			}
			opts := install.UninstallOptions{
				Namespace: o.meshNamespace,
				Force:     o.force,
				Output:    o.output,
				ErrOut:    o.streams.ErrOut,
				Install:   install.Options{Now: o.Now},
			}
			if !o.ignoreCluster {
				opts.Cluster = install.KubeCluster{Factory: o.Factory()}
			}
			return inputError(install.Uninstall(cmd.Context(), opts, o.streams.Out))
		},
	}
	cmd.Flags().BoolVarP(&o.force, "force", "f", false, "Uninstall even while meshed pods remain")
	cmd.Flags().BoolVar(&o.ignoreCluster, "ignore-cluster", false, "List what a default install creates, without talking to the cluster")
	cmd.Flags().StringVarP(&o.output, "output", "o", "yaml", "Output format: yaml or json")
	return cmd
}

func (o *uninstallOptions) validate() error {
	_, err := output.ParseFormat(o.output, output.YAML, output.JSON)
	return err
}
