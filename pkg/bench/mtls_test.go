package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	identityv1 "github.com/meshctl/meshctl/pkg/api/identity/v1"
	"github.com/meshctl/meshctl/pkg/meshapi"
)

func newTestPKI(t *testing.T) *meshPKI {
	t.Helper()
	p, err := newMeshPKI(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.close)
	return p
}

// TestMeshPKIFiles checks what the run leaves on disk: secrets readable by
// their owner only, and reference certificates that chain to the anchor
// and name exactly the identity of their side, for both TLS roles.
func TestMeshPKIFiles(t *testing.T) {
	p := newTestPKI(t)
	for _, f := range []string{p.tokens[ClientIdentity()], p.tokens[ServerIdentity()], p.client.Key, p.client.Combined, p.server.Key, p.server.Combined} {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", filepath.Base(f), st.Mode().Perm())
		}
	}
	if a, b := readFile(t, p.tokens[ClientIdentity()]), readFile(t, p.tokens[ServerIdentity()]); a == b || len(strings.TrimSpace(a)) != 64 {
		t.Errorf("tokens %q and %q: want two different 256-bit tokens", a, b)
	}
	anchors := x509.NewCertPool()
	anchors.AppendCertsFromPEM(p.anchorsPEM)
	for name, f := range map[string]certFiles{ClientIdentity(): p.client, ServerIdentity(): p.server} {
		pair, err := tls.LoadX509KeyPair(f.Chain, f.Key)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tls.LoadX509KeyPair(f.Combined, f.Combined); err != nil {
			t.Errorf("combined file: %v", err)
		}
		leaf, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		if len(pair.Certificate) != 2 || len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != name {
			t.Errorf("%s: chain of %d, names %v", name, len(pair.Certificate), leaf.DNSNames)
		}
		if _, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok || leaf.PublicKey.(*ecdsa.PublicKey).Curve != elliptic.P256() {
			t.Errorf("%s: key %T, want ECDSA P-256", name, leaf.PublicKey)
		}
		inter := x509.NewCertPool()
		issuer, _ := x509.ParseCertificate(pair.Certificate[1])
		inter.AddCert(issuer)
		for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
			if _, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: anchors, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
				t.Errorf("%s does not verify for %v: %v", name, usage, err)
			}
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCertifyService asks the run's Certify service for certificates the
// way a proxy does: each token proves its own identity and nothing else.
func TestCertifyService(t *testing.T) {
	p := newTestPKI(t)
	conn, err := grpc.NewClient("passthrough:///"+p.certifyAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := identityv1.NewIdentityClient(conn)
	token := func(name string) []byte { return []byte(strings.TrimSpace(readFile(t, p.tokens[name]))) }
	csr := func(name string) []byte {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{name}}, key)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	resp, err := client.Certify(context.Background(), &identityv1.CertifyRequest{Identity: ServerIdentity(), Token: token(ServerIdentity()), CertificateSigningRequest: csr(ServerIdentity())})
	if err != nil {
		t.Fatalf("the server's own token was refused: %v", err)
	}
	leaf, err := x509.ParseCertificate(resp.GetLeafCertificate())
	if err != nil || leaf.DNSNames[0] != ServerIdentity() {
		t.Fatalf("issued %v, %v", leaf, err)
	}
	tests := []struct {
		name  string
		token []byte
		id    string
		code  codes.Code
	}{
		{"client's token for the server's identity", token(ClientIdentity()), ServerIdentity(), codes.PermissionDenied},
		{"unknown token", []byte("0123"), ClientIdentity(), codes.Unauthenticated},
		{"no token", nil, ClientIdentity(), codes.Unauthenticated},
	}
	for _, tt := range tests {
		_, err := client.Certify(context.Background(), &identityv1.CertifyRequest{Identity: tt.id, Token: tt.token, CertificateSigningRequest: csr(tt.id)})
		if status.Code(err) != tt.code {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.code)
		}
	}
}

func TestTokenReviewer(t *testing.T) {
	r := tokenReviewer{accounts: map[string]string{"good": "system:serviceaccount:meshctl-bench:bench-client"}}
	res, err := r.Review(context.Background(), "good", meshapi.TokenAudience)
	if err != nil || !res.Authenticated || res.Username != "system:serviceaccount:meshctl-bench:bench-client" || len(res.Audiences) != 1 || res.Audiences[0] != meshapi.TokenAudience {
		t.Fatalf("known token: %+v, %v", res, err)
	}
	for _, tc := range [][2]string{{"good", "https://kubernetes.default.svc"}, {"goo", meshapi.TokenAudience}, {"", meshapi.TokenAudience}} {
		if res, err := r.Review(context.Background(), tc[0], tc[1]); err != nil || res.Authenticated {
			t.Errorf("token %q for %q: %+v, %v", tc[0], tc[1], res, err)
		}
	}
}

// TestWriteSecretReplacesMode checks that a reused work directory cannot
// leave a token world-readable.
func TestWriteSecretReplacesMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeSecret(path, []byte("new")); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 || readFile(t, path) != "new" {
		t.Fatalf("mode %v (%v)", st.Mode().Perm(), err)
	}
}

// TestTLSFloor runs the floor pair in process with the run's certificates:
// bytes go through mutual TLS 1.3, a client without a certificate and a
// server with the wrong name are refused.
func TestTLSFloor(t *testing.T) {
	p := newTestPKI(t)
	up, err := StartUpstream("127.0.0.1", 16)
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	serve := func(o SpliceOptions) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = Splice(ctx, ln, o) }()
		return ln.Addr().String()
	}
	srvCfg, err := FloorTLS{Cert: p.server.Chain, Key: p.server.Key, CA: p.anchorsFile}.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	b := serve(SpliceOptions{Target: up.TCPAddr, ServerTLS: srvCfg})
	client := FloorTLS{Cert: p.client.Chain, Key: p.client.Key, CA: p.anchorsFile, ServerName: ServerIdentity()}
	cliCfg, err := client.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	a := serve(SpliceOptions{Target: b, ClientTLS: cliCfg})
	if got := echo(t, a); got != "ping" {
		t.Fatalf("through the TLS floor: %q", got)
	}

	// Straight to B: a TLS client without a certificate is refused.
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(p.anchorsPEM)
	c, err := tls.Dial("tcp", b, &tls.Config{RootCAs: pool, ServerName: ServerIdentity(), MinVersion: tls.VersionTLS13})
	if err == nil {
		_, err = c.Write([]byte("ping"))
		if err == nil {
			_, err = c.Read(make([]byte, 4))
		}
		_ = c.Close()
	}
	if err == nil {
		t.Error("B served a client without a certificate")
	}
	// A expecting another name refuses B.
	client.ServerName = ClientIdentity()
	wrong, err := client.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	if got := echo(t, serve(SpliceOptions{Target: b, ClientTLS: wrong})); got != "" {
		t.Errorf("A accepted a server proving another name: %q", got)
	}
	if _, err := (FloorTLS{Cert: p.client.Chain, Key: p.client.Key, CA: p.anchorsFile}).ClientConfig(); err == nil {
		t.Error("a client config without a server name was built")
	}
}

// echo writes "ping" to addr and returns what comes back before EOF.
func echo(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("ping")); err != nil {
		return ""
	}
	_ = c.(*net.TCPConn).CloseWrite()
	b, _ := io.ReadAll(c)
	return string(b)
}

// TestMeshctlPairMTLS starts the meshctl pair as an mTLS run does and
// checks on the proxies' own metrics that the hop between them is TLS with
// the expected identities on both ends, that B refuses a plaintext client
// and that A refuses a B proving another identity.
func TestMeshctlPairMTLS(t *testing.T) {
	bin := meshctlBinary(t)
	p := newTestPKI(t)
	up, err := StartUpstream("127.0.0.1", 64)
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	dir := t.TempDir()
	env := pairEnv{opts: Options{Binary: bin, BodySize: 64}.Defaults(), scenario: ScenarioS1, upstream: up.HTTPAddr, dir: dir, pki: p}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pr, err := startMeshctl(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	defer pr.stop()
	c, err := dialer{target: pr.entry, scenario: ScenarioS1, body: 64, deadline: time.Now().Add(10 * time.Second)}.dial()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		if err := c.do(); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	c.close()

	in := requestTotal(t, pr.admins[1], map[string]string{"direction": "inbound", "tls": "true", "client_id": ClientIdentity()})
	out := requestTotal(t, pr.admins[0], map[string]string{"direction": "outbound", "tls": "true", "server_id": ServerIdentity()})
	t.Logf("request_total over mTLS: B inbound from %s %v, A outbound to %s %v", ClientIdentity(), in, ServerIdentity(), out)
	if in < 20 || out < 20 {
		t.Errorf("request_total over mTLS: B inbound %v, A outbound %v; want ≥ 20 each", in, out)
	}
	if plain := requestTotal(t, pr.admins[1], map[string]string{"direction": "inbound", "tls": "no_identity"}); plain != 0 {
		t.Errorf("B counted %v plaintext requests", plain)
	}

	// A plaintext client straight to B's inbound is not served.
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + pr.listens[1] + "/")
	if err == nil {
		_ = resp.Body.Close()
		t.Logf("plaintext to B: %s", resp.Status)
		if resp.StatusCode == http.StatusOK {
			t.Error("B served a plaintext client")
		}
	} else {
		t.Logf("plaintext to B: %v", err)
	}

	// An A that expects another identity gets nothing through B.
	ad, err := addrs("127.0.0.1", 3)
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := startProcess(dir, "meshctl-A-wrong", []string{bin, "proxy", "--inbound-addr", ad[0], "--outbound-addr", ad[1], "--admin-addr", ad[2],
		"--outbound-target", pr.listens[1], "--outbound-target-identity", ClientIdentity(), "--log-level", "warn"}, p.proxyEnv(ClientIdentity())...)
	if err != nil {
		t.Fatal(err)
	}
	defer wrong.stop(3 * time.Second)
	if _, err := wrong.waitListening(ctx, ad[1], 10*time.Second); err != nil {
		t.Fatal(err)
	}
	wc, err := dialer{target: ad[1], scenario: ScenarioS1, body: 64, deadline: time.Now().Add(10 * time.Second)}.dial()
	if err != nil {
		t.Fatal(err)
	}
	defer wc.close()
	if err := wc.do(); err == nil {
		t.Error("an A expecting another identity got a response through B")
	} else {
		t.Logf("A expecting %s: %v", ClientIdentity(), err)
	}
	if n := counterSum(t, ad[2], "meshctl_proxy_tls_handshake_failures_total", map[string]string{"direction": "outbound"}); n == 0 {
		t.Error("the refused B is not counted as a failed handshake")
	}
}

// requestTotal sums request_total on a proxy's admin endpoint over the
// series carrying every label in want.
func requestTotal(t *testing.T, admin string, want map[string]string) float64 {
	t.Helper()
	return counterSum(t, admin, "request_total", want)
}

// counterSum sums the counter name on a proxy's admin endpoint over the
// series carrying every label in want.
func counterSum(t *testing.T, admin, name string, want map[string]string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, m := range families[name].GetMetric() {
		if hasLabels(m, want) {
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	got := map[string]string{}
	for _, l := range m.GetLabel() {
		got[l.GetName()] = l.GetValue()
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}
