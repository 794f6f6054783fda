package policy

import (
	"context"
	"fmt"

	"github.com/meshctl/meshctl/pkg/controller"
	"github.com/meshctl/meshctl/pkg/meshapi"
)

// Config configures the policy controller. The zero value is usable.
type Config struct {
	// Config holds the settings every component shares.
	controller.Config
}

// Deps are the policy controller's collaborators; see controller.Deps.
type Deps = controller.Deps

// Spec describes the policy controller: what it will do and what this build
// does.
func Spec() controller.Spec {
	return controller.Spec{
		Component: meshapi.ComponentPolicy,
		Capabilities: []controller.Capability{{
			Name:        "policy-discovery",
			Description: fmt.Sprintf("inbound policy discovery (gRPC :%d)", meshapi.PolicyGRPCPort),
			Pending:     "no issue yet",
		}},
	}
}

// Run runs the policy controller until ctx is cancelled and returns nil after
// a clean shutdown.
func Run(ctx context.Context, cfg Config, deps Deps) error {
	return controller.Serve(ctx, Spec(), cfg.Config, deps)
}
