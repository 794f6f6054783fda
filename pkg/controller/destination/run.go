package destination

import (
	"context"
	"fmt"

	"github.com/meshctl/meshctl/pkg/controller"
	"github.com/meshctl/meshctl/pkg/meshapi"
)

// Config configures the destination controller. The zero value is usable.
type Config struct {
	// Config holds the settings every component shares.
	controller.Config
}

// Deps are the destination controller's collaborators; see controller.Deps.
type Deps = controller.Deps

// Spec describes the destination controller: what it will do and what this build
// does.
func Spec() controller.Spec {
	return controller.Spec{
		Component: meshapi.ComponentDestination,
		Capabilities: []controller.Capability{{
			Name:        "endpoint-discovery",
			Description: fmt.Sprintf("endpoint and route discovery (gRPC :%d)", meshapi.DestinationGRPCPort),
			Pending:     "no issue yet",
		}},
	}
}

// Run runs the destination controller until ctx is cancelled and returns nil after
// a clean shutdown.
func Run(ctx context.Context, cfg Config, deps Deps) error {
	return controller.Serve(ctx, Spec(), cfg.Config, deps)
}
