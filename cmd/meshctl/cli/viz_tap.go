package cli

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tapapi "github.com/meshctl/meshctl/pkg/api/tap"
	"github.com/meshctl/meshctl/pkg/kube"
	"github.com/meshctl/meshctl/pkg/meshapi"
	"github.com/meshctl/meshctl/pkg/output"
	"github.com/meshctl/meshctl/viz"
)

// vizTapFlags are the flags tap and top share: what to tap and how much.
type vizTapFlags struct {
	namespace   string
	selector    string
	to          string
	toNamespace string
	method      string
	path        string
	authority   string
	maxRPS      float64
	tokenFile   string

	query viz.TapQuery
}

func (f *vizTapFlags) addFlags(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVarP(&f.namespace, "namespace", "n", "default", "Namespace of the resource")
	fl.StringVarP(&f.selector, "selector", "l", "", "Label selector on the pods (for example app=web)")
	fl.StringVar(&f.to, "to", "", "Only requests the pods send to this resource (TYPE or TYPE/NAME)")
	fl.StringVar(&f.toNamespace, "to-namespace", "", "Namespace of --to (default: --namespace)")
	fl.StringVar(&f.method, "method", "", "Only requests with this HTTP method")
	fl.StringVar(&f.path, "path", "", "Only requests whose path starts with this prefix")
	fl.StringVar(&f.authority, "authority", "", "Only requests for this authority (Host)")
	fl.Float64Var(&f.maxRPS, "max-rps", tapapi.DefaultMaxRPS, fmt.Sprintf("Most new requests per second each proxy reports (at most %d)", tapapi.LimitMaxRPS))
	fl.StringVar(&f.tokenFile, "token-file", "", "Read the tap token from this file instead of Secret "+meshapi.TapTokenSecretName+" in the control plane's namespace")
}

func (f *vizTapFlags) validate(args []string) error {
	kind, names, err := parseResourceArgs(args)
	if err != nil {
		return usageError(err)
	}
	if kind == viz.KindService {
		return usageError(viz.ErrServiceNotSupported("viz tap and top"))
	}
	sel := viz.Selection{Kind: kind, Names: names, Namespace: f.namespace, LabelSelector: f.selector}
	if kind == viz.KindNamespace {
		sel.Namespace = ""
	}
	if err := sel.Validate(); err != nil {
		return usageError(err)
	}
	if f.maxRPS <= 0 || f.maxRPS > tapapi.LimitMaxRPS {
		return usageError(fmt.Errorf("--max-rps %g: want more than 0 and at most %d", f.maxRPS, tapapi.LimitMaxRPS))
	}
	if f.path != "" && !strings.HasPrefix(f.path, "/") {
		return usageError(fmt.Errorf("--path %q: a path prefix starts with /", f.path))
	}
	f.query = viz.TapQuery{Selection: sel, Filter: tapapi.Request{Method: strings.ToUpper(f.method), PathPrefix: f.path, Authority: f.authority, MaxRPS: f.maxRPS}}
	if f.toNamespace != "" && f.to == "" {
		return usageError(fmt.Errorf("--to-namespace needs --to"))
	}
	if f.to != "" {
		k, n, err := parseResourceArgs(strings.Fields(f.to))
		if err != nil {
			return usageError(fmt.Errorf("--to: %w", err))
		}
		if k == viz.KindNamespace || k == viz.KindService {
			return usageError(fmt.Errorf("--to %s: name a workload or pod, not a %s", f.to, k))
		}
		ns := f.toNamespace
		if ns == "" {
			ns = f.namespace
		}
		f.query.To = &viz.Selection{Kind: k, Names: n, Namespace: ns}
	}
	return nil
}

// tapper builds the Tapper: a client without an overall request timeout
// (streams last until Ctrl-C; each stream's opening is bounded by the
// Tapper) and the token.
func (f *vizTapFlags) tapper(ctx context.Context, g *globalOptions) (*viz.Tapper, error) {
	token, err := f.token(ctx, g)
	if err != nil {
		return nil, err
	}
	cfg, err := g.Factory().RESTConfig()
	if err != nil {
		return nil, err
	}
	cfg.Timeout = 0
	cs, err := kube.NewClientset(cfg)
	if err != nil {
		return nil, fmt.Errorf("create kubernetes client: %w", err)
	}
	return &viz.Tapper{Kube: cs, Token: token}, nil
}

// token reads --token-file, else the Secret.
func (f *vizTapFlags) token(ctx context.Context, g *globalOptions) (string, error) {
	if f.tokenFile != "" {
		b, err := os.ReadFile(f.tokenFile)
		if err != nil {
			return "", fmt.Errorf("read the tap token: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	cs, err := g.Factory().Kubernetes()
	if err != nil {
		return "", err
	}
	s, err := cs.CoreV1().Secrets(g.meshNamespace).Get(ctx, meshapi.TapTokenSecretName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", fmt.Errorf("secret %s/%s not found: tap is not enabled; docs/viz.md#tap shows how to create the token and configure the proxies with its hash", g.meshNamespace, meshapi.TapTokenSecretName)
	}
	if err != nil {
		return "", fmt.Errorf("read the tap token from secret %s/%s: %w (you need get on secrets there, or pass --token-file)", g.meshNamespace, meshapi.TapTokenSecretName, err)
	}
	tok := strings.TrimSpace(string(s.Data[meshapi.TapTokenSecretKey]))
	if tok == "" {
		return "", fmt.Errorf("secret %s/%s has no %q key: recreate it as docs/viz.md#tap shows", g.meshNamespace, meshapi.TapTokenSecretName, meshapi.TapTokenSecretKey)
	}
	return tok, nil
}

type vizTapOptions struct {
	*globalOptions
	vizTapFlags
	output string
	format output.Format
}

func newVizTapCmd(g *globalOptions) *cobra.Command {
	o := &vizTapOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "tap RESOURCE [NAME...]",
		Short: "Stream the requests and responses the selected pods' proxies see",
		Long: `Stream live request/response events from the proxies of the selected pods,
as Linkerd's tap: for each sampled request a "req" line (method, authority,
path), a "rsp" line (status, latency to the response's head) and an "end"
line (grpc-status or status, error, duration, response bytes). id=S:N names
the exchange: S the tapped pod's stream, N the request. Values from requests
are escaped, so a header cannot move the cursor or forge a line.

Each proxy serves the stream on its control port (4190), reached through the
Kubernetes API server (you need create on pods/proxy), only to a client
presenting the tap token (Secret meshctl-tap-token in the control plane's
namespace, or --token-file). Each proxy reports at most --max-rps new
requests per second; events a slow reader cannot take are dropped and
counted on stderr, never slowing the traffic. Stop with Ctrl-C.

RESOURCE is deploy, sts, ds, job, cronjob, rs, rc, po, ns or all, optionally
as TYPE/NAME.`,
		Example: `  # Every request web's pods serve or send
  meshctl viz tap deploy/web -n shop

  # Only what web sends to the database, GETs under /api, as JSON lines
  meshctl viz tap deploy/web -n shop --to sts/db --method GET --path /api -o json

  # With the workload and namespace at each end (src_res, dst_res, ...)
  meshctl viz tap deploy/web -n shop -o wide`,
		Args: minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.validate(args); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	o.addFlags(cmd)
	cmd.Flags().StringVarP(&o.output, "output", "o", "table", "Output format: table (req/rsp/end lines), wide (the lines with src_res, src_ns, dst_res and dst_ns) or json (one object per line)")
	return cmd
}

func (o *vizTapOptions) validate(args []string) error {
	f, err := output.ParseFormat(o.output, output.Table, output.Wide, output.JSON)
	if err != nil {
		return usageError(err)
	}
	o.format = f
	return o.vizTapFlags.validate(args)
}

func (o *vizTapOptions) run(ctx context.Context) error {
	tapper, err := o.tapper(ctx, o.globalOptions)
	if err != nil {
		return err
	}
	// A reader that went away (| head) ends the tap.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var werr error
	emit := func(ev viz.TapEvent) {
		if werr != nil {
			return
		}
		switch o.format {
		case output.JSON:
			werr = viz.WriteTapJSON(o.streams.Out, ev)
		case output.Wide:
			werr = viz.WriteTapLineWide(o.streams.Out, ev)
		default:
			werr = viz.WriteTapLine(o.streams.Out, ev)
		}
		if werr != nil {
			cancel()
		}
	}
	note := func(s string) { fmt.Fprintf(o.streams.ErrOut, "note: %s\n", s) }
	if err := tapper.Run(ctx, o.query, emit, note); err != nil {
		return err
	}
	return werr
}
