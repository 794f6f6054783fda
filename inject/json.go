package inject

import (
	"bytes"
	"encoding/json"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// encodeJSON renders a document as one line of JSON.
func encodeJSON(doc *yaml.Node) ([]byte, error) {
	var v any
	if err := doc.Decode(&v); err != nil {
		return nil, fmt.Errorf("convert to JSON: %w", err)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("convert to JSON: %w (JSON needs string keys)", err)
	}
	return b.Bytes(), nil
}
