package cli

import (
	"errors"
	"strings"
	"testing"
)

var errUnreachable = errors.New("dial tcp 10.0.0.1:6443: i/o timeout")

// TestInstallBadInputs feeds install rejected inputs: each must fail with a
// message naming the problem and print nothing on stdout.
func TestInstallBadInputs(t *testing.T) {
	td := installTestdata
	tests := []struct {
		name string
		args string
		want string
	}{
		{"unknown set key", "--set proxy.ports.inbond=1", `"proxy.ports.inbond"`},
		{"unknown top-level key", "--set nosuchkey=1", `"nosuchkey"`},
		{"set wrong type int", "--set controller.replicas=three", `"controller.replicas"`},
		{"set-string on an int", "--set-string proxy.ports.admin=4191", `"proxy.ports.admin"`},
		{"set bool on an int", "--set proxy.uid=true", `"proxy.uid"`},
		{"set scalar on a map", "--set proxy.ports=1", `"proxy.ports"`},
		{"set bad syntax", "--set proxy.ports[=1", "--set"},
		{"zero replicas", "--set controller.replicas=0", `"controller.replicas"`},
		{"port out of range", "--set proxy.ports.inbound=70000", `"proxy.ports.inbound"`},
		{"tap token hash not a sha256", "--set proxy.tapTokenSHA256=s3cret", `"proxy.tapTokenSHA256"`},
		{"duplicate port", "--set proxy.ports.admin=4143", `"proxy.ports.admin"`},
		{"bad proxy log level", "--set proxy.logLevel=loud", `"proxy.logLevel"`},
		{"bad quantity", "--set proxy.resources.memory.request=lots", `"proxy.resources.memory.request"`},
		{"request above limit", "--proxy-memory-request 1Gi --proxy-memory-limit 10Mi", `"proxy.resources.memory.request"`},
		{"bad failure policy", "--set webhook.failurePolicy=Maybe", `"webhook.failurePolicy"`},
		{"bad skip ports", "--skip-inbound-ports 80,abc", `"proxy.skipInboundPorts"`},
		{"bad controller log level", "--controller-log-level loud", `"controller.logLevel"`},
		{"values file unknown key", "-f " + td + "bad-key.values.yaml", `"proxy.ports.inbond"`},
		{"values file wrong type", "-f " + td + "bad-type.values.yaml", `"controller.replicas"`},
		{"values file malformed", "-f " + td + "malformed.values.yaml", "malformed.values.yaml"},
		{"values file not a map", "-f " + td + "list.values.yaml", "list.values.yaml"},
		{"values file missing", "-f /nonexistent/values.yaml", "/nonexistent/values.yaml"},
		{"set-file missing", "--set-file identity.trustAnchorsPEM=/nonexistent/ca.pem", "/nonexistent/ca.pem"},
		{"anchors without issuer via set-file", "--set-file identity.trustAnchorsPEM=" + td + "certs/anchor.crt", "identity.trustAnchorsPEM"},
		{"unknown output", "-o xml", `"xml"`},
		{"partial cert flags", " --identity-trust-anchors-file " + td + "certs/anchor.crt", "--identity-issuer-certificate-file"},
		{"expired issuer", certFlags("anchor.crt", "issuer-expired.crt", "issuer-expired.key"), "expired"},
		{"issuer not a CA", certFlags("anchor.crt", "leaf.crt", "leaf.key"), "not a CA"},
		{"key does not match", certFlags("anchor.crt", "issuer.crt", "leaf.key"), "does not match"},
		{"issuer of another root", certFlags("anchor.crt", "foreign-issuer.crt", "foreign-issuer.key"), "does not chain"},
		{"anchors file missing", " --identity-trust-anchors-file /nonexistent/ca.crt --identity-issuer-certificate-file x --identity-issuer-key-file y", "/nonexistent/ca.crt"},
		{"anchors file not PEM", certFlags("README.md", "issuer.crt", "issuer.key"), "trust anchors"},
		{"external issuer without anchors", "--identity-external-issuer", "--identity-trust-anchors-file"},
		{"external issuer with issuer files", "--identity-external-issuer" + certFlags("anchor.crt", "issuer.crt", "issuer.key"), "--identity-external-issuer"},
		{"bad default inbound policy", "--default-inbound-policy open", "--default-inbound-policy"},
		{"bad inbound port flag", "--inbound-port 0", "--inbound-port"},
		{"bad pull policy", "--image-pull-policy Sometimes", "--image-pull-policy"},
		{"negative wait before exit", "--wait-before-exit-seconds -5", "--wait-before-exit-seconds"},
		{"wait before exit over an hour", "--wait-before-exit-seconds 4000", "--wait-before-exit-seconds"},
		{"image digest", "--image ghcr.io/meshctl/meshctl@sha256:abc", "--image"},
		{"crds with values", "--crds --ha", "--crds"},
		{"bad namespace", "--mesh-namespace Bad_NS", "Bad_NS"},
		{"bad flag value", "--inbound-port many", "--inbound-port"},
		{"positional argument", "extra", "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, "install --ignore-cluster "+tt.args)
			if r.code == 0 {
				t.Fatalf("exit 0, want a failure; stderr %q", r.stderr)
			}
			if r.stdout != "" {
				t.Fatalf("stdout not empty: %.120q", r.stdout)
			}
			if !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("stderr %q does not name %q", r.stderr, tt.want)
			}
		})
	}
}

// TestInstallExitCodes checks usage errors (2) against rejected input (1).
func TestInstallExitCodes(t *testing.T) {
	for args, code := range map[string]int{
		"install --ignore-cluster -o xml":                                                                2,
		"install --ignore-cluster --no-such-flag":                                                        2,
		"install --ignore-cluster --set controller.replicas=three":                                       1,
		"install --ignore-cluster --identity-issuer-key-file k":                                          2,
		"install --ignore-cluster" + certFlags("anchor.crt", "issuer-expired.crt", "issuer-expired.key"): 1,
	} {
		if r := run(t, args); r.code != code {
			t.Errorf("meshctl %s: exit %d, want %d (%s)", args, r.code, code, r.stderr)
		}
	}
}
