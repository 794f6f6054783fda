package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/meshctl/meshctl/pkg/admin"
	"github.com/meshctl/meshctl/pkg/memtrim"
)

// Listeners are the sockets a proxy serves; Listen opens them from a Config,
// tests may pass their own. Control (the tap server) is nil when tap is
// off.
type Listeners struct {
	Inbound, Outbound, Admin, Control net.Listener
}

// Listen binds the addresses of cfg (the control address only when tap is
// configured). On error nothing stays open.
func Listen(cfg Config) (Listeners, error) {
	var ls Listeners
	var lc net.ListenConfig
	for _, b := range []struct {
		name string
		addr string
		dst  *net.Listener
	}{
		{"inbound", cfg.InboundAddr, &ls.Inbound},
		{"outbound", cfg.OutboundAddr, &ls.Outbound},
		{"admin", cfg.AdminAddr, &ls.Admin},
		{"control", cfg.ControlAddr, &ls.Control},
	} {
		if b.name == "control" && cfg.TapTokenSHA256 == "" {
			continue
		}
		ln, err := lc.Listen(context.Background(), "tcp", b.addr)
		if err != nil {
			ls.Close()
			return Listeners{}, fmt.Errorf("proxy: listen %s on %s: %w", b.name, b.addr, err)
		}
		*b.dst = ln
	}
	return ls, nil
}

// Close closes every listener that is open.
func (l Listeners) Close() {
	for _, ln := range []net.Listener{l.Inbound, l.Outbound, l.Admin, l.Control} {
		if ln != nil {
			_ = ln.Close()
		}
	}
}

// Proxy is one running data-plane proxy.
type Proxy struct {
	cfg       Config
	log       *slog.Logger
	registry  *prometheus.Registry
	readiness *admin.Readiness
	inbound   *side
	outbound  *side
	ls        Listeners
	taps      *tapHub
	// tlsProvider is deps.TLS, kept to wait for its first certificate.
	tlsProvider TLS
	// idle deletes the metric series that stopped moving.
	idle *idleSeries
	// logLevel is deps.LogLevel: the logger's level, set by
	// /proxy-log-level; nil when it is fixed.
	logLevel *slog.LevelVar

	shutdownOnce sync.Once
	shutdownCh   chan struct{}
}

// New builds a proxy over ls. cfg must have passed Defaults and Validate.
func New(cfg Config, deps Deps, log *slog.Logger, ls Listeners) (*Proxy, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if deps.Policy == nil {
		deps.Policy = ConfigPolicy{Default: cfg.DefaultInboundPolicy, RequireIdentity: cfg.RequireIdentityPorts, ClusterNetworks: cfg.ClusterNetworks}
	}
	deps = deps.withDefaults()
	reg := deps.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := newMetrics(reg, cfg.MaxAuthorityLabels)
	p := &Proxy{cfg: cfg, log: log, registry: reg, readiness: &admin.Readiness{}, ls: ls, shutdownCh: make(chan struct{})}
	var err error
	if ls.Admin == nil {
		return nil, errors.New("proxy: no admin listener")
	}
	if p.inbound, err = newSide(Inbound, cfg, deps, log, m, cfg.InboundTarget); err != nil {
		return nil, err
	}
	if p.outbound, err = newSide(Outbound, cfg, deps, log, m, cfg.OutboundTarget); err != nil {
		return nil, err
	}
	p.taps = newTapHub(cfg, log)
	p.inbound.taps, p.outbound.taps = p.taps, p.taps
	p.tlsProvider = deps.TLS
	p.logLevel = deps.LogLevel
	p.idle = newIdleSeries(m, cfg.MetricsRetainIdle)
	p.readiness.Set("listeners", false, "starting")
	return p, nil
}

// bind opens the inbound and outbound listeners the caller did not pass
// and records every listener port as a destination that would loop.
func (p *Proxy) bind(ctx context.Context) error {
	var lc net.ListenConfig
	for _, b := range []struct {
		name, addr string
		dst        *net.Listener
	}{{"inbound", p.cfg.InboundAddr, &p.ls.Inbound}, {"outbound", p.cfg.OutboundAddr, &p.ls.Outbound}, {"control", p.cfg.ControlAddr, &p.ls.Control}} {
		if *b.dst != nil || b.name == "control" && p.cfg.TapTokenSHA256 == "" {
			continue
		}
		ln, err := lc.Listen(ctx, "tcp", b.addr)
		if err != nil {
			return fmt.Errorf("proxy: listen %s on %s: %w", b.name, b.addr, err)
		}
		*b.dst = ln
	}
	p.inbound.queue.addr, p.outbound.queue.addr = p.ls.Inbound.Addr(), p.ls.Outbound.Addr()
	// The control port is never a destination either, bound or not: a
	// connection proxied to it would reach the tap server from loopback.
	addrs := []string{p.cfg.ControlAddr}
	for _, ln := range []net.Listener{p.ls.Inbound, p.ls.Outbound, p.ls.Admin, p.ls.Control} {
		if ln != nil {
			addrs = append(addrs, ln.Addr().String())
		}
	}
	for _, a := range addrs {
		if ap, err := netip.ParseAddrPort(a); err == nil {
			p.inbound.ownPorts = append(p.inbound.ownPorts, ap.Port())
			p.outbound.ownPorts = append(p.outbound.ownPorts, ap.Port())
		}
	}
	return nil
}

// awaitIdentity blocks until the TLS provider holds a certificate, when it
// needs one. Until then /ready says why and nothing listens for traffic.
func (p *Proxy) awaitIdentity(ctx context.Context) error {
	w, ok := p.tlsProvider.(Waiter)
	if !ok {
		return nil
	}
	select {
	case <-w.Ready():
		return nil
	default:
	}
	p.readiness.Set("identity", false, "waiting for a certificate from the identity service")
	p.log.Info("waiting for a certificate before listening", "identity", p.tlsProvider.LocalName())
	select {
	case <-w.Ready():
		p.readiness.Set("identity", true, "certificate issued for "+p.tlsProvider.LocalName())
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-p.shutdownCh:
		return context.Canceled
	}
}

// Registry exposes the proxy's metrics registry (for tests and embedding).
func (p *Proxy) Registry() *prometheus.Registry { return p.registry }

// Run serves until ctx is cancelled or /shutdown is called, then drains
// in-flight work for up to the shutdown grace period and returns.
func (p *Proxy) Run(ctx context.Context) error {
	adminSrv := &http.Server{
		Handler:           p.adminHandler(),
		ReadHeaderTimeout: admin.DefaultReadHeaderTimeout,
		ReadTimeout:       admin.DefaultReadTimeout,
		WriteTimeout:      admin.DefaultWriteTimeout,
		IdleTimeout:       admin.DefaultIdleTimeout,
		MaxHeaderBytes:    admin.DefaultMaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(p.log.Handler(), slog.LevelDebug),
	}
	serveCtx, stopServe := context.WithCancel(context.Background())
	defer stopServe()
	errc := make(chan error, 3)
	go func() {
		err := adminSrv.Serve(p.ls.Admin)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		errc <- err
	}()
	if err := p.awaitIdentity(ctx); err != nil {
		p.ls.Close()
		_ = adminSrv.Close()
		p.log.Info("stopped before a certificate was issued")
		return nil
	}
	if err := p.bind(ctx); err != nil {
		p.ls.Close()
		_ = adminSrv.Close()
		return err
	}
	var controlSrv *http.Server
	if p.ls.Control != nil {
		controlSrv = p.controlServer()
		go func() { _ = controlSrv.Serve(p.ls.Control) }()
	}
	go func() { errc <- p.inbound.serve(serveCtx, p.ls.Inbound) }()
	go func() { errc <- p.outbound.serve(serveCtx, p.ls.Outbound) }()
	p.readiness.Set("listeners", true, fmt.Sprintf("inbound %s, outbound %s", p.ls.Inbound.Addr(), p.ls.Outbound.Addr()))
	p.log.Info("proxy ready", "inbound", p.ls.Inbound.Addr().String(), "outbound", p.ls.Outbound.Addr().String(), "admin", p.ls.Admin.Addr().String())
	// What only start-up touched of the executable (every package
	// initialiser: about 30 MiB of an idle proxy's resident set) goes back.
	go memtrim.ReleaseWhenReady(serveCtx, p.readiness.WhenReady(), p.log)
	go p.idle.run(serveCtx)

	var runErr error
	select {
	case <-ctx.Done():
		runErr = p.waitBeforeExit(errc)
	case <-p.shutdownCh:
	case runErr = <-errc:
	}
	p.log.Info("shutting down", "grace_period", p.cfg.ShutdownGracePeriod.String())
	p.readiness.Set("listeners", false, "shutting down")
	p.taps.close()
	if controlSrv != nil {
		_ = controlSrv.Close()
	}
	_ = p.ls.Inbound.Close()
	_ = p.ls.Outbound.Close()
	graceCtx, cancel := context.WithTimeout(context.Background(), p.cfg.ShutdownGracePeriod)
	defer cancel()
	var wg sync.WaitGroup
	for _, s := range []*side{p.inbound, p.outbound} {
		wg.Add(1)
		go func() { defer wg.Done(); s.shutdown(graceCtx) }()
	}
	wg.Wait()
	shutCtx, cancelAdmin := context.WithTimeout(context.Background(), time.Second)
	defer cancelAdmin()
	_ = adminSrv.Shutdown(shutCtx)
	p.log.Info("proxy stopped")
	return runErr
}

// waitBeforeExit keeps serving, fully, for WaitBeforeExit after SIGTERM:
// the time a plain-container proxy gives its application to finish with
// the network before the proxy starts to drain (Linkerd's
// wait-before-exit-seconds, there a preStop sleep). /shutdown, or a
// listener failing, ends the wait early.
func (p *Proxy) waitBeforeExit(errc <-chan error) error {
	if p.cfg.WaitBeforeExit <= 0 {
		return nil
	}
	p.log.Info("signalled to stop; serving on before draining", "wait_before_exit", p.cfg.WaitBeforeExit.String())
	t := time.NewTimer(p.cfg.WaitBeforeExit)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-p.shutdownCh:
		return nil
	case err := <-errc:
		return err
	}
}

// controlServer serves the tap stream on the control port. Streams are
// long-lived, so there is no overall write timeout: each write has its own
// deadline, and the body read its own (tap.go).
func (p *Proxy) controlServer() *http.Server {
	return &http.Server{
		Handler:           p.taps.handler(),
		ReadHeaderTimeout: admin.DefaultReadHeaderTimeout,
		IdleTimeout:       admin.DefaultIdleTimeout,
		MaxHeaderBytes:    admin.DefaultMaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(p.log.Handler(), slog.LevelDebug),
	}
}

func (p *Proxy) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", admin.Handler(p.registry, p.readiness))
	// The effective configuration names the proxy's listeners, targets
	// and policies: loopback only, as Linkerd's /env.json, so that only
	// a port-forward or the pod itself reads it.
	mux.Handle("GET /config", loopbackOnly("the effective configuration", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(p.cfg)
	})))
	mux.HandleFunc("GET /identity", p.serveIdentity)
	p.logLevelHandler(mux)
	mux.HandleFunc("POST /shutdown", func(w http.ResponseWriter, r *http.Request) {
		if !p.cfg.ShutdownEndpoint {
			http.Error(w, "shutdown endpoint disabled", http.StatusNotFound)
			return
		}
		if !fromLoopback(r) {
			http.Error(w, "shutdown is only accepted from loopback", http.StatusForbidden)
			return
		}
		p.shutdownOnce.Do(func() { close(p.shutdownCh) })
		_, _ = w.Write([]byte("shutting down\n"))
	})
	if p.cfg.PprofEndpoint {
		mountPprof(mux)
	}
	return mux
}

func fromLoopback(r *http.Request) bool {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	return err == nil && ap.Addr().Unmap().IsLoopback()
}
