package injector

import (
	"context"
	"fmt"

	"github.com/meshctl/meshctl/pkg/controller"
	"github.com/meshctl/meshctl/pkg/meshapi"
)

// Config configures the injector controller. The zero value is usable.
type Config struct {
	// Config holds the settings every component shares.
	controller.Config
}

// Deps are the injector controller's collaborators; see controller.Deps.
type Deps = controller.Deps

// Spec describes the injector controller: what it will do and what this build
// does.
func Spec() controller.Spec {
	return controller.Spec{
		Component: meshapi.ComponentInjector,
		Capabilities: []controller.Capability{{
			Name:        "proxy-injection",
			Description: fmt.Sprintf("proxy injection webhook (TLS :%d)", meshapi.InjectorWebhookPort),
			Pending:     "issue 3",
		}},
	}
}

// Run runs the injector controller until ctx is cancelled and returns nil after
// a clean shutdown.
func Run(ctx context.Context, cfg Config, deps Deps) error {
	return controller.Serve(ctx, Spec(), cfg.Config, deps)
}
