package bench

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshctl/meshctl/pkg/testutil/golden"
)

// fixedPKI names certificate files without generating them, so the
// rendered configurations are the same on every run.
func fixedPKI() *meshPKI {
	files := func(stem string) certFiles {
		return certFiles{Chain: "/work/mtls/" + stem + ".crt", Key: "/work/mtls/" + stem + ".key", Combined: "/work/mtls/" + stem + ".pem"}
	}
	return &meshPKI{anchorsFile: "/work/mtls/anchors.pem", client: files("client"), server: files("server")}
}

// renderPair renders both sides of a reference pair for one scenario as
// startReference does, with fixed addresses.
func renderPair(t *testing.T, tmpl string, sc Scenario, pki *meshPKI, dir string) [2][]byte {
	t.Helper()
	var out [2][]byte
	for i, s := range []struct{ side, listen, target string }{
		{"A (outbound)", "127.0.0.1:9001", "127.0.0.1:9002"},
		{"B (inbound)", "127.0.0.1:9002", "127.0.0.1:8080"},
	} {
		name := fmt.Sprintf("%s-%c", strings.SplitN(tmpl, ".", 2)[0], 'A'+i)
		data := refConfig{Side: s.side, Name: name, Scenario: sc, Dir: dir, Listen: s.listen, Target: s.target}.hops(i == 0).withTLS(pki, i == 0)
		b, err := executeConfig(tmpl, data)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = b
	}
	return out
}

// TestReferenceConfigsGolden renders every reference configuration, plain
// and mTLS, for every scenario either tool runs, into one golden file per
// tool and mode (go test ./pkg/bench/ -run Golden -update rewrites them).
func TestReferenceConfigsGolden(t *testing.T) {
	for _, tmpl := range []string{"nginx.conf.tmpl", "haproxy.cfg.tmpl"} {
		for _, mode := range []string{"plain", "mtls"} {
			var pki *meshPKI
			if mode == "mtls" {
				pki = fixedPKI()
			}
			var b bytes.Buffer
			for _, sc := range Scenarios() {
				if sc == ScenarioTCP && strings.HasPrefix(tmpl, "nginx") {
					continue
				}
				for i, conf := range renderPair(t, tmpl, sc, pki, "/work/run") {
					fmt.Fprintf(&b, "#### %s, side %c\n%s\n", sc, 'A'+i, conf)
				}
			}
			golden.Assert(t, filepath.Join("testdata", "configs", strings.SplitN(tmpl, ".", 2)[0]+"-"+mode+".golden"), b.Bytes())
		}
	}
}

// TestReferenceConfigsTLS checks the settings each side must have for the
// comparison to be mutual TLS 1.3 with verified names, and that a plain
// run has none of them.
func TestReferenceConfigsTLS(t *testing.T) {
	tests := []struct {
		tmpl     string
		sc       Scenario
		a, b     []string // required on side A (outbound) and B (inbound)
		plainOut []string // absent from both sides of the plain configuration
	}{
		{"nginx.conf.tmpl", ScenarioS1,
			[]string{"proxy_pass https://next;", "proxy_ssl_verify on;", "proxy_ssl_name " + ServerIdentity() + ";", "proxy_ssl_certificate /work/mtls/client.crt;", "proxy_ssl_trusted_certificate /work/mtls/anchors.pem;", "proxy_ssl_protocols TLSv1.3;", "keepalive 256;"},
			[]string{"listen 127.0.0.1:9002 ssl", "ssl_verify_client on;", "ssl_client_certificate /work/mtls/anchors.pem;", "ssl_certificate /work/mtls/server.crt;", "ssl_protocols TLSv1.3;", "keepalive 256;"},
			[]string{"ssl"}},
		{"nginx.conf.tmpl", ScenarioGRPC,
			[]string{"grpc_pass grpcs://next;", "grpc_ssl_verify on;", "grpc_ssl_name " + ServerIdentity() + ";", "grpc_ssl_certificate /work/mtls/client.crt;"},
			[]string{"ssl backlog=4096 http2;", "ssl_verify_client on;"},
			[]string{"ssl"}},
		{"haproxy.cfg.tmpl", ScenarioS1,
			[]string{"server next 127.0.0.1:9002 ssl crt /work/mtls/client.pem ca-file /work/mtls/anchors.pem verify required sni str(" + ServerIdentity() + ") verifyhost " + ServerIdentity() + " ssl-min-ver TLSv1.3", "http-reuse always"},
			[]string{"bind 127.0.0.1:9002 ssl crt /work/mtls/server.pem ca-file /work/mtls/anchors.pem verify required ssl-min-ver TLSv1.3", "http-reuse always"},
			[]string{" ssl ", "verify"}},
		{"haproxy.cfg.tmpl", ScenarioGRPC,
			[]string{"alpn h2 proto h2"},
			[]string{"verify required ssl-min-ver TLSv1.3 ciphersuites TLS_AES_128_GCM_SHA256 alpn h2 proto h2"},
			[]string{" ssl ", "alpn"}},
		{"haproxy.cfg.tmpl", ScenarioTCP,
			[]string{"mode tcp", "verifyhost " + ServerIdentity()},
			[]string{"mode tcp", "verify required"},
			[]string{" ssl ", "verify"}},
	}
	for _, tt := range tests {
		t.Run(tt.tmpl+"/"+string(tt.sc), func(t *testing.T) {
			conf := renderPair(t, tt.tmpl, tt.sc, fixedPKI(), "/work/run")
			for i, want := range [][]string{tt.a, tt.b} {
				for _, w := range want {
					if !strings.Contains(string(conf[i]), w) {
						t.Errorf("side %c lacks %q:\n%s", 'A'+i, w, conf[i])
					}
				}
			}
			for i, c := range renderPair(t, tt.tmpl, tt.sc, nil, "/work/run") {
				for _, w := range tt.plainOut {
					if strings.Contains(string(c), w) {
						t.Errorf("plain side %c has %q:\n%s", 'A'+i, w, c)
					}
				}
			}
		})
	}
}

// TestReferenceConfigsParse has the installed nginx and haproxy check the
// syntax of every mTLS configuration, with the certificate files of a real
// run (skipped for a tool that is not installed).
func TestReferenceConfigsParse(t *testing.T) {
	pki := newTestPKI(t)
	for _, tool := range []struct {
		name, tmpl string
		check      func(path, conf, dir string) *exec.Cmd
	}{
		{ConfigNginx, "nginx.conf.tmpl", func(path, conf, dir string) *exec.Cmd {
			return exec.Command(path, "-t", "-q", "-e", filepath.Join(dir, "test.err"), "-p", dir, "-c", conf)
		}},
		{ConfigHAProxy, "haproxy.cfg.tmpl", func(path, conf, _ string) *exec.Cmd {
			return exec.Command(path, "-c", "-q", "-f", conf)
		}},
	} {
		path, err := exec.LookPath(tool.name)
		if err != nil {
			t.Logf("%s not installed: not checked", tool.name)
			continue
		}
		for _, sc := range Scenarios() {
			if sc == ScenarioTCP && tool.name == ConfigNginx {
				continue
			}
			dir := t.TempDir()
			for i, c := range renderPair(t, tool.tmpl, sc, pki, dir) {
				name := fmt.Sprintf("%s-%c", tool.name, 'A'+i)
				if err := os.MkdirAll(filepath.Join(dir, name+"-tmp"), 0o777); err != nil {
					t.Fatal(err)
				}
				conf := filepath.Join(dir, name+".conf")
				if err := os.WriteFile(conf, c, 0o644); err != nil {
					t.Fatal(err)
				}
				if out, err := tool.check(path, conf, dir).CombinedOutput(); err != nil {
					t.Errorf("%s %s side %c: %v\n%s\n%s", tool.name, sc, 'A'+i, err, out, c)
				}
			}
		}
	}
}
