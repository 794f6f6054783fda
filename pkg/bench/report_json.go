package bench

import (
	"encoding/json"
	"fmt"
	"io"
)

// jsonReport is the JSON document: the raw runs, their digest and the gates.
type jsonReport struct {
	Result  *Result      `json:"result"`
	Summary Report       `json:"summary"`
	Gates   *GateOutcome `json:"gates,omitempty"`
}

// WriteJSON writes res, its digest and, when not nil, the gate outcome.
func WriteJSON(w io.Writer, res *Result, rep Report, gates *GateOutcome) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(jsonReport{Result: res, Summary: rep, Gates: gates}); err != nil {
		return fmt.Errorf("write json report: %w", err)
	}
	return nil
}
