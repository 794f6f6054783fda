package bench

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// builtMeshctl is the meshctl binary the subprocess tests share: built once
// per test binary, on first use, and removed by TestMain. It is the test
// binary's one package-level variable: a build takes tens of seconds on a
// shared 2-core machine, and three tests need the same binary.
var builtMeshctl struct {
	once sync.Once
	dir  string
	path string
	err  error
	out  []byte
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builtMeshctl.dir != "" {
		_ = os.RemoveAll(builtMeshctl.dir)
	}
	os.Exit(code)
}

// meshctlBinary builds meshctl (once) or skips the test when it cannot.
func meshctlBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds meshctl and runs subprocesses")
	}
	b := &builtMeshctl
	b.once.Do(func() {
		if b.dir, b.err = os.MkdirTemp("", "meshctl-bench-test-"); b.err != nil {
			return
		}
		b.path = filepath.Join(b.dir, "meshctl")
		b.out, b.err = exec.Command("go", "build", "-o", b.path, "github.com/meshctl/meshctl/cmd/meshctl").CombinedOutput()
	})
	if b.err != nil {
		t.Skipf("cannot build meshctl: %v\n%s", b.err, b.out)
	}
	return b.path
}

// TestBenchSmoke runs the whole harness once, briefly: one round of the
// meshctl pair and the floor pair (both real subprocesses of a freshly
// built meshctl) at 200 rps for 2 s. It checks that every phase produced
// figures, not what they are.
func TestBenchSmoke(t *testing.T) {
	bin := meshctlBinary(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := Bench(ctx, Options{
		Rounds: 1, Duration: 2 * time.Second, Warmup: 200 * time.Millisecond, Rate: 200, Conns: 4,
		ClosedLoop: ClosedLoop{Conns: 4, Duration: 500 * time.Millisecond},
		References: []string{ConfigFloor}, Binary: bin, WorkDir: dir, Progress: testWriter{t},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Runs) != 4 {
		t.Fatalf("%d runs, want baseline, meshctl, floor, baseline", len(res.Runs))
	}
	for _, r := range res.Runs {
		if r.Err != "" {
			t.Errorf("%s: %s", r.Config, r.Err)
			continue
		}
		if r.Fixed.Requests == 0 || r.Fixed.Errors != 0 || r.Closed == nil || r.Closed.Requests == 0 {
			t.Errorf("%s: fixed %+v closed %+v", r.Config, r.Fixed, r.Closed)
		}
		if r.Config == ConfigBaseline {
			continue
		}
		if r.Startup == nil || r.Startup.FirstOKMillis <= 0 || len(r.Idle.RSS) != 2 || r.Idle.RSS[0] == 0 || r.FixedUsage.HWM[1] == 0 {
			t.Errorf("%s: startup %+v idle %+v", r.Config, r.Startup, r.Idle)
		}
		if len(r.Idle.Anon) != 2 || r.Idle.Anon[0] == 0 || r.Idle.Anon[0] >= r.Idle.RSS[0] {
			t.Errorf("%s: idle RssAnon %v KiB, want more than 0 and less than RSS %v KiB", r.Config, r.Idle.Anon, r.Idle.RSS)
		}
	}
	rep := Summarize(res)
	if m, ok := rep.Find(ScenarioS1, ConfigMeshctl); !ok || m.AddedP50.N != 1 || m.P50VsFloor.N+m.RPSVsFloor.N == 0 {
		t.Errorf("summary of meshctl: %+v", m)
	}
	if _, err := os.Stat(filepath.Join(dir, "s1-r1-1-meshctl", "meshctl-A.log")); err != nil {
		t.Errorf("child log: %v", err)
	}
	// The pairs ran the work dir's copy of the binary (binary.go).
	if copied := filepath.Join(dir, "meshctl"); res.Options.Binary != copied {
		t.Errorf("the pairs ran %s, want the copy %s", res.Options.Binary, copied)
	} else if fi, err := os.Stat(copied); err != nil || fi.Mode()&0o111 == 0 {
		t.Errorf("the copy: %v %v", fi, err)
	}
	if res.Hop.MTLS {
		t.Error("a plain run reports mTLS")
	}
}

// TestBenchMTLS runs a very short --mtls benchmark of every scenario with
// every reference pair (skipped when nginx or haproxy is not installed) and
// checks that every configuration served every request without an error,
// through mutual TLS in every pair.
func TestBenchMTLS(t *testing.T) {
	bin := meshctlBinary(t)
	for _, tool := range []string{ConfigNginx, ConfigHAProxy} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed: %v", tool, err)
		}
	}
	// A relative work directory, as `meshctl bench --work-dir out` gives:
	// the children, each started in a directory of its own, must still
	// find their configurations, certificates and tokens in it.
	t.Chdir(t.TempDir())
	dir := "work"
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	res, err := Bench(ctx, Options{
		Scenarios: Scenarios(), MTLS: true,
		Rounds: 1, Duration: time.Second, Warmup: 200 * time.Millisecond, Rate: 200, Conns: 4, Idle: 100 * time.Millisecond,
		ClosedLoop: ClosedLoop{Conns: 4, Duration: 300 * time.Millisecond},
		Binary:     bin, WorkDir: dir, Progress: testWriter{t},
	})
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]int{}
	for _, r := range res.Runs {
		name := string(r.Scenario) + "/" + r.Config
		if r.Err != "" {
			t.Errorf("%s: %s", name, r.Err)
			continue
		}
		if r.Fixed.Requests == 0 || r.Fixed.Errors != 0 || r.Closed.Requests == 0 || r.Closed.Errors != 0 {
			t.Errorf("%s: fixed %d requests %d errors, closed %d requests %d errors", name, r.Fixed.Requests, r.Fixed.Errors, r.Closed.Requests, r.Closed.Errors)
		}
		served[name]++
	}
	for _, sc := range Scenarios() {
		for _, c := range []string{ConfigBaseline, ConfigMeshctl, ConfigNginx, ConfigHAProxy, ConfigFloor} {
			if c == ConfigNginx && sc == ScenarioTCP {
				continue // needs nginx's stream module
			}
			if served[string(sc)+"/"+c] == 0 {
				t.Errorf("%s/%s did not run", sc, c)
			}
		}
	}
	if !res.Hop.MTLS || res.Hop.ServerIdentity != ServerIdentity() {
		t.Errorf("hop %+v", res.Hop)
	}
	for _, f := range []string{"token-" + clientAccount, "token-" + serverAccount, "client.key", "server.key", "client.pem", "server.pem"} {
		st, err := os.Stat(filepath.Join(dir, "mtls", f))
		if err != nil {
			t.Error(err)
		} else if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", f, st.Mode().Perm())
		}
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(string(b))
	return len(b), nil
}

// TestReferencePairsMTLS starts each reference pair and the floor as an
// mTLS run does and checks their B side directly: with the client
// certificate it speaks TLS 1.3 with the pinned cipher suite and proves the
// server identity; without one it serves nothing.
func TestReferencePairsMTLS(t *testing.T) {
	bin := meshctlBinary(t)
	pki := newTestPKI(t)
	up, err := StartUpstream("127.0.0.1", 64)
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	anchors := x509.NewCertPool()
	anchors.AppendCertsFromPEM(pki.anchorsPEM)
	cert, err := tls.LoadX509KeyPair(pki.client.Chain, pki.client.Key)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		start starter
	}{{ConfigNginx, startNginx}, {ConfigHAProxy, startHAProxy}, {ConfigFloor, startFloor}} {
		t.Run(c.name, func(t *testing.T) {
			var tool string
			if c.name != ConfigFloor {
				if tool, err = exec.LookPath(c.name); err != nil {
					t.Skipf("%s not installed", c.name)
				}
			}
			env := pairEnv{opts: Options{Binary: bin, BodySize: 64}.Defaults(), scenario: ScenarioS1, upstream: up.HTTPAddr, dir: t.TempDir(), tool: tool, pki: pki}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			p, err := c.start(ctx, env)
			if err != nil {
				t.Fatal(err)
			}
			defer p.stop()
			get := func(withCert bool) (*tls.ConnectionState, int, error) {
				cfg := &tls.Config{RootCAs: anchors, ServerName: ServerIdentity(), MinVersion: tls.VersionTLS12}
				if withCert {
					cfg.Certificates = []tls.Certificate{cert}
				}
				hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
				resp, err := hc.Get("https://" + p.listens[1] + "/")
				if err != nil {
					return nil, 0, err
				}
				defer resp.Body.Close()
				_, _ = io.Copy(io.Discard, resp.Body)
				return resp.TLS, resp.StatusCode, nil
			}
			st, code, err := get(true)
			if err != nil || code != http.StatusOK {
				t.Fatalf("with the client certificate: %d, %v", code, err)
			}
			if st.Version != tls.VersionTLS13 || st.CipherSuite != tls.TLS_AES_128_GCM_SHA256 || st.PeerCertificates[0].DNSNames[0] != ServerIdentity() {
				t.Errorf("negotiated %s %s with %v", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite), st.PeerCertificates[0].DNSNames)
			}
			if _, code, err := get(false); err == nil && code == http.StatusOK {
				t.Error("B served a client without a certificate")
			} else {
				t.Logf("without a client certificate: %d, %v", code, err)
			}
		})
	}
}
