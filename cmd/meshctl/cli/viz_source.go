package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/spf13/cobra"

	"github.com/meshctl/meshctl/pkg/output"
	"github.com/meshctl/meshctl/viz"
)

// vizSourceOptions are the flags stat and edges share: what to select and
// where the metrics come from.
type vizSourceOptions struct {
	namespace     string
	allNamespaces bool
	selector      string
	window        time.Duration
	metricsFiles  []string
	prometheusURL string
	output        string

	format        output.Format
	windowChanged bool
}

func (o *vizSourceOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&o.namespace, "namespace", "n", "default", "Namespace of the resources")
	f.BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "Select resources in every namespace")
	f.StringVarP(&o.selector, "selector", "l", "", "Label selector on the pods (for example app=web)")
	f.DurationVarP(&o.window, "time-window", "t", viz.DefaultDirectWindow, "Time between the two scrapes rates are computed over (with --metrics-file and no -t: read from the files' # scraped-at comments, else their modification times)")
	f.StringArrayVar(&o.metricsFiles, "metrics-file", nil, "Read a saved /metrics scrape instead of the cluster (repeat: the first is the start of the window, the last its end)")
	f.StringVar(&o.prometheusURL, "prometheus-url", "", "Query this Prometheus (which must scrape the proxies, with namespace and pod labels) instead of the viz Prometheus or the proxies; -t then defaults to 1m")
	f.StringVarP(&o.output, "output", "o", "table", "Output format: table, wide or json")
}

// complete records which defaults the user overrode.
func (o *vizSourceOptions) complete(cmd *cobra.Command) {
	o.windowChanged = cmd.Flags().Changed("time-window")
}

func (o *vizSourceOptions) validate() error {
	f, err := output.ParseFormat(o.output, output.Table, output.Wide, output.JSON)
	if err != nil {
		return usageError(err)
	}
	o.format = f
	if o.window <= 0 || (len(o.metricsFiles) == 0 && o.window < time.Second) {
		return usageError(fmt.Errorf("--time-window %s is too short: use 1s or more", o.window))
	}
	if o.prometheusURL != "" && len(o.metricsFiles) > 0 {
		return usageError(fmt.Errorf("--prometheus-url and --metrics-file exclude each other: pick one source"))
	}
	if len(o.metricsFiles) == 1 {
		return usageError(fmt.Errorf("--metrics-file needs two or more scrapes, the first at the start of the window and the last at its end"))
	}
	return nil
}

// selection parses RESOURCE arguments into a validated Selection in the
// selected namespace with -l; -l with services is refused (they are
// named, not selected by label). Errors are usage errors.
func (o *vizSourceOptions) selection(args []string) (viz.Selection, error) {
	kind, names, err := parseResourceArgs(args)
	if err != nil {
		return viz.Selection{}, usageError(err)
	}
	sel := viz.Selection{Kind: kind, Names: names, Namespace: o.selectionNamespace(), LabelSelector: o.selector}
	if err := sel.Validate(); err != nil {
		return viz.Selection{}, usageError(err)
	}
	if kind == viz.KindService && o.selector != "" {
		return viz.Selection{}, usageError(fmt.Errorf("-l selects pods by label; services are named: use svc/NAME"))
	}
	return sel, nil
}

// selectionNamespace is the namespace pods are selected in, "" for all.
func (o *vizSourceOptions) selectionNamespace() string {
	if o.allNamespaces {
		return ""
	}
	return o.namespace
}

// source returns the metrics source and says which it is: --metrics-file
// (offline), --prometheus-url, the viz Prometheus through the API server
// when it is installed and ready, else the direct scrape of the proxies.
func (o *vizSourceOptions) source(ctx context.Context, g *globalOptions) (viz.Source, string, error) {
	if len(o.metricsFiles) > 0 {
		files := make([]viz.ScrapeFile, 0, len(o.metricsFiles))
		for _, path := range o.metricsFiles {
			b, err := os.ReadFile(path)
			if err != nil {
				return nil, "", fmt.Errorf("read --metrics-file: %w", err)
			}
			st, err := os.Stat(path)
			if err != nil {
				return nil, "", fmt.Errorf("read --metrics-file: %w", err)
			}
			files = append(files, viz.ScrapeFile{Name: path, Data: b, ModTime: st.ModTime()})
		}
		src := &viz.Offline{Files: files}
		if o.windowChanged {
			src.Window = o.window
		}
		return src, fmt.Sprintf("%d saved scrapes (--metrics-file)", len(files)), nil
	}
	if o.prometheusURL != "" {
		client, err := promapi.NewClient(promapi.Config{Address: o.prometheusURL})
		if err != nil {
			return nil, "", fmt.Errorf("--prometheus-url: %w", err)
		}
		return o.prometheus(client), "Prometheus at " + o.prometheusURL + " (--prometheus-url)", nil
	}
	cs, err := g.Factory().Kubernetes()
	if err != nil {
		return nil, "", fmt.Errorf("%w; without a cluster, pass saved scrapes with --metrics-file", err)
	}
	ok, why, err := viz.InClusterPrometheus(ctx, cs)
	if err != nil {
		return nil, "", fmt.Errorf("%w; or pass --prometheus-url, or --metrics-file", err)
	}
	if ok {
		return o.prometheus(viz.ServiceProxyClient{Kube: cs}), "the viz Prometheus through the API server (" + viz.PrometheusProxyPath() + ")", nil
	}
	return &viz.Direct{Kube: cs, Window: o.window}, "direct scrapes of the proxies through the API server, " + o.window.String() + " apart: " + why, nil
}

// prometheus returns a Prometheus source over client; -t, when given, is
// the window of its increase() queries.
func (o *vizSourceOptions) prometheus(client promapi.Client) *viz.Prometheus {
	src := &viz.Prometheus{API: promv1.NewAPI(client)}
	if o.windowChanged {
		src.Window = o.window
	}
	return src
}

// snapshot runs the source and reports, on stderr, every selected pod that
// did not answer: a missing pod must never look like a quiet one. With -v
// it also says which source answered.
func (o *vizSourceOptions) snapshot(ctx context.Context, g *globalOptions, q viz.Query) (*viz.Snapshot, error) {
	src, name, err := o.source(ctx, g)
	if err != nil {
		return nil, err
	}
	if g.verbose {
		fmt.Fprintf(g.streams.ErrOut, "metrics from %s\n", name)
	}
	snap, err := src.Snapshot(ctx, q)
	if err != nil {
		return nil, err
	}
	writeScrapeNotes(g.streams.ErrOut, snap.Failed())
	return snap, nil
}

func writeScrapeNotes(w io.Writer, failed []viz.Scrape) {
	lines := make([]string, 0, len(failed))
	for _, sc := range failed {
		lines = append(lines, fmt.Sprintf("note: pod %s/%s did not answer, its numbers are missing: %v", sc.Pod.Namespace, sc.Pod.Name, sc.Err))
	}
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
}

// parseResourceArgs turns "deploy", "deploy/web" or "deploy web api" into a
// kind and names.
func parseResourceArgs(args []string) (viz.Kind, []string, error) {
	kindArg, first, hasName := strings.Cut(args[0], "/")
	kind, err := viz.ParseKind(kindArg)
	if err != nil {
		return "", nil, err
	}
	var names []string
	if hasName {
		names = append(names, first)
	}
	for _, a := range args[1:] {
		k, n, ok := strings.Cut(a, "/")
		if ok {
			other, err := viz.ParseKind(k)
			if err != nil {
				return "", nil, err
			}
			if other != kind {
				return "", nil, fmt.Errorf("%s: every name must be of type %s: run one command per resource type", a, kind)
			}
			a = n
		}
		names = append(names, a)
	}
	if kind == viz.KindAll && len(names) > 0 {
		return "", nil, fmt.Errorf("resource type all takes no names: name a type (for example deploy/%s)", names[0])
	}
	for _, n := range names {
		if n == "" {
			return "", nil, fmt.Errorf("empty resource name in %q", strings.Join(args, " "))
		}
	}
	return kind, names, nil
}
