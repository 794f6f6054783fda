package cli

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/meshctl/meshctl/inject"
	"github.com/meshctl/meshctl/pkg/output"
)

func newUninjectCmd(g *globalOptions) *cobra.Command {
	o := &injectOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "uninject FILE|DIR|URL|- ...",
		Short: "Remove the meshctl proxy from Kubernetes workloads in YAML or JSON",
		Long: `Read Kubernetes manifests like inject does and write them to stdout
without what inject added: the meshctl-proxy and meshctl-init containers,
their volumes, and the meshctl.io/* labels and annotations (except
meshctl.io/inject: disabled). config.meshctl.io/* annotations are kept. A
report follows on stderr.`,
		Example: `  # Take a deployment out of the mesh
  kubectl get deploy web -o yaml | meshctl uninject - | kubectl apply -f -

  # See what would change
  meshctl uninject --diff app.yaml`,
		Args: func(cmd *cobra.Command, args []string) error { return asUsage(cobra.MinimumNArgs(1)(cmd, args)) },
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := output.ParseFormat(o.output, output.YAML, output.JSON)
			if err != nil {
				return usageError(err)
			}
			if o.diff && f == output.JSON {
				return usageError(errors.New("--diff compares YAML: drop -o json"))
			}
			srcs, err := inject.ReadInputs(cmd.Context(), args, inject.ReadOptions{Stdin: o.streams.In})
			if err != nil {
				return inputError(err)
			}
			return o.transform(srcs, inject.Options{Uninject: true, Output: f, MeshNamespace: o.meshNamespace}, true)
		},
	}
	cmd.Flags().StringVarP(&o.output, "output", "o", "yaml", "Output format: yaml or json")
	cmd.Flags().BoolVar(&o.diff, "diff", false, "Print a unified diff of what would change instead of the result")
	return cmd
}
