package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/meshctl/meshctl/pkg/output"
	"github.com/meshctl/meshctl/viz"
)

type vizRoutesOptions struct {
	*globalOptions
	vizSourceOptions
	to, toNamespace string
	toNamespaceSet  bool

	opts viz.RoutesOptions
}

func newVizRoutesCmd(g *globalOptions) *cobra.Command {
	o := &vizRoutesOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "routes RESOURCE",
		Short: "Show golden metrics per route of the services' ServiceProfiles",
		Long: `Show success rate, requests per second and latency per route, as Linkerd's
routes: ROUTE, SERVICE, SUCCESS, RPS and LATENCY_P50/P95/P99. The proxies
count requests per route only for Services that have a ServiceProfile
(meshctl.io/v1alpha1) named NAME.NAMESPACE.svc.cluster.local; requests that
match none of its routes are the [DEFAULT] row.

Without --to, the rows are what the resource served (its proxies' inbound
side); for svc/NAME, what the pods behind the service served for it. With
--to svc/NAME, they are what the resource sent to that service, as its own
proxies saw it; -o wide then shows EFFECTIVE_SUCCESS and EFFECTIVE_RPS (the
requests the client made) beside ACTUAL_SUCCESS and ACTUAL_RPS (the
attempts sent to the servers), which differ when the proxy retries.

RESOURCE is deploy, sts, ds, job, cronjob, rs, rc, po or svc, optionally as
TYPE/NAME. The metrics come from the same sources as viz stat.`,
		Example: `  # The routes web's pods served, over five seconds
  meshctl viz routes deploy/web -n shop

  # The routes of one service, as its servers saw them
  meshctl viz routes svc/api -n shop

  # What web sent to api, per route, with retries visible
  meshctl viz routes deploy/web -n shop --to svc/api -o wide

  # Saved scrapes, without a cluster
  meshctl viz routes deploy/web --metrics-file a.prom --metrics-file b.prom -o json`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.complete(cmd)
			if err := o.validate(args); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	o.addFlags(cmd)
	cmd.Flags().StringVar(&o.to, "to", "", "Only requests to this service (svc/NAME), seen by the resource's proxies as a client")
	cmd.Flags().StringVar(&o.toNamespace, "to-namespace", "", "Namespace of the --to service (default: the resource's namespace, any with -A)")
	return cmd
}

func (o *vizRoutesOptions) complete(cmd *cobra.Command) {
	o.vizSourceOptions.complete(cmd)
	o.toNamespaceSet = cmd.Flags().Changed("to-namespace")
}

func (o *vizRoutesOptions) validate(args []string) error {
	if err := o.vizSourceOptions.validate(); err != nil {
		return err
	}
	sel, err := o.selection(args)
	if err != nil {
		return err
	}
	o.opts = viz.RoutesOptions{Selection: sel}
	if o.toNamespaceSet && o.to == "" {
		return usageError(fmt.Errorf("--to-namespace names the namespace of --to svc/NAME: give --to too"))
	}
	if o.to != "" {
		k, n, err := parseResourceArgs([]string{o.to})
		if err != nil {
			return usageError(fmt.Errorf("--to: %w", err))
		}
		if k != viz.KindService {
			return usageError(fmt.Errorf("--to %s: routes belong to a Service's ServiceProfile: name the service, as --to svc/NAME", o.to))
		}
		ns := o.selectionNamespace()
		if o.toNamespaceSet {
			ns = o.toNamespace
		}
		o.opts.To = &viz.Selection{Kind: k, Names: n, Namespace: ns}
	}
	if err := o.opts.Validate(); err != nil {
		return usageError(err)
	}
	return nil
}

func (o *vizRoutesOptions) run(ctx context.Context) error {
	q := viz.Query{Namespace: o.selectionNamespace(), Selections: []viz.Selection{o.opts.Selection}, Routes: true}
	if o.opts.Selection.Kind == viz.KindService {
		// The pods behind a service are not listed: every meshed pod of
		// its namespace is read, and only the series to it count.
		q.AllMeshed = true
	}
	snap, err := o.snapshot(ctx, o.globalOptions, q)
	if err != nil {
		return err
	}
	rows, err := viz.Routes(snap, o.opts)
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		o.writeNoRoutes(o.streams.ErrOut)
		return nil
	}
	var buf bytes.Buffer
	if o.format == output.JSON {
		err = viz.WriteRoutesJSON(&buf, rows)
	} else {
		err = viz.WriteRoutesTable(&buf, rows, viz.TableOptions{AllNamespaces: o.allNamespaces, Wide: o.format == output.Wide})
	}
	if err != nil {
		return err
	}
	_, err = o.streams.Out.Write(buf.Bytes())
	return err
}

// writeNoRoutes says that no route series was found and what to check: a
// missing ServiceProfile is the usual cause.
func (o *vizRoutesOptions) writeNoRoutes(w io.Writer) {
	services := o.opts.To
	if services == nil && o.opts.Selection.Kind == viz.KindService {
		services = &o.opts.Selection
	}
	name, ns := "NAME", "NAMESPACE"
	if services != nil && len(services.Names) == 1 {
		name = services.Names[0]
	}
	kubectlNS := "-A"
	if services != nil && services.Namespace != "" {
		ns, kubectlNS = services.Namespace, "-n "+services.Namespace
	} else if services == nil && o.opts.Selection.Namespace != "" {
		ns, kubectlNS = o.opts.Selection.Namespace, "-n "+o.opts.Selection.Namespace
	}
	fmt.Fprintln(w, "No route traffic found.")
	fmt.Fprintf(w, "Routes are recorded only for requests to a Service with a ServiceProfile named %s.%s.svc.cluster.local; check with `kubectl get serviceprofiles %s`.\n", name, ns, kubectlNS)
}
