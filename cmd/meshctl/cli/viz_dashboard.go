package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/meshctl/meshctl/pkg/meshapi"
	"github.com/meshctl/meshctl/viz"
	"github.com/meshctl/meshctl/viz/dashboard"
)

// Serving limits of the dashboard: a slow or idle client cannot hold it.
// Writes may wait for a snapshot (a direct window plus scrapes, or
// Prometheus queries).
const (
	dashboardReadHeaderTimeout = 5 * time.Second
	dashboardReadTimeout       = 10 * time.Second
	dashboardWriteTimeout      = 2 * time.Minute
	dashboardIdleTimeout       = time.Minute
	dashboardShutdownTimeout   = 5 * time.Second
)

type vizDashboardOptions struct {
	*globalOptions
	src     vizSourceOptions
	tap     vizTapFlags
	address string
	port    int
	show    string
}

// dashboardTapper is the dashboard's tap source: for each stream the page
// opens, it builds the Tapper of viz tap (the token from the Secret or
// --token-file, a client without request timeout), so that the dashboard
// starts without a cluster and reads the token only when tapping.
type dashboardTapper struct {
	flags *vizTapFlags
	g     *globalOptions
}

// Run builds the Tapper and taps q until ctx ends.
func (d dashboardTapper) Run(ctx context.Context, q viz.TapQuery, emit func(viz.TapEvent), note func(string)) error {
	t, err := d.flags.tapper(ctx, d.g)
	if err != nil {
		return err
	}
	return t.Run(ctx, q, emit, note)
}

func newVizDashboardCmd(g *globalOptions) *cobra.Command {
	o := &vizDashboardOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "dashboard",
		Short: "Serve a local web dashboard of the mesh's traffic",
		Long: `Serve a web dashboard from this machine: every namespace's workloads with
the stat columns (MESHED, SUCCESS, RPS, LATENCY_P50/P95/P99, TCP_CONN),
refreshed every 5 seconds, and a topology graph of the edges between them
(mTLS edges solid green, plaintext edges dashed red with the reason).

A workload's page shows its routes as viz routes computes them: those it
served, and those it called, per destination Service (EFFECTIVE and ACTUAL
success and RPS, which differ when the proxy retries); a Service's page,
the routes its pods served for it. Routes exist only for Services with a
ServiceProfile. The workload's page also taps its proxies, as viz tap does
(the tap token from Secret meshctl-tap-token, or --token-file): a live list
of sampled requests, at most 10 new ones per second, for 5 minutes at most.

The numbers come from the same source as viz stat: the viz Prometheus when
it is installed, else direct scrapes of the proxies through the API server,
or --prometheus-url or --metrics-file. The dashboard listens on 127.0.0.1
only, answers only requests addressed to localhost or 127.0.0.1 on its port,
refuses requests from other origins, and changes nothing: it serves GET
only. The URL is printed; no browser is started.`,
		Example: `  # Serve the dashboard on http://127.0.0.1:50750/ until Ctrl-C
  meshctl viz dashboard

  # On another port, from saved scrapes, without a cluster
  meshctl viz dashboard --port 8084 --metrics-file a.prom --metrics-file b.prom`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.src.complete(cmd)
			if err := o.validate(); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.address, "address", "127.0.0.1", "Address to listen on (keep it loopback: the dashboard has no authentication)")
	f.IntVarP(&o.port, "port", "p", 50750, "Port to listen on (0 picks a free one)")
	f.StringVar(&o.show, "show", "url", "What to show once serving: url (print the URL; no browser is started)")
	f.DurationVarP(&o.src.window, "time-window", "t", viz.DefaultDirectWindow, "Time between the two scrapes of a direct source, or the range of Prometheus' increase() (default 1m there)")
	f.StringArrayVar(&o.src.metricsFiles, "metrics-file", nil, "Serve saved /metrics scrapes instead of the cluster's (repeat: the first is the start of the window, the last its end)")
	f.StringVar(&o.src.prometheusURL, "prometheus-url", "", "Query this Prometheus instead of the viz Prometheus or the proxies")
	f.StringVar(&o.tap.tokenFile, "token-file", "", "Read the tap token of the tap view from this file instead of Secret "+meshapi.TapTokenSecretName+" in the control plane's namespace")
	return cmd
}

func (o *vizDashboardOptions) validate() error {
	if o.show != "url" {
		return usageError(fmt.Errorf("--show %q: only url is supported (the dashboard never starts a browser)", o.show))
	}
	if o.port < 0 || o.port > 65535 {
		return usageError(fmt.Errorf("--port %d is not a TCP port: use 0 to 65535", o.port))
	}
	if net.ParseIP(o.address) == nil && o.address != "localhost" {
		return usageError(fmt.Errorf("--address %q is not an IP address: use 127.0.0.1 (the default) or another local address", o.address))
	}
	if o.src.window <= 0 || (len(o.src.metricsFiles) == 0 && o.src.window < time.Second) {
		return usageError(fmt.Errorf("--time-window %s is too short: use 1s or more", o.src.window))
	}
	if o.src.prometheusURL != "" && len(o.src.metricsFiles) > 0 {
		return usageError(errors.New("--prometheus-url and --metrics-file exclude each other: pick one source"))
	}
	if len(o.src.metricsFiles) == 1 {
		return usageError(errors.New("--metrics-file needs two or more scrapes, the first at the start of the window and the last at its end"))
	}
	return nil
}

// allowedHosts are the Host values the dashboard answers: the loopback
// names on its port, and the listen address itself.
func allowedHosts(address string, port int) []string {
	p := strconv.Itoa(port)
	hosts := []string{net.JoinHostPort("localhost", p), net.JoinHostPort("127.0.0.1", p), net.JoinHostPort("::1", p)}
	if ip := net.ParseIP(address); ip != nil && !ip.IsUnspecified() && !ip.IsLoopback() {
		hosts = append(hosts, net.JoinHostPort(address, p))
	}
	return hosts
}

func (o *vizDashboardOptions) run(ctx context.Context) error {
	src, name, err := o.src.source(ctx, o.globalOptions)
	if err != nil {
		return err
	}
	if o.verbose {
		fmt.Fprintf(o.streams.ErrOut, "metrics from %s\n", name)
	}
	l, err := (&net.ListenConfig{}).Listen(ctx, "tcp", net.JoinHostPort(o.address, strconv.Itoa(o.port)))
	if err != nil {
		return fmt.Errorf("listen on %s port %d: %w (pick another with --port, or 0 for a free one)", o.address, o.port, err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	h, err := dashboard.New(dashboard.Options{
		Source: src, AllowedHosts: allowedHosts(o.address, port),
		Tap: dashboardTapper{flags: &o.tap, g: o.globalOptions},
	})
	if err != nil {
		l.Close()
		return err
	}
	defer h.Close()
	if ip := net.ParseIP(o.address); ip != nil && !ip.IsLoopback() {
		fmt.Fprintf(o.streams.ErrOut, "warning: the dashboard listens on %s, beyond this machine, without authentication\n", o.address)
	}
	host := o.address
	if ip := net.ParseIP(o.address); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	fmt.Fprintf(o.streams.Out, "http://%s/\n", net.JoinHostPort(host, strconv.Itoa(port)))
	fmt.Fprintln(o.streams.ErrOut, "Serving the dashboard; press Ctrl-C to stop.")

	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: dashboardReadHeaderTimeout,
		ReadTimeout:       dashboardReadTimeout,
		WriteTimeout:      dashboardWriteTimeout,
		IdleTimeout:       dashboardIdleTimeout,
		MaxHeaderBytes:    16 << 10,
	}
	// Tap streams are hijacked connections, which Shutdown does not wait
	// for: it ends them.
	srv.RegisterOnShutdown(h.Close)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	select {
	case err := <-served:
		return fmt.Errorf("dashboard server: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), dashboardShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("stop the dashboard: %w", err)
	}
	return nil
}
