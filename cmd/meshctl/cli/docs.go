package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

type docsOptions struct {
	*globalOptions
	dir string
}

func newDocsCmd(g *globalOptions) *cobra.Command {
	o := &docsOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:    "docs",
		Short:  "Write the CLI reference as Markdown",
		Hidden: true,
		Example: `  # Regenerate the reference kept in the repository
  meshctl docs --dir docs/cli`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd.Root())
		},
	}
	cmd.Flags().StringVar(&o.dir, "dir", "docs/cli", "Directory to write the reference into")
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
	return nil
}
