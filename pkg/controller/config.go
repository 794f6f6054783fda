package controller

import (
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshctl/meshctl/pkg/admin"
	"github.com/meshctl/meshctl/pkg/kube"
	"github.com/meshctl/meshctl/pkg/meshapi"
)

// DefaultShutdownTimeout bounds the graceful shutdown of the admin server.
const DefaultShutdownTimeout = 10 * time.Second

// DefaultAdminAddr is the admin server's listen address, port
// meshapi.ControllerAdminPort on every interface (probes come from the
// kubelet).
func DefaultAdminAddr() string {
	return net.JoinHostPort("", strconv.Itoa(meshapi.ControllerAdminPort))
}

// Config is the configuration every component shares. The zero value is
// usable: every field has a documented default.
type Config struct {
	// AdminAddr is the admin server's listen address; empty means
	// DefaultAdminAddr(). Ignored when Deps.AdminListener is set.
	AdminAddr string
	// MeshNamespace is the control plane's namespace; empty means
	// meshapi.DefaultNamespace.
	MeshNamespace string
	// ShutdownTimeout bounds the graceful shutdown after ctx is cancelled;
	// zero means DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
}

func (c Config) withDefaults() Config {
	if c.AdminAddr == "" {
		c.AdminAddr = DefaultAdminAddr()
	}
	if c.MeshNamespace == "" {
		c.MeshNamespace = meshapi.DefaultNamespace
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	return c
}

func (c Config) validate() error {
	if c.ShutdownTimeout < 0 {
		return fmt.Errorf("shutdown timeout %s is negative", c.ShutdownTimeout)
	}
	return nil
}

// Deps are a component's collaborators. The zero value is usable.
type Deps struct {
	// Logger receives the component's structured logs; nil discards them.
	Logger *slog.Logger
	// Registry receives the component's metrics and is what /metrics
	// serves; nil means a fresh admin.NewRegistry() (process and Go
	// collectors included). It must be per process, never the global
	// default registry.
	Registry *prometheus.Registry
	// AdminListener, when set, is used instead of listening on
	// Config.AdminAddr (tests pass a listener on a free port). Serve
	// closes it.
	AdminListener net.Listener
	// Kube gives access to the cluster; components that need it say so.
	Kube kube.Factory
	// Readiness, when set, is the /ready state Serve reports, so a
	// component can add its own conditions (identity: an issuer loaded);
	// nil means a fresh one with only the admin condition.
	Readiness *admin.Readiness
}
