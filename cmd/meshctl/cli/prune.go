package cli

import (
	"github.com/spf13/cobra"

	"github.com/meshctl/meshctl/install"
)

type pruneOptions struct {
	*globalOptions
	renderFlags
}

func newPruneCmd(g *globalOptions) *cobra.Command {
	o := &pruneOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "List control-plane objects that are no longer rendered, for kubectl delete",
		Long: `Re-render the control plane like upgrade (stored values plus the flags
given here) and print the objects in the cluster labelled as part of the
control plane that the render no longer contains. CRDs are never pruned.`,
		Example: `  # After an upgrade, delete what the new version no longer has
  meshctl prune | kubectl delete -f -`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, err := o.options(cmd, o.globalOptions)
			if err != nil {
				return usageError(err)
			}
			return inputError(install.Prune(cmd.Context(), opts, o.streams.Out))
		},
	}
	o.addFlags(cmd.Flags(), false)
	return cmd
}
