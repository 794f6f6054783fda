package cli

import (
	"github.com/spf13/cobra"

	"github.com/meshctl/meshctl/install"
)

type installOptions struct {
	*globalOptions
	renderFlags
	crds bool
}

func newInstallCmd(g *globalOptions) *cobra.Command {
	o := &installOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Render the meshctl CRDs or control plane for kubectl apply",
		Long: `Render the meshctl CRDs (--crds) or the control plane as YAML or JSON on
stdout, for kubectl apply. Install the CRDs first, then the control plane.

By default install asks the cluster whether the CRDs are present and the
control plane is not; --ignore-cluster renders offline. Without certificate
flags it generates a trust anchor (10 years) and an identity issuer (1 year)
and says on stderr where they are stored and when they expire.`,
		Example: `  # Install the CRDs, then the control plane
  meshctl install --crds | kubectl apply -f -
  meshctl install | kubectl apply -f -

  # Render a highly available control plane offline, with your own issuer
  meshctl install --ignore-cluster --ha \
    --identity-trust-anchors-file ca.crt \
    --identity-issuer-certificate-file issuer.crt \
    --identity-issuer-key-file issuer.key`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, err := o.complete(cmd)
			if err != nil {
				return usageError(err)
			}
			return inputError(install.Render(cmd.Context(), opts, o.streams.Out))
		},
	}
	cmd.Flags().BoolVar(&o.crds, "crds", false, "Render the CustomResourceDefinitions only")
	cmd.Flags().BoolVar(&o.ignoreCluster, "ignore-cluster", false, "Render without talking to the cluster")
	o.addFlags(cmd.Flags(), true)
	return cmd
}

func (o *installOptions) complete(cmd *cobra.Command) (install.Options, error) {
	opts, err := o.options(cmd, o.globalOptions)
	if err != nil {
		return opts, err
	}
	opts.CRDs = o.crds
	return opts, opts.Validate()
}
