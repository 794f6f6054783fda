// Package cli is the cobra command tree of meshctl. It is the only package
// that imports cobra, pflag or viper. Commands parse flags into options
// structs (complete, validate, run) and call the libraries; they hold no
// Kubernetes or business logic of their own.
package cli

import (
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/meshctl/meshctl/pkg/kube"
	"github.com/meshctl/meshctl/pkg/meshapi"
	"github.com/meshctl/meshctl/pkg/output"
)

// Option customises the root command, mainly for tests.
type Option func(*rootConfig)

// WithKubeFactory replaces the kubeconfig-based client factory.
func WithKubeFactory(f kube.Factory) Option {
	return func(c *rootConfig) { c.factory = f }
}

// WithGetenv replaces os.Getenv for decisions meshctl makes itself (colour).
func WithGetenv(getenv func(string) string) Option {
	return func(c *rootConfig) { c.getenv = getenv }
}

// WithClock replaces time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *rootConfig) { c.now = now }
}

type rootConfig struct {
	factory kube.Factory
	getenv  func(string) string
	now     func() time.Time
}

// globalOptions are the root's persistent flags, shared by every command.
type globalOptions struct {
	kube          kube.ConfigFlags
	meshNamespace string
	verbose       bool
	noColor       bool
	configFile    string

	cfg     rootConfig
	streams genericiooptions.IOStreams
	viper   *viper.Viper
	factory kube.Factory
}

// Factory returns the client factory, built on first use from the flags.
func (g *globalOptions) Factory() kube.Factory {
	if g.cfg.factory != nil {
		return g.cfg.factory
	}
	if g.factory == nil {
		g.factory = kube.NewFactory(g.kube)
	}
	return g.factory
}

// Glyphs returns status glyphs for the error stream (reports go there).
func (g *globalOptions) Glyphs() output.Glyphs {
	return output.NewGlyphs(output.ColorEnabled(g.streams.ErrOut, g.noColor, g.cfg.getenv))
}

// Now returns the current time from the configured clock.
func (g *globalOptions) Now() time.Time { return g.cfg.now() }

// NewRootCmd builds the meshctl command tree writing to streams.
func NewRootCmd(streams genericiooptions.IOStreams, opts ...Option) *cobra.Command {
	g := &globalOptions{
		cfg:     rootConfig{getenv: os.Getenv, now: time.Now},
		streams: streams,
		viper:   viper.New(),
	}
	for _, o := range opts {
		o(&g.cfg)
	}

	root := &cobra.Command{
		Use:   "meshctl",
		Short: "Install, operate and inspect the meshctl service mesh",
		Long: `meshctl is a service mesh for Kubernetes in one binary: the CLI, the
control plane and the sidecar proxy.

Install the mesh with:

  meshctl install --crds | kubectl apply -f -
  meshctl install | kubectl apply -f -`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		DisableAutoGenTag: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return applyConfig(g.viper, cmd, g.configFile, g.cfg.getenv)
		},
	}
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })

	pf := root.PersistentFlags()
	pf.StringVar(&g.kube.Kubeconfig, "kubeconfig", "", "Path to the kubeconfig file (default $KUBECONFIG or ~/.kube/config)")
	pf.StringVar(&g.kube.Context, "context", "", "Name of the kubeconfig context to use")
	pf.StringVar(&g.kube.As, "as", "", "Username to impersonate for Kubernetes operations")
	pf.DurationVar(&g.kube.Timeout, "request-timeout", kube.DefaultTimeout, "Timeout of each request to the Kubernetes API")
	pf.StringVar(&g.meshNamespace, "mesh-namespace", meshapi.DefaultNamespace, "Namespace of the meshctl control plane")
	pf.BoolVarP(&g.verbose, "verbose", "v", false, "Print more detail about what meshctl does")
	pf.BoolVar(&g.noColor, "no-color", false, "Never colour the output (also NO_COLOR)")
	pf.StringVar(&g.configFile, "config", "", "Config file (default $XDG_CONFIG_HOME/meshctl/config.yaml)")

	root.AddCommand(
		newVersionCmd(g),
		newIdentityCmd(g),
		newDiagnosticsCmd(g),
		newDocsCmd(g),
		newInstallCmd(g),
		newUpgradeCmd(g),
		newUninstallCmd(g),
		newPruneCmd(g),
		newProxyCmd(g),
		newCheckCmd(g),
		newControllerCmd(g),
		newBenchCmd(g),
		newInjectCmd(g), newUninjectCmd(g),
		newVizCmd(g),
	)
	return root
}
