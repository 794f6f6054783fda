package identity

import (
	"context"
	"fmt"

	"github.com/meshctl/meshctl/pkg/controller"
	"github.com/meshctl/meshctl/pkg/meshapi"
)

// Config configures the identity controller. The zero value is usable.
type Config struct {
	// Config holds the settings every component shares.
	controller.Config
}

// Deps are the identity controller's collaborators; see controller.Deps.
type Deps = controller.Deps

// Spec describes the identity controller: what it will do and what this build
// does.
func Spec() controller.Spec {
	return controller.Spec{
		Component: meshapi.ComponentIdentity,
		Capabilities: []controller.Capability{{
			Name:        "certificate-signing",
			Description: fmt.Sprintf("certificate signing (gRPC :%d)", meshapi.IdentityGRPCPort),
			Pending:     "issue 5",
		}},
	}
}

// Run runs the identity controller until ctx is cancelled and returns nil after
// a clean shutdown.
func Run(ctx context.Context, cfg Config, deps Deps) error {
	return controller.Serve(ctx, Spec(), cfg.Config, deps)
}
