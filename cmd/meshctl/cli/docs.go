package cli

import (
	"bytes"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/meshctl/meshctl/check"
)

type docsOptions struct {
	*globalOptions
	dir        string
	checksFile string
}

func newDocsCmd(g *globalOptions) *cobra.Command {
	o := &docsOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:    "docs",
		Short:  "Write the CLI reference as Markdown",
		Hidden: true,
		Example: `  # Regenerate the reference kept in the repository
  meshctl docs --dir docs/cli --checks-file docs/checks.md`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd.Root())
		},
	}
	cmd.Flags().StringVar(&o.dir, "dir", "docs/cli", "Directory to write the reference into")
	cmd.Flags().StringVar(&o.checksFile, "checks-file", "", "Also write the check catalogue to this file (docs/checks.md)")
	return cmd
}

func (o *docsOptions) run(root *cobra.Command) error {
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", o.dir, err)
	}
	if err := doc.GenMarkdownTree(root, o.dir); err != nil {
		return fmt.Errorf("write cli reference to %s: %w", o.dir, err)
	}
	fmt.Fprintf(o.streams.ErrOut, "CLI reference written to %s\n", o.dir)
	if o.checksFile == "" {
		return nil
	}
	var b bytes.Buffer
	if err := check.WriteDocs(&b); err != nil {
		return err
	}
	if err := os.WriteFile(o.checksFile, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write check catalogue: %w", err)
	}
	fmt.Fprintf(o.streams.ErrOut, "check catalogue written to %s\n", o.checksFile)
	return nil
}
