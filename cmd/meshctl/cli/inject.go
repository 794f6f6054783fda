package cli

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/meshctl/meshctl/inject"
	"github.com/meshctl/meshctl/install"
	"github.com/meshctl/meshctl/pkg/memtrim"
	"github.com/meshctl/meshctl/pkg/output"
	"github.com/meshctl/meshctl/pkg/render"
	"github.com/meshctl/meshctl/pkg/sidecar"
)

type injectOptions struct {
	*globalOptions
	proxy         proxyFlags
	output        string
	manual        bool
	ignoreCluster bool
	diff          bool
	explain       bool
	nativeSidecar bool
	format        output.Format
}

func newInjectCmd(g *globalOptions) *cobra.Command {
	o := &injectOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "inject FILE|DIR|URL|- ...",
		Short: "Add the meshctl proxy to Kubernetes workloads in YAML or JSON",
		Long: `Read Kubernetes manifests from files, directories (walked in sorted
order: .yaml, .yml and .json files), https:// URLs or - for stdin, and write
them to stdout with every workload meshed: Deployment, StatefulSet,
DaemonSet, ReplicaSet, ReplicationController, Job, CronJob and Pod.
Namespaces get the inject annotation; Services get opaque ports only with
--opaque-ports; everything else passes through unchanged. A report follows
on stderr.

By default the pod templates get the annotation meshctl.io/inject: enabled,
plus config.meshctl.io/* annotations for proxy flags that differ from the
installed configuration; the injector webhook adds the proxy when the pods
are created. --manual writes the full proxy spec instead.

Comments, key order and quoting survive; documents inject does not change
are copied byte for byte; running inject twice gives the same output. A
workload that cannot be meshed (hostNetwork, another mesh's sidecar,
automountServiceAccountToken: false without a projected token) fails the
whole run: exit 1 and nothing on stdout.`,
		Example: `  # Mesh a deployment and apply it
  meshctl inject deployment.yaml | kubectl apply -f -

  # Mesh what is running in a namespace
  kubectl get deploy -n shop -o yaml | meshctl inject - | kubectl apply -f -

  # See what would change, and why
  meshctl inject --diff app/
  meshctl inject --explain -o json app.yaml

  # Write the whole proxy spec, without asking the cluster
  meshctl inject --manual --ignore-cluster app.yaml`,
		Args: func(cmd *cobra.Command, args []string) error { return asUsage(cobra.MinimumNArgs(1)(cmd, args)) },
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.validate(cmd); err != nil {
				return usageError(err)
			}
			opts, err := o.complete(cmd)
			if err != nil {
				return inputError(err)
			}
			return o.run(cmd, args, opts)
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&o.output, "output", "o", "yaml", "Output format: yaml or json")
	fs.BoolVar(&o.manual, "manual", false, "Write the full proxy spec instead of the inject annotation")
	fs.BoolVar(&o.ignoreCluster, "ignore-cluster", false, "Use the default configuration instead of reading the installed one")
	fs.BoolVar(&o.diff, "diff", false, "Print a unified diff of what would change instead of the result")
	fs.BoolVar(&o.explain, "explain", false, "Print each resource's decision and reasons instead of the result (with -o json)")
	fs.BoolVar(&o.nativeSidecar, "native-sidecar", true, "Run the proxy as a native sidecar (an init container with restartPolicy Always)")
	o.proxy.addFlags(fs)
	return cmd
}

func (o *injectOptions) validate(cmd *cobra.Command) error {
	f, err := output.ParseFormat(o.output, output.YAML, output.JSON)
	if err != nil {
		return err
	}
	o.format = f
	if o.diff && o.explain {
		return errors.New("--diff and --explain do not go together: pick one")
	}
	if o.diff && f == output.JSON {
		return errors.New("--diff compares YAML: drop -o json")
	}
	if o.explain && f != output.JSON {
		return errors.New("--explain prints JSON: add -o json")
	}
	fs := cmd.Flags()
	for _, name := range []string{"skip-inbound-ports", "skip-outbound-ports", "opaque-ports"} {
		if v, _ := fs.GetStringSlice(name); fs.Changed(name) {
			if err := sidecar.ValidatePortList(joinComma(v)); err != nil {
				return fmt.Errorf("invalid --%s: %w", name, err)
			}
		}
	}
	return o.proxy.validate(fs)
}

// complete reads the installed configuration and applies the flags.
func (o *injectOptions) complete(cmd *cobra.Command) (inject.Options, error) {
	var cluster inject.Cluster
	if !o.ignoreCluster {
		cluster = install.KubeCluster{Factory: o.Factory()}
	}
	installed, err := inject.InstalledValues(cmd.Context(), cluster, o.meshNamespace, nil)
	if err != nil {
		return inject.Options{}, err
	}
	desired := sidecar.CloneValues(installed)
	fs := cmd.Flags()
	for _, ov := range o.proxy.overrides(fs) {
		if err := sidecar.SetValue(desired, ov.path, jsonNumber(ov.value)); err != nil {
			return inject.Options{}, err
		}
	}
	if fs.Changed("native-sidecar") {
		if err := sidecar.SetValue(desired, "proxy.nativeSidecar", o.nativeSidecar); err != nil {
			return inject.Options{}, err
		}
	}
	opts := inject.Options{
		Manual:        o.manual,
		Values:        desired,
		Installed:     installed,
		Output:        o.format,
		MeshNamespace: o.meshNamespace,
		Injector:      sidecar.New(sidecar.Options{MeshNamespace: o.meshNamespace, Render: render.Contents}),
	}
	if fs.Changed("opaque-ports") {
		opts.ServiceOpaquePorts = joinComma(o.proxy.opaquePorts)
	}
	return opts, nil
}

func (o *injectOptions) run(cmd *cobra.Command, args []string, opts inject.Options) error {
	srcs, err := inject.ReadInputs(cmd.Context(), args, inject.ReadOptions{Stdin: o.streams.In})
	if err != nil {
		return inputError(err)
	}
	return o.transform(srcs, opts, false)
}

// transform injects (or uninjects) srcs and prints the result, or its diff
// or explanation, and then the report. The plain result is streamed: a
// large manifest is neither held nor copied in memory.
func (o *injectOptions) transform(srcs []inject.Source, opts inject.Options, uninject bool) error {
	// What start-up alone touched of the executable (every package's
	// initialiser: about 35 MB) need not stay resident while a large
	// manifest is processed. Released after the inputs are read, not
	// before: measured, that leaves fewer pages of the runtime's tables
	// faulted back during the transform (16 MB against 28 MB).
	_, _ = memtrim.ReleaseExecutablePages()
	var res *inject.Result
	var err error
	switch {
	case o.diff:
		if res, err = inject.Run(srcs, opts); err != nil {
			return inputError(err)
		}
		var out bytes.Buffer
		if err := inject.WriteDiff(&out, res, "input", "output"); err != nil {
			return err
		}
		if _, err := out.WriteTo(o.streams.Out); err != nil {
			return err
		}
	case o.explain:
		if res, err = inject.Explain(srcs, opts); err != nil {
			return inputError(err)
		}
		var out bytes.Buffer
		if err := inject.WriteExplain(&out, res); err != nil {
			return err
		}
		_, err := out.WriteTo(o.streams.Out)
		return err
	default:
		defer limitHeap(srcs, o.cfg.getenv)()
		if res, err = inject.Stream(srcs, opts, o.streams.Out); err != nil {
			return inputError(err)
		}
	}
	return inject.WriteReport(o.streams.ErrOut, res, inject.ReportOptions{Verbose: o.verbose, Glyphs: o.Glyphs(), Uninject: uninject})
}

// jsonNumber turns flag ints into the float64 a parsed values tree holds.
func jsonNumber(v any) any {
	switch n := v.(type) {
	case int:
		return float64(n)
	case int64:
		return float64(n)
	}
	return v
}

func joinComma(v []string) string { return strings.Join(v, ",") }
