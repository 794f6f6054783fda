package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// Execute runs the command tree with args and returns the process exit code.
// Errors are printed once, here, on the error stream.
func Execute(ctx context.Context, streams genericiooptions.IOStreams, args []string, opts ...Option) int {
	root := NewRootCmd(streams, opts...)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	code := exitCode(err)
	var ee *ExitError
	if err != nil && (!errors.As(err, &ee) || ee.Err != nil) {
		fmt.Fprintf(streams.ErrOut, "Error: %s\n", err)
		if code == ExitUsage {
			fmt.Fprintf(streams.ErrOut, "Run '%s --help' for usage.\n", commandPath(root, args))
		}
	}
	return code
}

// commandPath names the deepest command args reach, for the usage hint.
func commandPath(root *cobra.Command, args []string) string {
	c, _, err := root.Find(args)
	if err != nil || c == nil {
		return root.CommandPath()
	}
	return c.CommandPath()
}
