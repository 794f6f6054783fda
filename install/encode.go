package install

import (
	"encoding/json"
	"fmt"
	"io"

	"sigs.k8s.io/yaml"

	"github.com/meshctl/meshctl/pkg/output"
	"github.com/meshctl/meshctl/pkg/render"
)

// encode writes docs as a YAML stream, or as one JSON v1 List (which
// `kubectl apply -f` accepts).
func encode(w io.Writer, docs []render.Document, format string) error {
	f, err := output.ParseFormat(format, output.YAML, output.JSON)
	if err != nil {
		return err
	}
	if f == output.YAML {
		return render.Write(w, docs)
	}
	items := make([]json.RawMessage, 0, len(docs))
	for _, d := range docs {
		j, err := yaml.YAMLToJSON([]byte(d.Content))
		if err != nil {
			return fmt.Errorf("convert %s to json: %w", d.Source, err)
		}
		items = append(items, j)
	}
	return output.WriteJSON(w, map[string]any{"apiVersion": "v1", "kind": "List", "items": items})
}
