package arch

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/meshctl/meshctl"

// goPackage is the subset of `go list -json` output the rules need.
type goPackage struct {
	ImportPath string
	Name       string
	Dir        string
	GoFiles    []string
	Imports    []string
	Deps       []string
}

func listPackages(t *testing.T) []goPackage {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"/...")
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []goPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p goPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		t.Fatal("go list found no packages")
	}
	return pkgs
}

// rel returns the path of p inside the module ("" for the module root).
func rel(importPath string) string {
	return strings.TrimPrefix(strings.TrimPrefix(importPath, module), "/")
}

func under(path, dir string) bool {
	return path == dir || strings.HasPrefix(path, dir+"/")
}

// features are the user-facing verbs; they never import each other.
var features = []string{"install", "inject", "check", "viz", "diagnostics"} //nolint:gochecknoglobals // test table

// rule forbids an import edge. from matches the importing package's path
// inside the module; bad returns why imp is forbidden, or "".
type rule struct {
	name string
	from func(path string) bool
	bad  func(from, imp string) string
	// transitive applies the rule to all dependencies, not only direct imports.
	transitive bool
}

func rules() []rule {
	isLibrary := func(p string) bool { return !under(p, "cmd") && !under(p, "hack") && !under(p, "test") }
	return []rule{
		{
			name: "only cmd/meshctl/cli imports cobra, pflag or viper",
			from: func(p string) bool { return !under(p, "cmd/meshctl/cli") && !under(p, "hack") },
			bad: func(_, imp string) string {
				for _, f := range []string{"github.com/spf13/cobra", "github.com/spf13/pflag", "github.com/spf13/viper"} {
					if under(imp, f) {
						return "the CLI framework belongs to cmd/meshctl/cli"
					}
				}
				return ""
			},
		},
		{
			name: "libraries never import the command layer",
			from: isLibrary,
			bad: func(_, imp string) string {
				if under(rel(imp), "cmd") && strings.HasPrefix(imp, module) {
					return "libraries are composed by cmd/, never the reverse"
				}
				return ""
			},
		},
		{
			name: "features never import each other",
			from: func(p string) bool {
				for _, f := range features {
					if under(p, f) {
						return true
					}
				}
				return false
			},
			bad: func(from, imp string) string {
				if !strings.HasPrefix(imp, module+"/") {
					return ""
				}
				r := rel(imp)
				for _, f := range features {
					if under(r, f) && !under(from, f) {
						return "features meet in the CLI, which composes them"
					}
				}
				return ""
			},
		},
		{
			name: "pkg never imports a feature",
			from: func(p string) bool { return under(p, "pkg") || under(p, "templates") },
			bad: func(_, imp string) string {
				if !strings.HasPrefix(imp, module+"/") {
					return ""
				}
				for _, f := range features {
					if under(rel(imp), f) {
						return "pkg/ is the shared kernel below the features"
					}
				}
				return ""
			},
		},
		{
			name: "templates imports only embed",
			from: func(p string) bool { return p == "templates" },
			bad: func(_, imp string) string {
				if imp != "embed" {
					return "templates holds data only"
				}
				return ""
			},
		},
		{
			name: "the proxy does not depend on client-go",
			from: func(p string) bool { return under(p, "pkg/proxy") },
			bad: func(_, imp string) string {
				if under(imp, "k8s.io/client-go") {
					return "the data plane stays small; it learns about the cluster from the control plane"
				}
				return ""
			},
			transitive: true,
		},
		{
			name: "inject and pkg/sidecar do not depend on helm or client-go",
			from: func(p string) bool { return p == "inject" || p == "pkg/sidecar" },
			bad: func(_, imp string) string {
				if under(imp, "helm.sh/helm") || under(imp, "k8s.io/client-go") {
					return "the chart renderer is a parameter (sidecar.Options.Render), so that inject's fuzzing build instruments only what it exercises"
				}
				return ""
			},
			transitive: true,
		},
		{
			name: "proxy and controllers meet only at pkg/api",
			from: func(p string) bool { return under(p, "pkg/proxy") || under(p, "pkg/controller") },
			bad: func(from, imp string) string {
				r := rel(imp)
				if !strings.HasPrefix(imp, module+"/") {
					return ""
				}
				if under(from, "pkg/proxy") && under(r, "pkg/controller") || under(from, "pkg/controller") && under(r, "pkg/proxy") {
					return "the contracts between them live in pkg/api"
				}
				return ""
			},
		},
	}
}

func TestImportLayers(t *testing.T) {
	pkgs := listPackages(t)
	for _, r := range rules() {
		t.Run(r.name, func(t *testing.T) {
			for _, p := range pkgs {
				from := rel(p.ImportPath)
				if !r.from(from) {
					continue
				}
				imports := p.Imports
				if r.transitive {
					imports = p.Deps
				}
				for _, imp := range imports {
					if why := r.bad(from, imp); why != "" {
						t.Errorf("%s imports %s: %s (docs/architecture.md)", p.ImportPath, imp, why)
					}
				}
			}
		})
	}
}

func TestRuleCatchesViolation(t *testing.T) {
	// Guard against rules that can never fail.
	for _, r := range rules() {
		if r.name != "features never import each other" {
			continue
		}
		if why := r.bad("inject", module+"/install"); why == "" {
			t.Fatal("inject importing install must be reported")
		}
		if why := r.bad("inject", module+"/pkg/sidecar"); why != "" {
			t.Fatalf("inject importing pkg/sidecar must be allowed, got %q", why)
		}
	}
}
