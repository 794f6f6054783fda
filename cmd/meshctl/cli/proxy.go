package cli

import (
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/spf13/cobra"

	"github.com/meshctl/meshctl/pkg/logging"
	"github.com/meshctl/meshctl/pkg/proxy"
)

type proxyOptions struct {
	*globalOptions
	flags       proxy.Config
	opaquePorts string

	cfg proxy.Config
}

func newProxyCmd(g *globalOptions) *cobra.Command {
	o := &proxyOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "proxy",
		Short: "Run the sidecar data-plane proxy",
		Long: `Run the meshctl proxy: the transparent sidecar that carries a meshed pod's
inbound (4143) and outbound (127.0.0.1:4140) traffic, detects HTTP/1.1,
HTTP/2 and gRPC, proxies everything else as opaque TCP, and serves
/metrics, /ready, /live and /identity on its admin port (4191), and to
loopback clients only /config (the effective configuration),
/proxy-log-level (GET it, or PUT a new level, as Linkerd's proxy takes)
and, with --pprof, Go's runtime profiles at /debug/pprof/.

Configuration comes from MESHCTL_PROXY_* environment variables (set by the
injected pod spec) and from flags, which take precedence.`,
		Example: `  # Run outside a pod, forwarding inbound traffic to a local application
  meshctl proxy --inbound-addr 127.0.0.1:4143 --inbound-target 127.0.0.1:8080

  # Show the effective configuration of a running proxy (from inside the pod,
  # or through kubectl port-forward pod/NAME 4191)
  curl -s localhost:4191/config

  # Log at debug level from now on (until the proxy restarts)
  curl -X PUT --data debug localhost:4191/proxy-log-level`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.complete(cmd); err != nil {
				return err
			}
			return o.run(cmd)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.flags.InboundAddr, "inbound-addr", "", "Inbound listener address (default 0.0.0.0:4143)")
	f.StringVar(&o.flags.OutboundAddr, "outbound-addr", "", "Outbound listener address (default 127.0.0.1:4140)")
	f.StringVar(&o.flags.AdminAddr, "admin-addr", "", "Admin server address (default 0.0.0.0:4191)")
	f.StringVar(&o.flags.InboundTarget, "inbound-target", "", "Send all inbound connections to this ip:port instead of their original destination")
	f.StringVar(&o.flags.OutboundTarget, "outbound-target", "", "Send all outbound connections to this ip:port instead of their original destination")
	f.StringVar(&o.flags.OutboundTargetIdentity, "outbound-target-identity", "", "With --outbound-target: the mTLS identity the target must prove")
	f.StringVar(&o.flags.DefaultInboundPolicy, "default-inbound-policy", "", "Who may connect: all-unauthenticated, all-authenticated, cluster-unauthenticated, cluster-authenticated, deny or audit (default all-unauthenticated)")
	f.DurationVar(&o.flags.DetectTimeout, "detect-timeout", 0, "How long to wait for a client's first bytes before proxying as opaque TCP (default 10s)")
	f.StringVar(&o.opaquePorts, "opaque-ports", "", "Ports proxied as opaque TCP without protocol detection (default "+"25,587,3306,4444,5432,6379,9300,11211)")
	f.DurationVar(&o.flags.ShutdownGracePeriod, "shutdown-grace-period", 0, "How long in-flight requests may drain after SIGTERM (default 30s)")
	f.DurationVar(&o.flags.WaitBeforeExit, "wait-before-exit", 0, "How long to keep serving after SIGTERM before draining (default 0)")
	f.BoolVar(&o.flags.PprofEndpoint, "pprof", false, "Serve Go's runtime profiles at /debug/pprof/ on the admin port, to loopback clients only")
	f.StringVar(&o.flags.LogLevel, "log-level", "", "Log level: debug, info, warn or error (default info)")
	f.StringVar(&o.flags.LogFormat, "log-format", "", "Log format: plain or json (default plain)")
	cmd.AddCommand(newProxyInitCmd(g))
	return cmd
}

// complete layers the configuration: defaults < MESHCTL_PROXY_* < flags.
func (o *proxyOptions) complete(cmd *cobra.Command) error {
	cfg, err := proxy.FromEnv(proxy.Config{}, o.getenv())
	if err != nil {
		return usageError(fmt.Errorf("proxy configuration: %w", err))
	}
	changed := cmd.Flags().Changed
	str := func(name string, dst *string, v string) {
		if changed(name) {
			*dst = v
		}
	}
	dur := func(name string, dst *time.Duration, v time.Duration) {
		if changed(name) {
			*dst = v
		}
	}
	str("inbound-addr", &cfg.InboundAddr, o.flags.InboundAddr)
	str("outbound-addr", &cfg.OutboundAddr, o.flags.OutboundAddr)
	str("admin-addr", &cfg.AdminAddr, o.flags.AdminAddr)
	str("inbound-target", &cfg.InboundTarget, o.flags.InboundTarget)
	str("outbound-target", &cfg.OutboundTarget, o.flags.OutboundTarget)
	str("outbound-target-identity", &cfg.OutboundTargetIdentity, o.flags.OutboundTargetIdentity)
	str("default-inbound-policy", &cfg.DefaultInboundPolicy, o.flags.DefaultInboundPolicy)
	str("log-level", &cfg.LogLevel, o.flags.LogLevel)
	str("log-format", &cfg.LogFormat, o.flags.LogFormat)
	dur("detect-timeout", &cfg.DetectTimeout, o.flags.DetectTimeout)
	dur("shutdown-grace-period", &cfg.ShutdownGracePeriod, o.flags.ShutdownGracePeriod)
	dur("wait-before-exit", &cfg.WaitBeforeExit, o.flags.WaitBeforeExit)
	if changed("pprof") {
		cfg.PprofEndpoint = o.flags.PprofEndpoint
	}
	if changed("opaque-ports") {
		ports, err := proxy.ParsePortSet(o.opaquePorts)
		if err != nil {
			return usageError(fmt.Errorf("--opaque-ports: %w", err))
		}
		cfg.OpaquePorts = ports
	}
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return usageError(fmt.Errorf("proxy configuration: %w", err))
	}
	o.cfg = cfg
	return nil
}

func (o *proxyOptions) getenv() func(string) string { return o.globalOptions.cfg.getenv }

func (o *proxyOptions) run(cmd *cobra.Command) error {
	level, err := proxy.EffectiveLogLevel(o.cfg.LogLevel)
	if err != nil {
		return usageError(err)
	}
	logLevel := new(slog.LevelVar) // /proxy-log-level changes it
	log, err := logging.New(o.streams.ErrOut, logging.Options{Level: level, Format: o.cfg.LogFormat, Dynamic: logLevel})
	if err != nil {
		return usageError(err)
	}
	id, err := identityFromEnv(o.getenv())
	if err != nil {
		return usageError(fmt.Errorf("proxy configuration: %w", err))
	}
	ctx := cmd.Context()
	reg := prometheus.NewRegistry()
	tlsp, closeID, err := id.provider(ctx, reg, log)
	if err != nil {
		return fmt.Errorf("proxy identity: %w", err)
	}
	defer closeID()
	dst, closeDst, err := proxyDestination(o.getenv(), o.cfg, tlsp, log)
	if err != nil {
		return usageError(fmt.Errorf("proxy configuration: %w", err))
	}
	defer closeDst()
	// Only the admin port is bound now; inbound and outbound are bound
	// once the proxy holds a certificate (fail closed).
	admin, err := (&net.ListenConfig{}).Listen(ctx, "tcp", o.cfg.AdminAddr)
	if err != nil {
		return fmt.Errorf("proxy: listen admin on %s: %w", o.cfg.AdminAddr, err)
	}
	runtime.MemProfileRate = heapProfileRate(o.cfg.PprofEndpoint, runtime.MemProfileRate)
	p, err := proxy.New(o.cfg, proxy.Deps{TLS: tlsp, Destination: dst, Registry: reg, LogLevel: logLevel}, log, proxy.Listeners{Admin: admin})
	if err != nil {
		_ = admin.Close()
		return err
	}
	return p.Run(ctx)
}

// heapProfileRate is the runtime's heap sampling rate for a proxy: none
// unless the pprof endpoint can serve the profile. The sampler records
// the stack of about one allocation in 512 KiB in a bucket kept for the
// life of the process, indexed by a 1.4 MiB hash table whose pages each
// new stack touches at random: a proxy at load keeps a few hundred stacks
// that nothing reads (docs/bench.md).
func heapProfileRate(pprof bool, current int) int {
	if pprof {
		return current
	}
	return 0
}
