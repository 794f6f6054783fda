package bench

import (
	"bytes"
	"embed"
	"fmt"
	"os"
	"path/filepath"
	"text/template"
)

// configFS holds the reference proxies' configuration templates.
//
//go:embed configs/*.tmpl
var configFS embed.FS

// refConfig is the data of one reference proxy's configuration.
type refConfig struct {
	Side     string // "A (outbound)" or "B (inbound)"
	Name     string // file stem, unique per side
	Scenario Scenario
	Dir      string
	Listen   string
	Target   string
	// H2In accepts HTTP/2 with prior knowledge; H2Out speaks it to Target.
	H2In, H2Out bool
	GRPC, TCP   bool
}

// hops sets the protocol of each hop as in perf.md's topology: gRPC is
// HTTP/2 end to end; for plain h2 the client's side is h2c and the hops
// behind it HTTP/1.1 keep-alive (what both references do by default).
func (c refConfig) hops(outbound bool) refConfig {
	switch c.Scenario {
	case ScenarioGRPC:
		c.GRPC, c.H2In, c.H2Out = true, true, true
	case ScenarioH2:
		c.H2In = outbound
	case ScenarioTCP:
		c.TCP = true
	}
	return c
}

// renderConfig writes template name with data to dir/file and returns the path.
func renderConfig(name string, data refConfig, file string) (string, error) {
	t, err := template.ParseFS(configFS, "configs/"+name)
	if err != nil {
		return "", fmt.Errorf("parse %s: %w", name, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("render %s: %w", name, err)
	}
	path := filepath.Join(data.Dir, file)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return path, nil
}
