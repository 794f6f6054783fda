package arch

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"testing"
)

// TestNoExitPrintOrInit scans every non-test Go file of the module: only
// cmd/meshctl/main.go may exit or touch os.Stdout/os.Stderr, and nothing
// registers itself in init(). Standalone programs under hack/ and test/
// (tools, the e2e demo application) are exempt from the exit/print rule.
// Generated protobuf code (pkg/api) registers its descriptors in init() by
// design of protoc-gen-go; it is exempt from the init rule only.
func TestNoExitPrintOrInit(t *testing.T) {
	forbidden := map[string]map[string]string{
		"os": {
			"Exit":   "only main exits; return an error (cli.ExitError carries the code)",
			"Stdout": "write to an injected io.Writer (IOStreams.Out)",
			"Stderr": "write to an injected io.Writer (IOStreams.ErrOut)",
		},
		"fmt": {
			"Print":   "write to an injected io.Writer",
			"Printf":  "write to an injected io.Writer",
			"Println": "write to an injected io.Writer",
		},
		"log": {
			"Fatal":  "return an error",
			"Fatalf": "return an error",
			"Panic":  "return an error",
		},
	}
	for _, p := range listPackages(t) {
		path := rel(p.ImportPath)
		exemptPrint := path == "cmd/meshctl" || p.Name == "main" && (under(path, "hack") || under(path, "test"))
		for _, f := range p.GoFiles {
			file := filepath.Join(p.Dir, f)
			fset := token.NewFileSet()
			node, err := parser.ParseFile(fset, file, nil, parser.ParseComments)
			if err != nil {
				t.Fatalf("parse %s: %v", file, err)
			}
			generated := under(path, "pkg/api") && ast.IsGenerated(node)
			for _, d := range node.Decls {
				if generated {
					break
				}
				if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && fn.Name.Name == "init" {
					t.Errorf("%s: func init(): build registrations explicitly instead", fset.Position(fn.Pos()))
				}
			}
			if exemptPrint {
				continue
			}
			ast.Inspect(node, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				pkg, ok := sel.X.(*ast.Ident)
				if !ok || pkg.Obj != nil {
					return true
				}
				if why, bad := forbidden[pkg.Name][sel.Sel.Name]; bad {
					t.Errorf("%s: %s.%s: %s", fset.Position(sel.Pos()), pkg.Name, sel.Sel.Name, why)
				}
				return true
			})
		}
	}
}
