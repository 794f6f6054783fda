package cli

import (
	"errors"
	"fmt"
	"net"

	"github.com/spf13/cobra"

	"github.com/meshctl/meshctl/pkg/bench"
)

type benchSpliceOptions struct {
	*globalOptions
	listen string
	target string
	tls    string
	files  bench.FloorTLS
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
  meshctl bench splice --listen 127.0.0.1:9101 --target 127.0.0.1:8080

  # The client side of the mTLS floor: TLS 1.3 with a client certificate to the server side
  meshctl bench splice --listen 127.0.0.1:9101 --target 127.0.0.1:9102 --tls client \
    --tls-cert client.crt --tls-key client.key --tls-ca anchors.pem --tls-server-name server.example`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, a := range []string{o.listen, o.target} {
				if err := bench.CheckLoopback(a); err != nil {
					return usageError(err)
				}
			}
			so := bench.SpliceOptions{Target: o.target}
			var err error
			switch o.tls {
			case "":
				if o.files != (bench.FloorTLS{}) {
					return usageError(errors.New("--tls-cert, --tls-key, --tls-ca and --tls-server-name need --tls client or --tls server"))
				}
			case "server":
				so.ServerTLS, err = o.files.ServerConfig()
			case "client":
				so.ClientTLS, err = o.files.ClientConfig()
			default:
				return usageError(fmt.Errorf("--tls %q: use client or server", o.tls))
			}
			if err != nil {
				return usageError(err)
			}
			ln, err := net.Listen("tcp", o.listen)
			if err != nil {
				return fmt.Errorf("splice: %w", err)
			}
			return bench.Splice(cmd.Context(), ln, so)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "", "Loopback ip:port to accept connections on")
	f.StringVar(&o.target, "target", "", "Loopback ip:port to forward every connection to")
	f.StringVar(&o.tls, "tls", "", "Mutual TLS 1.3 on this side: server (terminate, require a client certificate) or client (originate)")
	f.StringVar(&o.files.Cert, "tls-cert", "", "With --tls: this side's certificate chain (PEM, leaf first)")
	f.StringVar(&o.files.Key, "tls-key", "", "With --tls: this side's private key (PEM)")
	f.StringVar(&o.files.CA, "tls-ca", "", "With --tls: the trust anchors the peer's certificate must chain to (PEM)")
	f.StringVar(&o.files.ServerName, "tls-server-name", "", "With --tls client: the name the server's certificate must carry")
	return cmd
}
