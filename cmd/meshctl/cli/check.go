package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
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
	fix       bool
	dryRun    bool
	yes       bool

	format output.Format
	// renderNote says, when there is something to fix, that the expected
	// state is the default render, not the installed settings.
	renderNote string
	// interactive reports whether the input is a terminal someone can
	// answer on; nil means inputIsTerminal.
	interactive func(io.Reader) bool
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
(warnings do not fail the run).

With --fix, the failures that have a safe, mechanical fix (re-create
deleted RBAC objects, ServiceAccounts or the injector webhook from the
rendered control plane; restart the workloads whose proxies hold a stale
trust root, or whose pods started without the proxy so that the webhook
injects them) are fixed after the run: --dry-run only shows the steps
and what to run by hand, --yes applies them without asking; otherwise
meshctl asks on the terminal and refuses when there is none. Run check
again afterwards to see the result.`,
		Example: `  # Before installing
  meshctl check --pre

  # After installing, waiting up to two minutes for the control plane
  meshctl check --wait 2m

  # Also check the data plane: every meshed pod's proxy, in one namespace
  meshctl check --proxy -n shop

  # Only what did not pass, or everything as JSON
  meshctl check -o short
  meshctl check -o json

  # Show how the failures with a mechanical fix would be fixed, then fix them
  meshctl check --proxy --fix --dry-run
  meshctl check --proxy --fix --yes`,
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
	cmd.Flags().BoolVar(&o.fix, "fix", false, "Fix the failures that have a safe, mechanical fix (asks first unless --yes)")
	cmd.Flags().BoolVar(&o.dryRun, "dry-run", false, "With --fix, only show what would be done")
	cmd.Flags().BoolVar(&o.yes, "yes", false, "With --fix, apply without asking")
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
	if (o.dryRun || o.yes) && !o.fix {
		return usageError(fmt.Errorf("--dry-run and --yes only apply to --fix: add --fix"))
	}
	if o.dryRun && o.yes {
		return usageError(fmt.Errorf("--dry-run and --yes exclude each other: --dry-run applies nothing"))
	}
	if o.fix && f == output.JSON {
		return usageError(fmt.Errorf("--fix shows its steps as text: use -o table or -o short"))
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
	cats := check.Categories(mode)
	summary, err := runChecks(ctx, o.globalOptions, env, cats, o.format, o.wait)
	if err != nil {
		return err
	}
	if o.fix {
		if err := o.runFixes(ctx, env, check.PlanFixes(ctx, env, cats, summary)); err != nil {
			return err
		}
	}
	if !summary.OK() {
		return silentFailure()
	}
	return nil
}

// runCheckCategories runs categories under a --wait deadline and renders
// the results as they come (table or short) or at the end (JSON), with
// retry progress on stderr. A failed run exits 1 without another message.
func runCheckCategories(ctx context.Context, g *globalOptions, env *check.Env, cats []check.Category, format output.Format, wait time.Duration) error {
	summary, err := runChecks(ctx, g, env, cats, format, wait)
	if err != nil {
		return err
	}
	if !summary.OK() {
		return silentFailure()
	}
	return nil
}

// runChecks runs and renders the categories and returns the summary.
func runChecks(ctx context.Context, g *globalOptions, env *check.Env, cats []check.Category, format output.Format, wait time.Duration) (check.Summary, error) {
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
			return summary, err
		}
	} else {
		table.Finish(summary)
	}
	return summary, nil
}

// runFixes shows the plan (stdout: it is the artifact of --dry-run), then
// applies it with --yes or after a "y" on the terminal, reporting each step
// on stderr.
func (o *checkOptions) runFixes(ctx context.Context, env *check.Env, plans []check.FixPlan) error {
	out, errOut := o.streams.Out, o.streams.ErrOut
	fmt.Fprintln(out)
	fmt.Fprintln(out, "Fixes")
	fmt.Fprintln(out, "-----")
	check.WriteFixPlan(out, plans)
	if len(plans) > 0 && o.renderNote != "" {
		fmt.Fprintln(errOut, o.renderNote)
	}
	n := check.Applicable(plans)
	if o.dryRun || n == 0 {
		return nil
	}
	if !o.yes {
		interactive := o.interactive
		if interactive == nil {
			interactive = inputIsTerminal
		}
		if !interactive(o.streams.In) {
			return fmt.Errorf("refusing to apply %d fix step(s) without confirmation: no terminal to ask on; pass --yes to apply them, or --dry-run to only show them", n)
		}
		ok, err := confirm(o.streams.In, errOut, fmt.Sprintf("Apply %d step(s) to the cluster? [y/N] ", n))
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(errOut, "Nothing applied.")
			return nil
		}
	}
	glyphs := output.NewGlyphs(output.ColorEnabled(errOut, o.noColor, o.cfg.getenv))
	failed := check.ApplyFixes(ctx, env, plans, func(a check.Action, err error) {
		if err != nil {
			fmt.Fprintf(errOut, "%s %s\n    %v\n", glyphs.Fail(), a.Description, err)
			return
		}
		fmt.Fprintf(errOut, "%s %s\n", glyphs.OK(), a.Description)
	})
	if failed > 0 {
		return fmt.Errorf("%d fix step(s) failed: see above, fix them by hand with the commands shown, then run `meshctl check` again", failed)
	}
	fmt.Fprintln(errOut, "Applied. Run `meshctl check` again once the restarted pods are ready to see the result.")
	return nil
}

// confirm asks question on w and reads one line from in: only "y" or
// "yes" (any case) is a yes.
func confirm(in io.Reader, w io.Writer, question string) (bool, error) {
	fmt.Fprint(w, question)
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("read the answer: %w", err)
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}

// inputIsTerminal reports whether in is a terminal.
func inputIsTerminal(in io.Reader) bool {
	f, ok := in.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
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
	if err := o.renderControlPlane(ctx, &cp); err != nil {
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

// renderControlPlane renders the control plane the checks compare with.
// With --fix it is what `meshctl upgrade` would apply (the stored values, so
// a re-created object matches the installed settings), when the cluster
// answers; otherwise what `meshctl install` renders by default.
func (o *checkOptions) renderControlPlane(ctx context.Context, w *bytes.Buffer) error {
	if o.fix && !o.pre {
		err := install.Upgrade(ctx, install.Options{Namespace: o.meshNamespace, Cluster: install.KubeCluster{Factory: o.Factory()}}, w)
		if err == nil {
			return nil
		}
		w.Reset()
		o.renderNote = fmt.Sprintf("note: fixes re-create objects with the default settings: the installed ones could not be read (%v)", err)
	}
	return install.Render(ctx, install.Options{Namespace: o.meshNamespace}, w)
}
