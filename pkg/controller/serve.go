package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshctl/meshctl/pkg/admin"
	"github.com/meshctl/meshctl/pkg/memtrim"
	"github.com/meshctl/meshctl/pkg/version"
)

// ReadyAdmin is the readiness condition met once the admin server listens.
const ReadyAdmin = "admin"

// Serve runs the component described by spec until ctx is cancelled: it
// binds and serves the admin server, reports missing capabilities, and
// shuts down gracefully. It returns nil after a clean shutdown.
func Serve(ctx context.Context, spec Spec, cfg Config, deps Deps) error {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return fmt.Errorf("%s: %w", spec.Component, err)
	}
	ln := deps.AdminListener
	if ln == nil {
		var err error
		ln, err = (&net.ListenConfig{}).Listen(ctx, "tcp", cfg.AdminAddr)
		if err != nil {
			return fmt.Errorf("%s: admin server: %w", spec.Component, err)
		}
	}
	serving := false
	defer func() {
		if !serving {
			_ = ln.Close()
		}
	}()

	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", spec.Component)
	reg := deps.Registry
	if reg == nil {
		reg = admin.NewRegistry()
	}
	if err := registerBuildInfo(reg, spec.Component); err != nil {
		return fmt.Errorf("%s: %w", spec.Component, err)
	}
	if err := registerCapabilities(reg, spec); err != nil {
		return fmt.Errorf("%s: %w", spec.Component, err)
	}

	ready := deps.Readiness
	if ready == nil {
		ready = &admin.Readiness{}
	}
	ready.Set(ReadyAdmin, false, "admin server not listening yet")
	for _, c := range spec.Capabilities {
		if msg := c.Missing(spec.Component); msg != "" {
			ready.Notice(c.Name, msg)
			log.Warn(msg, "capability", c.Name)
		}
	}

	srv := admin.New(admin.Config{Gatherer: reg, Readiness: ready, Logger: log})
	served := make(chan error, 1)
	serving = true
	go func() { served <- srv.Serve(ln) }()
	ready.Set(ReadyAdmin, true, "listening on "+ln.Addr().String())
	// Once the component is ready (caches synced, issuer loaded), the
	// executable's pages that only start-up touched (every package
	// initialiser: about 30 MiB) leave the resident set.
	go memtrim.ReleaseWhenReady(ctx, ready.WhenReady(), log)
	log.Info("controller started",
		"version", version.Version(),
		"admin_addr", ln.Addr().String(),
		"mesh_namespace", cfg.MeshNamespace)

	select {
	case err := <-served:
		// The server stopped on its own: that is a failure.
		if err == nil {
			err = errors.New("admin server stopped unexpectedly")
		}
		return fmt.Errorf("%s: %w", spec.Component, err)
	case <-ctx.Done():
	}

	log.Info("shutting down", "reason", context.Cause(ctx).Error(), "timeout", cfg.ShutdownTimeout.String())
	ready.Set(ReadyAdmin, false, "shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	shutdownErr := srv.Shutdown(sctx)
	if err := <-served; err != nil && shutdownErr == nil {
		shutdownErr = err
	}
	if shutdownErr != nil {
		return fmt.Errorf("%s: %w", spec.Component, shutdownErr)
	}
	log.Info("controller stopped")
	return nil
}

// registerBuildInfo exposes meshctl_controller_info{component, version} 1.
func registerBuildInfo(reg prometheus.Registerer, component string) error {
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "meshctl_controller_info",
		Help:        "Build of the control-plane component; the value is always 1.",
		ConstLabels: prometheus.Labels{"component": component, "version": version.Version()},
	})
	info.Set(1)
	if err := reg.Register(info); err != nil {
		return fmt.Errorf("register meshctl_controller_info: %w", err)
	}
	return nil
}
