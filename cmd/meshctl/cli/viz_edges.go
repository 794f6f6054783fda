package cli

import (
	"bytes"
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/meshctl/meshctl/pkg/output"
	"github.com/meshctl/meshctl/viz"
)

type vizEdgesOptions struct {
	*globalOptions
	vizSourceOptions

	opts viz.EdgesOptions
}

func newVizEdgesCmd(g *globalOptions) *cobra.Command {
	o := &vizEdgesOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "edges RESOURCE",
		Short: "Show which resources connect to which, and whether mTLS secures them",
		Long: `Show the connections each resource's proxies opened in a time window (or held
open at its end): SRC, DST, their namespaces, and SECURED, which is √ for
mTLS and otherwise the reason the connection is plaintext. -o wide adds the
client and server identities.

DST is named by resource of the same type when its address is a known pod's
IP, by its workload (TYPE/NAME) when that pod has no owner of the type, and
by the address otherwise: with -n, pods of other namespaces stay addresses.

RESOURCE is deploy, sts, ds, job, cronjob, rs, rc, po, ns or all; services
are not supported yet.`,
		Example: `  # Edges between the deployments of a namespace
  meshctl viz edges deploy -n shop

  # Pod to pod, with identities, across every namespace
  meshctl viz edges po -A -o wide`,
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
	return cmd
}

func (o *vizEdgesOptions) validate(args []string) error {
	if err := o.vizSourceOptions.validate(); err != nil {
		return err
	}
	kind, names, err := parseResourceArgs(args)
	if err != nil {
		return usageError(err)
	}
	if kind == viz.KindService {
		return usageError(viz.ErrServiceNotSupported("viz edges"))
	}
	sel := viz.Selection{Kind: kind, Names: names, Namespace: o.selectionNamespace(), LabelSelector: o.selector}
	if err := sel.Validate(); err != nil {
		return usageError(err)
	}
	o.opts = viz.EdgesOptions{Selection: sel}
	return nil
}

func (o *vizEdgesOptions) run(ctx context.Context) error {
	q := viz.Query{Namespace: o.selectionNamespace(), Selections: []viz.Selection{o.opts.Selection}}
	if o.opts.Selection.Kind == viz.KindNamespace {
		q.Namespace = ""
	}
	snap, err := o.snapshot(ctx, o.globalOptions, q)
	if err != nil {
		return err
	}
	edges := viz.Edges(snap, o.opts)
	if len(edges) == 0 {
		fmt.Fprintln(o.streams.ErrOut, "No edges found.")
		return nil
	}
	var buf bytes.Buffer
	if o.format == output.JSON {
		err = viz.WriteEdgesJSON(&buf, edges)
	} else {
		err = viz.WriteEdgesTable(&buf, edges, viz.TableOptions{Kind: o.opts.Selection.Kind, AllNamespaces: o.allNamespaces, Wide: o.format == output.Wide})
	}
	if err != nil {
		return err
	}
	_, err = o.streams.Out.Write(buf.Bytes())
	return err
}
