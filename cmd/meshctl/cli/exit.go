package cli

import (
	"errors"
	"fmt"
	"strings"
)

// Exit codes of meshctl (conventions.md).
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// ExitError carries a process exit code to main. Err may be nil when the
// command has already reported the failure (for example a failed check).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// usageError marks err as a usage error (exit 2).
func usageError(err error) error {
	return &ExitError{Code: ExitUsage, Err: err}
}

// silentFailure exits 1 without printing anything more: the command has
// already reported why on stderr.
func silentFailure() error {
	return &ExitError{Code: ExitFailure}
}

// exitCode maps an error returned by the command tree to an exit code.
// cobra reports unknown commands and argument errors as plain errors; they
// are usage errors.
func exitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ", "requires at least", "invalid argument"} {
		if strings.HasPrefix(msg, p) {
			return ExitUsage
		}
	}
	return ExitFailure
}
