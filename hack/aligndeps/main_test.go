package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestPlan(t *testing.T) {
	tests := []struct {
		name     string
		selected []map[string]string
		exclude  []string
		want     [][]string
	}{
		{
			name: "raises the lagging module to the highest selected",
			selected: []map[string]string{
				{"golang.org/x/net": "v0.62.0", "only.here/a": "v1.0.0"},
				{"golang.org/x/net": "v0.57.0", "only.there/b": "v0.1.0"},
				{"golang.org/x/net": "v0.60.0"},
			},
			want: [][]string{nil, {"golang.org/x/net@v0.62.0"}, {"golang.org/x/net@v0.62.0"}},
		},
		{
			name: "a release beats its own pseudo-version prerelease",
			selected: []map[string]string{
				{"google.golang.org/protobuf": "v1.36.12-0.20260120151049-f2248ac996af"},
				{"google.golang.org/protobuf": "v1.36.12"},
			},
			want: [][]string{{"google.golang.org/protobuf@v1.36.12"}, nil},
		},
		{
			name: "+incompatible versions compare by their semver",
			selected: []map[string]string{
				{"github.com/x/y": "v2.0.1+incompatible"},
				{"github.com/x/y": "v2.0.0+incompatible"},
			},
			want: [][]string{nil, {"github.com/x/y@v2.0.1+incompatible"}},
		},
		{
			name: "excluded prefixes stay as selected",
			selected: []map[string]string{
				{"go.etcd.io/etcd/api/v3": "v3.6.16", "go.uber.org/zap": "v1.27.0"},
				{"go.etcd.io/etcd/api/v3": "v3.7.0", "go.uber.org/zap": "v1.28.0"},
			},
			exclude: []string{"go.etcd.io/etcd/"},
			want:    [][]string{{"go.uber.org/zap@v1.28.0"}, nil},
		},
		{
			name:     "nothing shared, nothing to do",
			selected: []map[string]string{{"a.b/c": "v1.0.0"}, {"d.e/f": "v1.0.0"}},
			want:     [][]string{nil, nil},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := plan(tt.selected, tt.exclude); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("plan() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseTargets(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := parseTargets([]string{dir + "=-test,./...", dir + "=k8s.io/a,k8s.io/b"})
	if err != nil {
		t.Fatal(err)
	}
	want := []target{{dir, []string{"-test", "./..."}}, {dir, []string{"k8s.io/a", "k8s.io/b"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseTargets() = %+v, want %+v", got, want)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{dir + "=./..."}, "at least two"},
		{[]string{dir + "=./...", "nodir"}, `"nodir": want DIR=PKG`},
		{[]string{dir + "=./...", dir + "="}, "want DIR=PKG"},
		{[]string{dir + "=./...", filepath.Join(dir, "missing") + "=./..."}, "go.mod"},
	} {
		if _, err := parseTargets(tc.args); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseTargets(%q) error = %v, want it to mention %q", tc.args, err, tc.want)
		}
	}
}
