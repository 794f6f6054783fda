// Command aligndeps makes several Go modules that are built with one build
// cache select the same version of every module they share.
//
// The go command keys a compiled package by its whole dependency closure,
// so when meshctl and the cluster's Kubernetes, etcd, CoreDNS and
// Prometheus wrapper modules select golang.org/x/net v0.57, v0.60 and
// v0.62, everything above x/net (k8s.io/api, client-go, grpc, ...) is
// compiled once per variant. aligndeps lists the packages each module
// builds, and for every dependency module that two or more of them compile
// it requires the highest version any of them selects, repeating until
// nothing moves (a raised requirement can raise others).
//
// Usage (hack/cluster/cluster.sh align-deps prepares the wrappers):
//
//	go run ./hack/aligndeps [-check] [-exclude PREFIX]... DIR=PKG[,PKG...] ...
//
// Each argument names a module directory and the packages built there
// (a leading "-test" builds their tests too). -check reports what is not
// aligned and exits 1 instead of changing go.mod files.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"

	"golang.org/x/mod/semver"
)

// maxRounds bounds the fixed-point loop; raising versions converges in
// two or three rounds in practice.
const maxRounds = 6

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "aligndeps: %v\n", err)
		os.Exit(1)
	}
}

// target is one module directory and the packages built from it.
type target struct {
	dir  string
	args []string // go list arguments: optional -test, then packages
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("aligndeps", flag.ContinueOnError)
	fs.SetOutput(stderr)
	check := fs.Bool("check", false, "report modules that are not aligned and fail, without changing anything")
	var exclude stringList
	fs.Var(&exclude, "exclude", "module path prefix left as each module selects it (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	targets, err := parseTargets(fs.Args())
	if err != nil {
		return err
	}
	changed := false
	for round := 1; round <= maxRounds; round++ {
		selected := make([]map[string]string, len(targets))
		for i, t := range targets {
			if selected[i], err = compiledModules(t); err != nil {
				return err
			}
		}
		raises := plan(selected, exclude)
		if allEmpty(raises) {
			if changed {
				for _, t := range targets {
					if err := goCmd(t.dir, stderr, "mod", "tidy"); err != nil {
						return fmt.Errorf("tidying %s: %w", t.dir, err)
					}
				}
			}
			fmt.Fprintf(stdout, "aligned: %d modules, every shared dependency at one version\n", len(targets))
			return nil
		}
		for i, t := range targets {
			if len(raises[i]) == 0 {
				continue
			}
			fmt.Fprintf(stdout, "%s: %d to raise\n", t.dir, len(raises[i]))
			for _, r := range raises[i] {
				fmt.Fprintf(stdout, "\t%s\n", r)
			}
			if *check {
				continue
			}
			if err := goCmd(t.dir, stderr, append([]string{"get"}, raises[i]...)...); err != nil {
				return fmt.Errorf("raising versions in %s: %w", t.dir, err)
			}
			changed = true
		}
		if *check {
			return fmt.Errorf("modules are not aligned; run hack/cluster/cluster.sh align-deps")
		}
	}
	return fmt.Errorf("versions still moved after %d rounds; run again or pin the module that oscillates with -exclude", maxRounds)
}

// parseTargets reads DIR=[-test,]PKG[,PKG...] arguments.
func parseTargets(args []string) ([]target, error) {
	if len(args) < 2 {
		return nil, fmt.Errorf("need at least two DIR=PKG[,PKG...] arguments, got %d", len(args))
	}
	targets := make([]target, 0, len(args))
	for _, a := range args {
		dir, pkgs, ok := strings.Cut(a, "=")
		if !ok || dir == "" || pkgs == "" {
			return nil, fmt.Errorf("argument %q: want DIR=PKG[,PKG...]", a)
		}
		if _, err := os.Stat(dir + "/go.mod"); err != nil {
			return nil, fmt.Errorf("argument %q: %w", a, err)
		}
		targets = append(targets, target{dir: dir, args: strings.Split(pkgs, ",")})
	}
	return targets, nil
}

// compiledModules returns the version of every dependency module whose
// packages t compiles (the main module and the standard library left out).
func compiledModules(t target) (map[string]string, error) {
	cmd := exec.Command("go", append([]string{"list", "-deps", "-f", "{{with .Module}}{{if not .Main}}{{.Path}} {{.Version}}{{end}}{{end}}"}, t.args...)...)
	cmd.Dir = t.dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var errb strings.Builder
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list in %s: %w: %s", t.dir, err, strings.TrimSpace(errb.String()))
	}
	mods := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if path, version, ok := strings.Cut(line, " "); ok && version != "" {
			mods[path] = version
		}
	}
	return mods, nil
}

// plan returns, per target, the path@version requirements that raise each
// shared module it compiles to the highest version selected anywhere.
func plan(selected []map[string]string, exclude []string) [][]string {
	highest := map[string]string{}
	users := map[string]int{}
	for _, mods := range selected {
		for path, v := range mods {
			users[path]++
			if h, ok := highest[path]; !ok || semver.Compare(v, h) > 0 {
				highest[path] = v
			}
		}
	}
	raises := make([][]string, len(selected))
	for i, mods := range selected {
		for path, v := range mods {
			if users[path] < 2 || v == highest[path] || slices.ContainsFunc(exclude, func(p string) bool { return strings.HasPrefix(path, p) }) {
				continue
			}
			raises[i] = append(raises[i], path+"@"+highest[path])
		}
		sort.Strings(raises[i])
	}
	return raises
}

func allEmpty(raises [][]string) bool {
	for _, r := range raises {
		if len(r) > 0 {
			return false
		}
	}
	return true
}

// goCmd runs the go command in dir, its output going to stderr.
func goCmd(dir string, stderr io.Writer, args ...string) error {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Stdout = stderr
	cmd.Stderr = stderr
	return cmd.Run()
}
