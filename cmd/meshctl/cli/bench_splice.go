package cli

import (
	"fmt"
	"net"

	"github.com/spf13/cobra"

	"github.com/meshctl/meshctl/pkg/bench"
)

type benchSpliceOptions struct {
	*globalOptions
	listen string
	target string
}

// newBenchSpliceCmd is the floor proxy `meshctl bench` starts as a
// subprocess; it is hidden because nobody else needs it.
func newBenchSpliceCmd(g *globalOptions) *cobra.Command {
	o := &benchSpliceOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:    "splice",
		Short:  "Forward TCP bytes between a loopback listener and a target (the benchmark's floor)",
		Hidden: true,
		Example: `  # Forward 127.0.0.1:9101 to 127.0.0.1:8080
  meshctl bench splice --listen 127.0.0.1:9101 --target 127.0.0.1:8080`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, a := range []string{o.listen, o.target} {
				if err := bench.CheckLoopback(a); err != nil {
					return usageError(err)
				}
			}
			ln, err := net.Listen("tcp", o.listen)
			if err != nil {
				return fmt.Errorf("splice: %w", err)
			}
			return bench.Splice(cmd.Context(), ln, o.target)
		},
	}
	cmd.Flags().StringVar(&o.listen, "listen", "", "Loopback ip:port to accept connections on")
	cmd.Flags().StringVar(&o.target, "target", "", "Loopback ip:port to forward every connection to")
	return cmd
}
