package cli

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/meshctl/meshctl/pkg/kube"
	"github.com/meshctl/meshctl/pkg/kube/kubefake"
	"github.com/meshctl/meshctl/pkg/version"
)

func TestVersion(t *testing.T) {
	installed, err := kubefake.NewFakeFactory(`apiVersion: v1
kind: ConfigMap
metadata:
  name: meshctl-config
  namespace: meshctl
data:
  version: v9.9.9
`)
	if err != nil {
		t.Fatal(err)
	}
	unreachable := &kubefake.FakeFactory{Err: errors.New("connection refused")}
	client := version.Version()

	tests := []struct {
		name    string
		args    string
		factory kube.Factory
		code    int
		stdout  string
	}{
		{"both versions", "version", installed, 0, "Client version: " + client + "\nServer version: v9.9.9\n"},
		{"short", "version --short", installed, 0, client + "\nv9.9.9\n"},
		{"client only never asks the cluster", "version --client", unreachable, 0, "Client version: " + client + "\n"},
		{"unreachable cluster", "version", unreachable, 0, "Client version: " + client + "\nServer version: unavailable\n"},
		{"other mesh namespace", "version --mesh-namespace other", installed, 0, "Client version: " + client + "\nServer version: unavailable\n"},
		{"bad output format", "version -o xml", installed, 2, ""},
		{"extra argument", "version now", installed, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.args, WithKubeFactory(tt.factory))
			if r.code != tt.code || r.stdout != tt.stdout {
				t.Fatalf("meshctl %s: code %d stdout %q stderr %q; want code %d stdout %q", tt.args, r.code, r.stdout, r.stderr, tt.code, tt.stdout)
			}
			if tt.code != 0 && !strings.HasPrefix(r.stderr, "Error: ") {
				t.Fatalf("stderr %q does not start with Error:", r.stderr)
			}
		})
	}
}

func TestVersionJSON(t *testing.T) {
	r := run(t, "version --client -o json")
	if r.code != 0 {
		t.Fatalf("code %d, stderr %q", r.code, r.stderr)
	}
	var got versionReport
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, r.stdout)
	}
	if got.Client.Version != version.Version() || got.Server != nil {
		t.Fatalf("got %+v", got)
	}
}
