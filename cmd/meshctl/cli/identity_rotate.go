package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/meshctl/meshctl/install"
)

type identityRotateOptions struct {
	*globalOptions
	kind      install.RotateKind
	stage     int
	dryRun    bool
	outputDir string
	rootCert  string
	rootKey   string
}

func newIdentityRotateCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rotate anchors|issuer",
		Short: "Walk a staged rotation of the trust anchors or the identity issuer",
		Long: `Rotate the mesh's trust anchors or its identity issuer without downtime,
one stage at a time. Each run reads the trust roots, the issuer and any staged
issuer from the cluster, works out the next stage, prints its manifest on
stdout for kubectl apply and, on stderr, what it changes, what to run before
the next stage and the command of the next stage. Nothing is applied for you.
See docs/identity-rotation.md.`,
		Example: `  # The plan of an anchor rotation, and where the cluster stands
  meshctl identity rotate anchors --dry-run

  # The next stage of the anchor rotation
  meshctl identity rotate anchors | kubectl apply -f -`,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error {
			return usageError(errors.New("say what to rotate: meshctl identity rotate anchors, or meshctl identity rotate issuer"))
		},
	}
	cmd.AddCommand(newIdentityRotateAnchorsCmd(g), newIdentityRotateIssuerCmd(g))
	return cmd
}

func newIdentityRotateAnchorsCmd(g *globalOptions) *cobra.Command {
	o := &identityRotateOptions{globalOptions: g, kind: install.RotateAnchors}
	cmd := &cobra.Command{
		Use:   "anchors",
		Short: "Replace the trust anchor in three stages: bundle, switch the issuer, drop the old anchor",
		Long: `Replace the trust anchor in three stages, one run of this command each:

  1. generate a new anchor and an issuer signed by it; trust old and new
     anchors (ConfigMaps meshctl-identity-trust-roots and meshctl-config) and
     stage the new issuer (Secret meshctl-identity-issuer-next);
  2. once every proxy trusts both anchors: switch Secret
     meshctl-identity-issuer to the staged issuer;
  3. once every proxy has a certificate from the new issuer: drop the old
     anchor.

The stage is detected from the cluster; --stage forces one (a stage that
would make the identity controller refuse the issuer is still refused).
--output-dir keeps the new anchor's key, needed to rotate the issuer later;
without it the key is discarded, as install does. --dry-run prints the plan of
every stage without generating keys.`,
		Example: `  # The plan, and where the cluster stands
  meshctl identity rotate anchors --dry-run

  # Stage 1, keeping the new anchor's key
  meshctl identity rotate anchors --output-dir ./anchor-2026 | kubectl apply -f -

  # Stages 2 and 3, after the checks the previous stage printed
  meshctl identity rotate anchors | kubectl apply -f -`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.stage, "stage", 0, "Stage to print (1-3); default: the next stage, detected from the cluster")
	f.BoolVar(&o.dryRun, "dry-run", false, "Print the plan of every stage without generating keys")
	f.StringVar(&o.outputDir, "output-dir", "", "Directory (created, mode 0700) to write the new anchor's and issuer's certificates and keys to")
	return cmd
}

func newIdentityRotateIssuerCmd(g *globalOptions) *cobra.Command {
	o := &identityRotateOptions{globalOptions: g, kind: install.RotateIssuer}
	cmd := &cobra.Command{
		Use:   "issuer",
		Short: "Replace the identity issuer with a new one signed by a trust anchor",
		Long: `Sign a new identity issuer with a trust anchor of the mesh and print Secret
meshctl-identity-issuer for kubectl apply. The identity controller picks it up
without a restart; the new issuer is checked to chain to the cluster's trust
anchors first, so the controller will not refuse it.

install does not keep the trust anchor's key: pass it with --root-cert and
--root-key (the files of meshctl identity rotate anchors --output-dir, or your
own). Without the key, rotate the anchors instead.`,
		Example: `  # A new issuer from the anchor kept by rotate anchors --output-dir
  meshctl identity rotate issuer --root-cert anchor-2026/root.crt --root-key anchor-2026/root.key | kubectl apply -f -`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.rootCert, "root-cert", "", "PEM file of the trust anchor that signs the new issuer")
	f.StringVar(&o.rootKey, "root-key", "", "PEM file of that trust anchor's private key")
	f.BoolVar(&o.dryRun, "dry-run", false, "Print the plan without generating keys")
	return cmd
}

func (o *identityRotateOptions) validate() error {
	if o.stage < 0 || o.stage > install.AnchorStages {
		return usageError(fmt.Errorf("--stage %d: an anchor rotation has stages 1 to %d", o.stage, install.AnchorStages))
	}
	if o.kind == install.RotateIssuer && !o.dryRun && (o.rootCert == "" || o.rootKey == "") {
		return usageError(errors.New("rotating the issuer needs the trust anchor's certificate and key (--root-cert and --root-key): install does not keep the anchor's key; if it is lost, rotate the anchors instead (meshctl identity rotate anchors)"))
	}
	return nil
}

func (o *identityRotateOptions) run(ctx context.Context) error {
	if o.dryRun {
		return o.outline(ctx)
	}
	opts := install.RotateOptions{Kind: o.kind, Stage: o.stage, Now: o.Now}
	if o.kind == install.RotateIssuer {
		var err error
		if opts.RootCertPEM, err = readInput("--root-cert", o.rootCert); err != nil {
			return inputError(err)
		}
		if opts.RootKeyPEM, err = readInput("--root-key", o.rootKey); err != nil {
			return inputError(err)
		}
	}
	cs, err := o.Factory().Kubernetes()
	if err != nil {
		return inputError(err)
	}
	st, err := install.ReadRotationState(ctx, cs, o.meshNamespace)
	if err != nil {
		return inputError(fmt.Errorf("read the identity configuration: %w", err))
	}
	p, err := install.PlanRotation(*st, opts)
	if err != nil {
		return inputError(fmt.Errorf("rotate %s: %w", o.kind, err))
	}
	if len(p.Files) == 0 && o.outputDir != "" && !p.Done {
		p.Warnings = append(p.Warnings, "--output-dir is not used: this stage generates no keys.")
	}
	if len(p.Files) > 0 {
		if o.outputDir == "" {
			p.Warnings = append(p.Warnings, "The new trust anchor's private key is not kept (no --output-dir): to rotate the issuer later, rotate the anchors again.")
		} else if err := writeKeyFiles(o.outputDir, p.Files); err != nil {
			return inputError(fmt.Errorf("--output-dir: %w", err))
		} else {
			p.Does = append(p.Does, fmt.Sprintf("Wrote the new anchor's and issuer's certificates and keys to %s: keep root.key offline, it signs future issuers.", o.outputDir))
		}
	}
	if _, err := o.streams.Out.Write(p.Manifest); err != nil {
		return err
	}
	install.WriteRotationReport(o.streams.ErrOut, p)
	return nil
}

// outline prints the plan of every stage, marking the cluster's stage when
// the cluster can be read.
func (o *identityRotateOptions) outline(ctx context.Context) error {
	var detected *install.AnchorStage
	if o.kind == install.RotateAnchors {
		d, err := o.detect(ctx)
		if err != nil {
			fmt.Fprintf(o.streams.ErrOut, "Cannot tell the cluster's stage: %v\n", err)
		} else {
			detected = &d
		}
	}
	install.WriteRotationOutline(o.streams.Out, o.kind, detected)
	return nil
}

func (o *identityRotateOptions) detect(ctx context.Context) (install.AnchorStage, error) {
	cs, err := o.Factory().Kubernetes()
	if err != nil {
		return install.AnchorStage{}, err
	}
	st, err := install.ReadRotationState(ctx, cs, o.meshNamespace)
	if err != nil {
		return install.AnchorStage{}, err
	}
	return install.DetectAnchorStage(*st, o.Now())
}

func readInput(flag, path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	return b, nil
}

// writeKeyFiles writes files into dir (created 0700), keys 0600 and
// certificates 0644. It refuses to replace any existing file, before
// writing one.
func writeKeyFiles(dir string, files []install.KeyFile) error {
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(dir, f.Name)); err == nil {
			return fmt.Errorf("%s already exists: choose a new directory (it may hold the keys of an earlier rotation)", filepath.Join(dir, f.Name))
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, f := range files {
		mode := os.FileMode(0o644)
		if f.Secret {
			mode = 0o600
		}
		fh, err := os.OpenFile(filepath.Join(dir, f.Name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
		if err != nil {
			return err
		}
		_, werr := fh.Write(f.Data)
		if cerr := fh.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return werr
		}
	}
	return nil
}
