package cli

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/meshctl/meshctl/pkg/controller"
	"github.com/meshctl/meshctl/pkg/controller/destination"
	"github.com/meshctl/meshctl/pkg/controller/identity"
	"github.com/meshctl/meshctl/pkg/controller/injector"
	"github.com/meshctl/meshctl/pkg/controller/policy"
	"github.com/meshctl/meshctl/pkg/logging"
	"github.com/meshctl/meshctl/pkg/meshapi"
)

// controllerOptions are the flags every `meshctl controller <name>` shares.
type controllerOptions struct {
	*globalOptions
	adminAddr       string
	logLevel        string
	logFormat       string
	shutdownTimeout time.Duration
}

// controllerRun starts one component with its shared configuration.
type controllerRun func(ctx context.Context, cfg controller.Config, deps controller.Deps) error

func newControllerCmd(g *globalOptions) *cobra.Command {
	o := &controllerOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "controller COMPONENT",
		Short: "Run a control-plane component",
		Long: `Run one component of the meshctl control plane. The control-plane
Deployments run these commands; there is little reason to run them by hand.

Each component serves /metrics, /ready and /live on its admin address and
stops cleanly on SIGTERM. Of the components' own work this build
implements the injector webhook; the others say so in their logs, in the
/ready body and in the meshctl_controller_capabilities metric, and do not
open their port.`,
		Example: `  # Run the identity controller with JSON logs
  meshctl controller identity --log-format json

  # Check what a running component does not do yet
  curl -s localhost:9990/ready`,
		Args: cobra.ArbitraryArgs,
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError(fmt.Errorf("a component is required: %s", strings.Join(meshapi.Components(), ", ")))
			}
			return usageError(fmt.Errorf("unknown component %q (want one of %s)", args[0], strings.Join(meshapi.Components(), ", ")))
		},
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&o.adminAddr, "admin-addr", controller.DefaultAdminAddr(), "Address of the admin server (/metrics, /ready, /live)")
	pf.StringVar(&o.logLevel, "log-level", logging.LevelInfo, "Log level: "+strings.Join(logging.Levels(), ", "))
	pf.StringVar(&o.logFormat, "log-format", logging.FormatPlain, "Log format: "+strings.Join(logging.Formats(), " or "))
	pf.DurationVar(&o.shutdownTimeout, "shutdown-timeout", controller.DefaultShutdownTimeout, "How long to wait for in-flight admin requests on shutdown")

	cmd.AddCommand(
		o.newComponentCmd(meshapi.ComponentIdentity, "Run the identity controller (certificate signing for proxies)", func(ctx context.Context, c controller.Config, d controller.Deps) error {
			cfg, err := identity.FromEnv(identity.Config{Config: c}, os.Getenv)
			if err != nil {
				return usageError(fmt.Errorf("identity controller: %w", err))
			}
			return identity.Run(ctx, cfg, d)
		}),
		o.newComponentCmd(meshapi.ComponentDestination, "Run the destination controller (endpoint and identity discovery for proxies)", func(ctx context.Context, c controller.Config, d controller.Deps) error {
			cfg, err := destination.FromEnv(destination.Config{Config: c}, os.Getenv)
			if err != nil {
				return usageError(fmt.Errorf("destination controller: %w", err))
			}
			return destination.Run(ctx, cfg, d)
		}),
		o.newComponentCmd(meshapi.ComponentPolicy, "Run the policy controller (admin only for now)", func(ctx context.Context, c controller.Config, d controller.Deps) error {
			return policy.Run(ctx, policy.Config{Config: c}, d)
		}),
		o.newComponentCmd(meshapi.ComponentInjector, "Run the proxy injector webhook", func(ctx context.Context, c controller.Config, d controller.Deps) error {
			return injector.Run(ctx, injector.Config{Config: c}, d)
		}),
	)
	return cmd
}

func (o *controllerOptions) newComponentCmd(name, short string, run controllerRun) *cobra.Command {
	return &cobra.Command{
		Use:     name,
		Short:   short,
		Example: fmt.Sprintf("  meshctl controller %s --admin-addr :%d --log-level debug", name, meshapi.ControllerAdminPort),
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			deps, err := o.complete()
			if err != nil {
				return err
			}
			return run(cmd.Context(), o.config(), deps)
		},
	}
}

// complete builds the logger (rejecting bad --log-* values as usage
// errors) and the component's dependencies. Logs go to the error stream.
func (o *controllerOptions) complete() (controller.Deps, error) {
	log, err := logging.New(o.streams.ErrOut, logging.Options{Level: o.logLevel, Format: o.logFormat})
	if err != nil {
		return controller.Deps{}, usageError(err)
	}
	if o.shutdownTimeout < 0 {
		return controller.Deps{}, usageError(fmt.Errorf("--shutdown-timeout %s is negative", o.shutdownTimeout))
	}
	return controller.Deps{Logger: log, Kube: o.Factory()}, nil
}

func (o *controllerOptions) config() controller.Config {
	return controller.Config{
		AdminAddr:       o.adminAddr,
		MeshNamespace:   o.meshNamespace,
		ShutdownTimeout: o.shutdownTimeout,
	}
}
