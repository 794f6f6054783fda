package cli

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/meshctl/meshctl/pkg/output"
	"github.com/meshctl/meshctl/viz"
)

type vizStatOptions struct {
	*globalOptions
	vizSourceOptions
	from, to string
	unmeshed bool

	opts viz.StatOptions
}

func newVizStatCmd(g *globalOptions) *cobra.Command {
	o := &vizStatOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "stat RESOURCE [NAME...]",
		Short: "Show golden metrics (success rate, requests per second, latency) per resource",
		Long: `Show the traffic each resource served in a time window, as Linkerd's stat:
MESHED (meshed pods / pods), SUCCESS (share of responses that are not 5xx,
errors or failed gRPC), RPS, LATENCY_P50/P95/P99 (estimated from the
latency histogram like PromQL's histogram_quantile) and TCP_CONN (open
connections at the end of the window). -o wide adds bytes read and written
per second. A "-" means no data: no request in the window, or no proxy
answered.

RESOURCE is deploy, sts, ds, job, cronjob, rs, rc, po, ns, svc or all,
optionally as TYPE/NAME. A service's row is what its meshed clients, in any
namespace, sent it (their outbound metrics to the service's endpoints, which
the destination controller labels dst_service); its MESHED is "-". A
service named without traffic shows zeros.

--to and --from narrow the numbers to traffic between two resources, read
from the client side's outbound metrics: the client's proxy must be meshed
and scraped, and the server's pods must be in the selected namespace (their
IPs name them). --to svc/NAME is the traffic sent to that service; --from
picks the clients of a service's row.

Without --metrics-file the proxies are scraped through the API server,
--time-window apart (default 5s). Pods that do not answer are listed on
stderr, never dropped silently.`,
		Example: `  # Every meshed deployment of a namespace, over five seconds
  meshctl viz stat deploy -n shop

  # One deployment, over a longer window, with bytes per second
  meshctl viz stat deploy/web -n shop -t 30s -o wide

  # What web sends to the database
  meshctl viz stat deploy/web -n shop --to sts/db

  # What the services of a namespace receive from their clients, and from web only
  meshctl viz stat svc -n shop
  meshctl viz stat svc/api -n shop --from deploy/web

  # Saved scrapes, without a cluster (curl -s localhost:4191/metrics > a.prom)
  meshctl viz stat po -A --metrics-file a.prom --metrics-file b.prom -t 10s -o json`,
		Args: func(cmd *cobra.Command, args []string) error {
			return asUsage(cobra.MinimumNArgs(1)(cmd, args))
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.complete(cmd)
			if err := o.validate(args); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	o.addFlags(cmd)
	cmd.Flags().StringVar(&o.from, "from", "", "Only traffic from this resource (TYPE or TYPE/NAME, in the same namespace)")
	cmd.Flags().StringVar(&o.to, "to", "", "Only traffic to this resource (TYPE or TYPE/NAME, in the same namespace)")
	cmd.Flags().BoolVar(&o.unmeshed, "unmeshed", false, "Also list resources without meshed pods")
	return cmd
}

func (o *vizStatOptions) validate(args []string) error {
	if err := o.vizSourceOptions.validate(); err != nil {
		return err
	}
	sel, err := o.selection(args)
	if err != nil {
		return err
	}
	o.opts = viz.StatOptions{Selection: sel, Unmeshed: o.unmeshed}
	if o.from != "" && o.to != "" {
		return usageError(fmt.Errorf("--from and --to exclude each other: pick one"))
	}
	for _, peer := range []struct {
		flag, value string
		dst         **viz.Selection
	}{{"--from", o.from, &o.opts.From}, {"--to", o.to, &o.opts.To}} {
		if peer.value == "" {
			continue
		}
		k, n, err := parseResourceArgs(strings.Fields(peer.value))
		if err != nil {
			return usageError(fmt.Errorf("%s: %w", peer.flag, err))
		}
		if k == viz.KindNamespace {
			return usageError(fmt.Errorf("%s %s: name a workload or pod, not a namespace", peer.flag, peer.value))
		}
		if k == viz.KindService && peer.flag == "--from" {
			return usageError(fmt.Errorf("--from %s: a service sends nothing itself; name its clients, or stat them with --to %s", peer.value, peer.value))
		}
		if k == viz.KindService && sel.Kind == viz.KindService {
			return usageError(fmt.Errorf("--to %s: a service's row is already the traffic sent to it", peer.value))
		}
		*peer.dst = &viz.Selection{Kind: k, Names: n, Namespace: o.selectionNamespace()}
	}
	return nil
}

func (o *vizStatOptions) run(ctx context.Context) error {
	q := viz.Query{Namespace: o.selectionNamespace(), Selections: []viz.Selection{o.opts.Selection}}
	if o.opts.Selection.Kind == viz.KindNamespace {
		q.Namespace = ""
	}
	if o.opts.Selection.Kind == viz.KindService {
		// A service's clients may be in any namespace, and every
		// meshed pod may be one (with --from, only those it picks).
		q.Namespace = ""
		q.AllMeshed = o.opts.From == nil
	}
	for _, peer := range []*viz.Selection{o.opts.From, o.opts.To} {
		if peer != nil {
			q.Selections = append(q.Selections, *peer)
		}
	}
	snap, err := o.snapshot(ctx, o.globalOptions, q)
	if err != nil {
		return err
	}
	rows, err := viz.Stat(snap, o.opts)
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		fmt.Fprintln(o.streams.ErrOut, "No traffic found.")
		return nil
	}
	var buf bytes.Buffer
	if o.format == output.JSON {
		err = viz.WriteStatJSON(&buf, rows)
	} else {
		err = viz.WriteStatTable(&buf, rows, viz.TableOptions{Kind: o.opts.Selection.Kind, AllNamespaces: o.allNamespaces, Wide: o.format == output.Wide})
	}
	if err != nil {
		return err
	}
	_, err = o.streams.Out.Write(buf.Bytes())
	return err
}
