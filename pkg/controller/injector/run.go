package injector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/meshctl/meshctl/pkg/controller"
	"github.com/meshctl/meshctl/pkg/meshapi"
	"github.com/meshctl/meshctl/pkg/render"
	"github.com/meshctl/meshctl/pkg/sidecar"
)

// DefaultTLSDir is where the injector's Deployment mounts Secret
// meshctl-proxy-injector-tls.
const DefaultTLSDir = "/var/run/meshctl/injector-tls"

// Config configures the injector controller.
type Config struct {
	// Config holds the settings every component shares.
	controller.Config
	// WebhookAddr is the webhook's listen address; empty means
	// :meshapi.InjectorWebhookPort.
	WebhookAddr string
	// WebhookListener, when set, is used instead of listening on
	// WebhookAddr (tests). Run closes it.
	WebhookListener net.Listener
	// TLSDir holds tls.crt and tls.key; empty means DefaultTLSDir.
	TLSDir string
	// MaxBodyBytes bounds request bodies; zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// ValuesRefresh is how often the mesh values are re-read; zero means
	// 30 s.
	ValuesRefresh time.Duration
}

// Deps are the injector controller's collaborators; see controller.Deps.
// Kube is required.
type Deps = controller.Deps

// Spec describes the injector controller.
func Spec() controller.Spec {
	return controller.Spec{
		Component: meshapi.ComponentInjector,
		Capabilities: []controller.Capability{{
			Name:        "proxy-injection",
			Description: fmt.Sprintf("proxy injection webhook (TLS :%d)", meshapi.InjectorWebhookPort),
			Implemented: true,
		}},
	}
}

// Run serves the webhook and the admin endpoints until ctx is cancelled and
// returns nil after a clean shutdown.
func Run(ctx context.Context, cfg Config, deps Deps) error {
	if cfg.MeshNamespace == "" {
		cfg.MeshNamespace = meshapi.DefaultNamespace
	}
	if cfg.TLSDir == "" {
		cfg.TLSDir = DefaultTLSDir
	}
	if cfg.WebhookAddr == "" {
		cfg.WebhookAddr = net.JoinHostPort("", strconv.Itoa(meshapi.InjectorWebhookPort))
	}
	if cfg.ValuesRefresh <= 0 {
		cfg.ValuesRefresh = 30 * time.Second
	}
	deps, log, cs, err := deps.Prepare(meshapi.ComponentInjector)
	if err != nil {
		return err
	}
	certs, err := newCertReloader(cfg.TLSDir)
	if err != nil {
		return fmt.Errorf("injector: %w (mount Secret %s there)", err, meshapi.InjectorTLSSecretName)
	}
	vals := &valueSource{client: cs, namespace: cfg.MeshNamespace}
	if err := vals.load(ctx); err != nil {
		return fmt.Errorf("injector: %w", err)
	}
	namespaces, err := startNamespaceWatch(ctx, cs, time.Minute)
	if err != nil {
		return fmt.Errorf("injector: %w", err)
	}
	defer namespaces.Stop()
	m, err := newMetrics(deps.Registry)
	if err != nil {
		return fmt.Errorf("injector: %w", err)
	}
	h, err := NewWebhook(WebhookOptions{
		Injector:     sidecar.New(sidecar.Options{MeshNamespace: cfg.MeshNamespace, Render: render.Contents}),
		Values:       vals.current,
		Namespaces:   namespaces.Annotations,
		Events:       newKubeEvents(cs),
		Logger:       log,
		MaxBodyBytes: cfg.MaxBodyBytes,
		metrics:      m,
	})
	if err != nil {
		return err
	}
	ln := cfg.WebhookListener
	if ln == nil {
		if ln, err = (&net.ListenConfig{}).Listen(ctx, "tcp", cfg.WebhookAddr); err != nil {
			return fmt.Errorf("injector: webhook: %w", err)
		}
	}
	srv := &http.Server{
		Handler:           h,
		TLSConfig:         tlsConfig(certs),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	served := make(chan error, 1)
	go func() { served <- srv.ServeTLS(ln, "", "") }()
	go vals.refresh(ctx, cfg.ValuesRefresh, log)
	log.Info("webhook listening", "addr", ln.Addr().String(), "tls_dir", cfg.TLSDir)

	err = controller.Serve(ctx, Spec(), cfg.Config, deps)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if serr := srv.Shutdown(sctx); serr != nil && err == nil {
		err = fmt.Errorf("injector: webhook shutdown: %w", serr)
	}
	if werr := <-served; werr != nil && !errors.Is(werr, http.ErrServerClosed) && err == nil {
		err = fmt.Errorf("injector: webhook: %w", werr)
	}
	return err
}
