package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/meshctl/meshctl/pkg/kube/kubefake"
)

// TestConfigPrecedence checks flag > env > file > default on the global
// --mesh-namespace flag, observed through which ConfigMap `version` reads.
func TestConfigPrecedence(t *testing.T) {
	f, err := kubefake.NewFakeFactory(
		"{apiVersion: v1, kind: ConfigMap, metadata: {name: meshctl-config, namespace: from-flag}, data: {version: flag}}",
		"{apiVersion: v1, kind: ConfigMap, metadata: {name: meshctl-config, namespace: from-env}, data: {version: env}}",
		"{apiVersion: v1, kind: ConfigMap, metadata: {name: meshctl-config, namespace: from-file}, data: {version: file}}",
		"{apiVersion: v1, kind: ConfigMap, metadata: {name: meshctl-config, namespace: meshctl}, data: {version: default}}",
	)
	if err != nil {
		t.Fatal(err)
	}
	cfgDir := t.TempDir()
	cfgFile := filepath.Join(cfgDir, "config.yaml")
	if err := os.WriteFile(cfgFile, []byte("mesh-namespace: from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args string
		env  map[string]string
		want string
	}{
		{"default", "version --short", nil, "default"},
		{"file", "version --short --config " + cfgFile, nil, "file"},
		{"env beats file", "version --short --config " + cfgFile, map[string]string{"MESHCTL_NAMESPACE": "from-env"}, "env"},
		{"long env name", "version --short", map[string]string{"MESHCTL_MESH_NAMESPACE": "from-env"}, "env"},
		{"flag beats env", "version --short --mesh-namespace from-flag --config " + cfgFile, map[string]string{"MESHCTL_NAMESPACE": "from-env"}, "flag"},
		{"env sets a command flag", "version", map[string]string{"MESHCTL_SHORT": "true"}, "default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			r := run(t, tt.args, WithKubeFactory(f))
			want := "dev\n" + tt.want + "\n"
			if r.code != 0 || r.stdout != want {
				t.Fatalf("stdout %q stderr %q, want server version %q (%q)", r.stdout, r.stderr, tt.want, want)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("mesh-namespace: [unclosed\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args string
		env  map[string]string
	}{
		{"missing explicit config file", "version --client --config " + filepath.Join(dir, "nope.yaml"), nil},
		{"malformed config file", "version --client --config " + bad, nil},
		{"bad env value for a bool flag", "version --client", map[string]string{"MESHCTL_SHORT": "maybe"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			r := run(t, tt.args)
			if r.code != 2 || r.stdout != "" || r.stderr == "" {
				t.Fatalf("code %d stdout %q stderr %q; want code 2, empty stdout, an error", r.code, r.stdout, r.stderr)
			}
		})
	}
}
