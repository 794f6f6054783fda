package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// result is what one in-memory run of the command tree produced.
type result struct {
	code   int
	stdout string
	stderr string
}

// run executes the real command tree with args (split on spaces) and
// in-memory streams. MESHCTL_* variables of the developer's shell and their
// config file are kept out by the test's environment.
func run(t *testing.T, args string, opts ...Option) result {
	t.Helper()
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	return runWith(t, streams, out, errOut, args, opts...)
}

func runWith(t *testing.T, streams genericiooptions.IOStreams, out, errOut *bytes.Buffer, args string, opts ...Option) result {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	code := Execute(context.Background(), streams, strings.Fields(args), opts...)
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}
