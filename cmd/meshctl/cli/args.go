package cli

import "github.com/spf13/cobra"

// noArgs rejects positional arguments as a usage error (exit 2).
func noArgs(cmd *cobra.Command, args []string) error {
	return asUsage(cobra.NoArgs(cmd, args))
}

// exactArgs requires n positional arguments (exit 2 otherwise).
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		return asUsage(cobra.ExactArgs(n)(cmd, args))
	}
}

func asUsage(err error) error {
	if err == nil {
		return nil
	}
	return usageError(err)
}

// minArgs requires at least n positional arguments (exit 2 otherwise).
func minArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		return asUsage(cobra.MinimumNArgs(n)(cmd, args))
	}
}
