package check

import (
	"context"
	"strings"
	"time"

	"k8s.io/client-go/dynamic"

	"github.com/meshctl/meshctl/pkg/kube"
)

// Severity says what a failed check means for the run.
type Severity int

// Severities.
const (
	// Error fails the run (exit 1).
	Error Severity = iota
	// Warning is reported but does not fail the run.
	Warning
)

// Check is one entry of the catalogue.
type Check struct {
	// Code is stable and never reused, e.g. "MESH101".
	Code string
	// Description says what is checked, phrased as the passing state.
	Description string
	// Hint says what to do when the check fails.
	Hint     string
	Severity Severity
	// Fatal stops the run when the check fails: later checks depend on it.
	Fatal bool
	// Retry re-runs a failing check until the run's deadline (--wait).
	Retry bool
	// Run returns nil when the check passes. Its error text is shown to the
	// user under the check, so it names what is wrong and where.
	Run func(ctx context.Context, env *Env) error
	// Fix, when set, plans the remediation of a failure: only for checks
	// whose fix is safe and mechanical (`meshctl check --fix`). It reads the
	// cluster as it is now and returns the steps; none means nothing is left
	// to do.
	Fix func(ctx context.Context, env *Env) ([]Action, error)
}

// Anchor is the check's anchor in docs/checks.md.
func (c Check) Anchor() string { return strings.ToLower(c.Code) }

// Category is an ordered list of checks shown under one heading.
type Category struct {
	ID     string
	Checks []Check
}

// Env is everything checks may read. It is built once by the caller and
// never written by a check.
type Env struct {
	// Kube is the typed client; nil when KubeErr says why there is none.
	Kube    kube.Clientset
	Dynamic dynamic.Interface
	KubeErr error
	// Namespace is the control plane's namespace.
	Namespace string
	// CLIVersion is the version of this meshctl.
	CLIVersion string
	// Manifest and CRDManifest are what `meshctl install` would render with
	// the stored (or default) values: the expected state of the cluster.
	Manifest    []Object
	CRDManifest []Object
	// Now is the clock.
	Now func() time.Time
	// CallTimeout bounds each API call of a check (default 10s).
	CallTimeout time.Duration
	// DataPlaneNamespace restricts data-plane checks; empty means all namespaces.
	DataPlaneNamespace string
}

// Object names one rendered Kubernetes object.
type Object struct {
	APIVersion string
	Kind       string
	Name       string
	Namespace  string
	// Versions are the served versions of a CustomResourceDefinition.
	Versions []string
	// Raw is the document as rendered, for fixes that re-create it.
	Raw []byte
}

// Status is the outcome of one check.
type Status string

// Statuses, as in Linkerd's JSON output.
const (
	StatusOK       Status = "success"
	StatusWarning  Status = "warning"
	StatusError    Status = "error"
	StatusRetrying Status = "retrying"
	StatusSkipped  Status = "skipped"
)

// Result is the outcome of one check, reported to observers and renderers.
type Result struct {
	Category    string        `json:"category"`
	Code        string        `json:"code"`
	Description string        `json:"description"`
	Status      Status        `json:"result"`
	Err         string        `json:"error,omitempty"`
	Hint        string        `json:"hint,omitempty"`
	HintURL     string        `json:"hintURL,omitempty"`
	Elapsed     time.Duration `json:"-"`
}

// HintBaseURL is where the hint anchors of docs/checks.md are published.
const HintBaseURL = "https://github.com/meshctl/meshctl/blob/main/docs/checks.md#"
