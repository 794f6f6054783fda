package inject

import (
	"fmt"
	"strings"

	"github.com/meshctl/meshctl/pkg/sidecar"
)

// Actions reported per resource.
const (
	ActionInjected   = "injected"
	ActionAnnotated  = "annotated"
	ActionUninjected = "uninjected"
	ActionSkipped    = "skipped"
)

// Resource is what happened to one object of the input.
type Resource struct {
	// Source and Document locate the object: the input and the 1-based
	// document in it.
	Source   string `json:"source"`
	Document int    `json:"document"`
	// Item is the 1-based position in a kind: List, 0 otherwise.
	Item      int    `json:"item,omitempty"`
	Kind      string `json:"kind,omitempty"`
	Name      string `json:"name,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	// Action is injected, annotated, uninjected or skipped.
	Action string `json:"action"`
	// Reason says why a resource was skipped.
	Reason string `json:"reason,omitempty"`
	// Annotations are what annotation mode wrote (meshctl.io/inject and
	// config.meshctl.io/* overrides).
	Annotations []sidecar.KV `json:"annotations,omitempty"`
	// Decision is pkg/sidecar's verdict on the pod template of a workload.
	Decision *sidecar.Decision `json:"decision,omitempty"`
	// Warnings are printed with ‼ in the report.
	Warnings []string `json:"warnings,omitempty"`
	// supported is true for kinds inject knows (workloads, Namespace,
	// Service).
	supported bool
}

// ref names the resource in messages: kind/name, or the document when the
// object has no kind.
func (r Resource) ref() string {
	if r.Kind == "" {
		return fmt.Sprintf("%s document %d", r.Source, r.Document)
	}
	return strings.ToLower(r.Kind) + "/" + r.Name
}

// where locates the resource in its input.
func (r Resource) where() string {
	if r.Item > 0 {
		return fmt.Sprintf("%s, document %d, item %d", r.Source, r.Document, r.Item)
	}
	return fmt.Sprintf("%s, document %d", r.Source, r.Document)
}

// Result is the outcome of Run.
type Result struct {
	// Output is the transformed stream, in the requested format.
	Output []byte
	// Input is the input as read (BOM removed, LF line ends, documents
	// separated by "---"), for diffs.
	Input []byte
	// Resources lists every object in input order.
	Resources []Resource
}

// RejectedError is returned when inputs cannot be transformed: documents
// that do not parse, workloads that must not be meshed. Nothing should be
// written to stdout.
type RejectedError struct {
	// Failures has one line per rejected resource, naming it.
	Failures []string
}

func (e *RejectedError) Error() string {
	return strings.Join(e.Failures, "\n")
}
