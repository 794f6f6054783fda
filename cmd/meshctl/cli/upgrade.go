package cli

import (
	"github.com/spf13/cobra"

	"github.com/meshctl/meshctl/install"
)

type upgradeOptions struct {
	*globalOptions
	renderFlags
	crds bool
}

func newUpgradeCmd(g *globalOptions) *cobra.Command {
	o := &upgradeOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "upgrade",
		Short: "Re-render the installed control plane with this version and new settings",
		Long: `Re-render the control plane from the values stored in the cluster
(ConfigMap meshctl-config), with the flags and values given here on top, for
kubectl apply. The identity issuer of the cluster is kept unless new
certificate files are given. Then run meshctl prune to delete what is no
longer rendered.`,
		Example: `  # Upgrade the CRDs, then the control plane, then delete leftovers
  meshctl upgrade --crds | kubectl apply -f -
  meshctl upgrade | kubectl apply -f -
  meshctl prune | kubectl delete -f -

  # Turn on high availability
  meshctl upgrade --ha | kubectl apply -f -`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, err := o.options(cmd, o.globalOptions)
			if err != nil {
				return usageError(err)
			}
			opts.CRDs = o.crds
			if err := opts.Validate(); err != nil {
				return usageError(err)
			}
			return inputError(install.Upgrade(cmd.Context(), opts, o.streams.Out))
		},
	}
	cmd.Flags().BoolVar(&o.crds, "crds", false, "Render the CustomResourceDefinitions only")
	o.addFlags(cmd.Flags(), false)
	return cmd
}
