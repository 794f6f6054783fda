package cli

import (
	"bytes"
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/meshctl/meshctl/diagnostics"
)

type identityOptions struct {
	*globalOptions
	namespace string
	selector  string
	output    string
}

func newIdentityCmd(g *globalOptions) *cobra.Command {
	o := &identityOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "identity [POD...]",
		Short: "Show the mTLS certificates of meshed pods' proxies",
		Long: `Show the workload certificate each proxy holds: its identity (the single
DNS SAN), its issuer and when it expires. Without POD, every running meshed
pod of the namespace (matching -l) is shown. The certificates are read from
each proxy's admin endpoint through the API server; a proxy that does not
answer is listed with the reason.

-o pem writes the chains (leaf first) for openssl and other tools.`,
		Example: `  # Every meshed pod of a namespace
  meshctl identity -n shop

  # One pod's chain, decoded by openssl
  meshctl identity web-7c9d8 -n shop -o pem | openssl x509 -noout -text`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			return o.run(cmd.Context(), args)
		},
	}
	cmd.AddCommand(newIdentityRotateCmd(g))
	f := cmd.Flags()
	f.StringVarP(&o.namespace, "namespace", "n", "default", "Namespace of the pods")
	f.StringVarP(&o.selector, "selector", "l", "", "Label selector on the pods (for example app=web)")
	f.StringVarP(&o.output, "output", "o", "table", "Output format: table, json or pem")
	return cmd
}

func (o *identityOptions) validate() error {
	switch o.output {
	case "table", "json", "pem":
		return nil
	}
	return usageError(fmt.Errorf("--output %q: use table, json or pem", o.output))
}

func (o *identityOptions) run(ctx context.Context, pods []string) error {
	cs, err := o.Factory().Kubernetes()
	if err != nil {
		return err
	}
	ids, err := diagnostics.ProxyIdentities(ctx, cs, diagnostics.IdentityOptions{Namespace: o.namespace, Pods: pods, Selector: o.selector})
	if err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	if len(ids) == 0 {
		fmt.Fprintf(o.streams.ErrOut, "No meshed pods found in namespace %s.\n", o.namespace)
		return nil
	}
	// Render fully before writing, so a failure leaves stdout empty.
	var buf bytes.Buffer
	switch o.output {
	case "json":
		err = diagnostics.WriteIdentityJSON(&buf, ids)
	case "pem":
		err = diagnostics.WriteIdentityPEM(&buf, ids)
	default:
		err = diagnostics.WriteIdentityTable(&buf, ids, o.Now())
	}
	if err != nil {
		return err
	}
	if _, err := o.streams.Out.Write(buf.Bytes()); err != nil {
		return err
	}
	failed := 0
	for _, id := range ids {
		if id.Error != "" {
			failed++
		}
	}
	if failed > 0 {
		fmt.Fprintf(o.streams.ErrOut, "%d of %d proxies did not show a certificate; see the errors above or run meshctl check --proxy -n %s\n", failed, len(ids), o.namespace)
		return silentFailure()
	}
	return nil
}
