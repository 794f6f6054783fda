package cli

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/meshctl/meshctl/check"
	"github.com/meshctl/meshctl/install"
	"github.com/meshctl/meshctl/pkg/output"
	"github.com/meshctl/meshctl/pkg/version"
)

type checkOptions struct {
	*globalOptions
	pre       bool
	proxy     bool
	namespace string
	wait      time.Duration
	output    string

	format output.Format
}

func newCheckCmd(g *globalOptions) *cobra.Command {
	o := &checkOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Check that the cluster is ready for the mesh, or that the mesh is healthy",
		Long: `Check the cluster before install (--pre) or the installed control plane.

Every check has a stable code (MESH101, ...); a failed check prints what is
wrong and what to do, with a link into docs/checks.md. Checks that wait for
something (pods becoming ready) are retried until --wait, and say what they
are waiting for. The exit code is 1 when any check fails, 0 otherwise
(warnings do not fail the run).`,
		Example: `  # Before installing
  meshctl check --pre

  # After installing, waiting up to two minutes for the control plane
  meshctl check --wait 2m

  # Also check the data plane: every meshed pod's proxy, in one namespace
  meshctl check --proxy -n shop

  # Only what did not pass, or everything as JSON
  meshctl check -o short
  meshctl check -o json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	cmd.Flags().BoolVar(&o.pre, "pre", false, "Check that the cluster is ready for install")
	cmd.Flags().BoolVar(&o.proxy, "proxy", false, "Also check the data-plane proxies")
	cmd.Flags().StringVarP(&o.namespace, "namespace", "n", "", "Namespace of the data plane to check with --proxy (default all)")
	cmd.Flags().DurationVar(&o.wait, "wait", 5*time.Minute, "How long retried checks may wait, and the bound of the whole run")
	cmd.Flags().StringVarP(&o.output, "output", "o", "table", "Output format: table, short or json")
	return cmd
}

func (o *checkOptions) validate() error {
	f, err := output.ParseFormat(o.output, output.Table, output.Short, output.JSON)
	if err != nil {
		return usageError(err)
	}
	if o.pre && o.proxy {
		return usageError(fmt.Errorf("--pre and --proxy exclude each other: --pre checks a cluster without the mesh"))
	}
	if o.namespace != "" && !o.proxy {
		return usageError(fmt.Errorf("--namespace selects the data plane checked by --proxy: add --proxy"))
	}
	if o.wait <= 0 {
		return usageError(fmt.Errorf("--wait %s must be positive", o.wait))
	}
	o.format = f
	return nil
}

func (o *checkOptions) run(ctx context.Context) error {
	env, err := o.env(ctx)
	if err != nil {
		return err
	}
	mode := check.ModePost
	switch {
	case o.pre:
		mode = check.ModePre
	case o.proxy:
		mode = check.ModeProxy
	}
	return runCheckCategories(ctx, o.globalOptions, env, check.Categories(mode), o.format, o.wait)
}

// runCheckCategories runs categories under a --wait deadline and renders
// the results as they come (table or short) or at the end (JSON), with
// retry progress on stderr. A failed run exits 1 without another message.
func runCheckCategories(ctx context.Context, g *globalOptions, env *check.Env, cats []check.Category, format output.Format, wait time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()

	table := &check.TableWriter{W: g.streams.Out, Glyphs: output.NewGlyphs(output.ColorEnabled(g.streams.Out, g.noColor, g.cfg.getenv)), Short: format == output.Short}
	progress := newCheckProgress(g.streams.ErrOut, output.ColorEnabled(g.streams.ErrOut, g.noColor, g.cfg.getenv), g.Now)
	runner := check.Runner{Observer: func(r check.Result) {
		if r.Status == check.StatusRetrying {
			progress.retrying(r)
			return
		}
		progress.clear()
		if format != output.JSON {
			table.Observe(r)
		}
	}}
	summary := runner.Run(ctx, env, cats)
	progress.clear()
	if format == output.JSON {
		if err := check.WriteJSON(g.streams.Out, summary); err != nil {
			return err
		}
	} else {
		table.Finish(summary)
	}
	if !summary.OK() {
		return silentFailure()
	}
	return nil
}

// env gathers what the checks read: clients and the manifests install
// would render, which name the objects to look for.
func (o *checkOptions) env(ctx context.Context) (*check.Env, error) {
	env := &check.Env{
		Namespace:   o.meshNamespace,
		CLIVersion:  version.Version(),
		Now:         o.Now,
		CallTimeout: o.kube.Timeout,

		DataPlaneNamespace: o.namespace,
	}
	f := o.Factory()
	if cs, err := f.Kubernetes(); err != nil {
		env.KubeErr = err
	} else {
		env.Kube = cs
	}
	if dc, err := f.Dynamic(); err == nil {
		env.Dynamic = dc
	}
	var crds, cp bytes.Buffer
	if err := install.Render(ctx, install.Options{CRDs: true, Namespace: o.meshNamespace}, &crds); err != nil {
		return nil, fmt.Errorf("render the expected CRDs: %w", err)
	}
	if err := install.Render(ctx, install.Options{Namespace: o.meshNamespace}, &cp); err != nil {
		return nil, fmt.Errorf("render the expected control plane: %w", err)
	}
	var err error
	if env.CRDManifest, err = check.ParseManifest(crds.Bytes()); err != nil {
		return nil, err
	}
	if env.Manifest, err = check.ParseManifest(cp.Bytes()); err != nil {
		return nil, err
	}
	return env, nil
}
