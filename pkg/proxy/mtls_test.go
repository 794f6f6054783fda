package proxy

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshctl/meshctl/pkg/identity"
	"github.com/meshctl/meshctl/pkg/proxy/mtls"
)

// refusals is how many attempts each refusal case makes; the closing note's
// figures use -refusals=10000.
var refusals = flag.Int("refusals", 50, "attempts per mTLS refusal case")

const (
	clientID = "client.shop.serviceaccount.identity.meshctl.cluster.local"
	serverID = "server.shop.serviceaccount.identity.meshctl.cluster.local"
)

// meshCA is a trust anchor and an issuer.
type meshCA struct {
	root, issuer *identity.CA
	anchors      []byte
}

func newMeshCA(t testing.TB) *meshCA {
	t.Helper()
	now := time.Now()
	root, err := identity.GenerateRoot(identity.GenerateOptions{CommonName: "root", Lifetime: 24 * time.Hour, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := root.IssueIntermediate(identity.GenerateOptions{CommonName: "issuer", Lifetime: 12 * time.Hour, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return &meshCA{root: root, issuer: issuer, anchors: identity.EncodeCertificates([]*x509.Certificate{root.Cert})}
}

// provider returns a running identity provider for name, certified by ca
// and trusting trust's anchors (normally the same CA).
func (ca *meshCA) provider(t testing.TB, name string, trust *meshCA) *mtls.Provider {
	t.Helper()
	return runningProvider(t, mtls.Options{
		LocalName: name, TrustAnchorsPEM: trust.anchors,
		Client: mtls.LocalIssuer{Issuer: ca.issuer, Chain: [][]byte{ca.issuer.Cert.Raw}, Lifetime: time.Hour},
	})
}

// runningProvider starts the identity provider of opts (with a token file
// of its own) until the test ends and waits for its first certificate.
func runningProvider(t testing.TB, opts mtls.Options) *mtls.Provider {
	t.Helper()
	opts.TokenFile = t.TempDir() + "/token"
	if err := writeFile(opts.TokenFile, "t"); err != nil {
		t.Fatal(err)
	}
	p, err := mtls.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go p.Run(ctx)
	select {
	case <-p.Ready():
	case <-time.After(5 * time.Second):
		t.Fatal("no certificate")
	}
	return p
}

// countingBackend is an HTTP application that counts what reaches it.
type countingBackend struct {
	*httptest.Server
	requests atomic.Int64
	mu       sync.Mutex
	clientID []string
}

func newCountingBackend(t *testing.T) *countingBackend {
	b := &countingBackend{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.requests.Add(1)
		b.mu.Lock()
		b.clientID = append(b.clientID, r.Header.Get(HeaderClientID))
		b.mu.Unlock()
		_, _ = io.WriteString(w, "hello from the server\n")
	}))
	t.Cleanup(b.Close)
	return b
}

// wiretap relays TCP to target and keeps a copy of what the client sent.
func wiretap(t *testing.T, target string) (addr string, sent func() []byte) {
	t.Helper()
	ln := listenLoopback(t)
	var mu sync.Mutex
	var buf bytes.Buffer
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				up, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer up.Close()
				go func() { _, _ = io.Copy(c, up) }()
				b := make([]byte, 32<<10)
				for {
					n, err := c.Read(b)
					mu.Lock()
					buf.Write(b[:n])
					mu.Unlock()
					if _, werr := up.Write(b[:n]); werr != nil || err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String(), func() []byte {
		mu.Lock()
		defer mu.Unlock()
		return append([]byte(nil), buf.Bytes()...)
	}
}

// startMeshed starts a proxy with the given TLS provider.
func startMeshed(t testing.TB, cfg Config, tlsp TLS) (*Proxy, Listeners) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cfg.ShutdownGracePeriod = time.Second
	p, ls, done := startProxyWith(t, ctx, cfg, Deps{TLS: tlsp}, Listeners{})
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return p, ls
}

func scrape(t *testing.T, p *Proxy) string {
	t.Helper()
	rec := httptest.NewRecorder()
	p.adminHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

func TestMTLSBetweenProxies(t *testing.T) {
	ca := newMeshCA(t)
	backend := newCountingBackend(t)
	server, sls := startMeshed(t, Config{InboundTarget: backend.Listener.Addr().String()}, ca.provider(t, serverID, ca))
	tap, sent := wiretap(t, sls.Inbound.Addr().String())
	client, cls := startMeshed(t, Config{OutboundTarget: tap, OutboundTargetIdentity: serverID}, ca.provider(t, clientID, ca))

	req, _ := http.NewRequest("GET", "http://"+cls.Outbound.Addr().String()+"/secret-path", nil)
	req.Header.Set(HeaderClientID, "forged.identity")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "hello from the server\n" {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
	backend.mu.Lock()
	got := backend.clientID
	backend.mu.Unlock()
	if len(got) != 1 || got[0] != clientID {
		t.Fatalf("application saw %s = %q, want the verified %q", HeaderClientID, got, clientID)
	}
	wire := sent()
	if len(wire) == 0 || wire[0] != 0x16 || bytes.Contains(wire, []byte("secret-path")) || bytes.Contains(wire, []byte("forged")) {
		t.Fatalf("bytes between the proxies are not TLS-only (%d bytes, first %#x)", len(wire), wire[:min(1, len(wire))])
	}
	for _, c := range []struct {
		p    *Proxy
		want map[string]string
	}{
		{server, map[string]string{"authority": cls.Outbound.Addr().String(), "client_id": clientID, "direction": "inbound", "no_tls_reason": "", "server_id": "", "target_addr": backend.Listener.Addr().String(), "tls": "true"}},
		{client, map[string]string{"client_id": "", "direction": "outbound", "no_tls_reason": "", "server_id": serverID, "target_addr": tap, "tls": "true"}},
	} {
		if !hasSeries(c.p, "request_total", c.want) {
			t.Errorf("metrics lack request_total with %v:\n%s", c.want, grepLines(scrape(t, c.p), "request_total"))
		}
	}
}

func TestMTLSOpaqueTCP(t *testing.T) {
	ca := newMeshCA(t)
	echo := listenLoopback(t)
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	t.Cleanup(func() { echo.Close() })
	_, sls := startMeshed(t, Config{InboundTarget: echo.Addr().String()}, ca.provider(t, serverID, ca))
	_, cls := startMeshed(t, Config{OutboundTarget: sls.Inbound.Addr().String(), OutboundTargetIdentity: serverID}, ca.provider(t, clientID, ca))
	c, err := net.Dial("tcp", cls.Outbound.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := "\x00\x01opaque bytes, not HTTP\r\n"
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatal(err)
	}
	_ = c.(*net.TCPConn).CloseWrite()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil || string(got) != msg {
		t.Fatalf("echo through mTLS: %q, %v", got, err)
	}
}

func TestAppTLSPassesThrough(t *testing.T) {
	ca := newMeshCA(t)
	app := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "app tls")
	}))
	defer app.Close()
	_, sls := startMeshed(t, Config{InboundTarget: app.Listener.Addr().String()}, ca.provider(t, serverID, ca))
	client := app.Client()
	client.Transport.(*http.Transport).TLSClientConfig.ServerName = "example.com"
	resp, err := client.Get("https://" + sls.Inbound.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "app tls" {
		t.Fatalf("%q", body)
	}
}

// staticTLS presents a fixed certificate, for peers the provider would
// never produce (expired, from a foreign CA).
type staticTLS struct {
	name  string
	cert  tls.Certificate
	roots *x509.CertPool
}

func (s staticTLS) LocalName() string         { return s.name }
func (s staticTLS) ServerConfig() *tls.Config { return nil }
func (s staticTLS) ClientConfig(id string) *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS13, ServerName: id, RootCAs: s.roots, Certificates: []tls.Certificate{s.cert}, NextProtos: []string{mtls.ALPN}}
}

// expiredClient returns a client TLS provider whose certificate expired an
// hour ago, issued by ca and trusting ca.
func expiredClient(t *testing.T, ca *meshCA) staticTLS {
	t.Helper()
	key, csr := newCSR(t, clientID)
	der, err := ca.issuer.IssueLeaf(csr, time.Hour, 0, time.Now().Add(-2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.root.Cert)
	return staticTLS{name: clientID, cert: tls.Certificate{Certificate: [][]byte{der, ca.issuer.Cert.Raw}, PrivateKey: key}, roots: pool}
}

// TestMTLSRefusals: every refusal case is refused every time and nothing
// reaches the application.
func TestMTLSRefusals(t *testing.T) {
	ca, foreign := newMeshCA(t), newMeshCA(t)
	backend := newCountingBackend(t)
	serverTLS := ca.provider(t, serverID, ca)
	port := backend.Listener.Addr().(*net.TCPAddr).Port
	_, sls := startMeshed(t, Config{InboundTarget: backend.Listener.Addr().String(), RequireIdentityPorts: PortSet{uint16(port): {}}}, serverTLS)
	serverAddr := sls.Inbound.Addr().String()

	// Each client is a proxy whose outbound expects serverID (or, for the
	// wrong-identity case, another name) at the server.
	clientVia := func(tlsp TLS, expect string) string {
		_, cls := startMeshed(t, Config{OutboundTarget: serverAddr, OutboundTargetIdentity: expect}, tlsp)
		return "http://" + cls.Outbound.Addr().String() + "/"
	}
	cases := []struct {
		name string
		url  string
		want int
	}{
		{"plaintext to an identity-required port", "http://" + serverAddr + "/", http.StatusForbidden},
		{"server proves another identity", clientVia(ca.provider(t, clientID, ca), "payments.bank.serviceaccount.identity.meshctl.cluster.local"), http.StatusBadGateway},
		{"expired client certificate", clientVia(expiredClient(t, ca), serverID), http.StatusBadGateway},
		{"client from a foreign CA", clientVia(foreign.provider(t, clientID, foreign), serverID), http.StatusBadGateway},
	}
	httpc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			refused := 0
			for range *refusals {
				resp, err := httpc.Get(c.url)
				if err != nil {
					t.Fatalf("attempt failed outright: %v", err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == c.want {
					refused++
				}
			}
			if refused != *refusals || backend.requests.Load() != 0 {
				t.Fatalf("%d of %d refused with %d; %d requests reached the application", refused, *refusals, c.want, backend.requests.Load())
			}
			t.Logf("%s: %d/%d refused, 0 requests delivered", c.name, refused, *refusals)
		})
	}
	t.Run("plaintext TCP to an identity-required port", func(t *testing.T) {
		for range min(*refusals, 200) {
			c, err := net.Dial("tcp", serverAddr)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.WriteString(c, "\x00not http\r\n")
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			b, _ := io.ReadAll(c)
			c.Close()
			if len(b) != 0 {
				t.Fatalf("plaintext TCP got an answer %q", b)
			}
		}
		if backend.requests.Load() != 0 {
			t.Fatal("bytes reached the application")
		}
	})
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func writeFile(path, content string) error {
	return os.WriteFile(path, []byte(content), 0o600)
}

func newCSR(t *testing.T, name string) (*ecdsa.PrivateKey, *x509.CertificateRequest) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{name}}, key)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, csr
}

func TestAdminIdentity(t *testing.T) {
	ca := newMeshCA(t)
	p, _ := startMeshed(t, Config{InboundTarget: "127.0.0.1:1"}, ca.provider(t, serverID, ca))
	rec := httptest.NewRecorder()
	p.adminHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/identity", nil))
	certs, err := identity.ParseCertificates(rec.Body.Bytes())
	if rec.Code != 200 || err != nil || len(certs) != 2 || certs[0].DNSNames[0] != serverID {
		t.Fatalf("/identity: %d, %d certificates, %v\n%s", rec.Code, len(certs), err, rec.Body)
	}
	if bytes.Contains(rec.Body.Bytes(), []byte("PRIVATE KEY")) {
		t.Fatal("/identity leaks a private key")
	}
	plain, _ := startMeshed(t, Config{InboundTarget: "127.0.0.1:1"}, nil)
	rec = httptest.NewRecorder()
	plain.adminHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/identity", nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("/identity without identity: %d", rec.Code)
	}
}

// BenchmarkPairNewConnection opens one client connection per iteration
// through a proxy pair to a TCP echo server and does one round trip: each
// connection is a new upstream connection between the proxies, so the
// mTLS variant pays one TLS 1.3 handshake (ECDSA P-256) per iteration. The
// difference between the two is the added cost of the first request.
//
//	go test -run '^$' -bench PairNewConnection -benchtime 2000x ./pkg/proxy/
func BenchmarkPairNewConnection(b *testing.B) {
	for _, secured := range []bool{false, true} {
		name := "plaintext"
		if secured {
			name = "mtls"
		}
		b.Run(name, func(b *testing.B) {
			echo, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer echo.Close()
			go func() {
				for {
					c, err := echo.Accept()
					if err != nil {
						return
					}
					go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
				}
			}()
			port := uint16(echo.Addr().(*net.TCPAddr).Port)
			var stls, ctls TLS
			serverCfg := Config{InboundTarget: echo.Addr().String(), OpaquePorts: PortSet{port: {}}}
			clientCfg := Config{}
			if secured {
				ca := newMeshCA(b)
				stls, ctls = ca.provider(b, serverID, ca), ca.provider(b, clientID, ca)
				clientCfg.OutboundTargetIdentity = serverID
			}
			_, sls := startMeshed(b, serverCfg, stls)
			clientCfg.OutboundTarget = sls.Inbound.Addr().String()
			clientCfg.OpaquePorts = PortSet{uint16(sls.Inbound.Addr().(*net.TCPAddr).Port): {}}
			_, cls := startMeshed(b, clientCfg, ctls)
			addr := cls.Outbound.Addr().String()
			buf := make([]byte, 5)
			b.ResetTimer()
			for b.Loop() {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := c.Write([]byte("ping\n")); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(c, buf); err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
		})
	}
}

// TestExplicitPeerCarriesHTTP1OverH2: an explicit target with an identity
// is a meshed peer, so HTTP/1 requests from many client connections travel
// to it multiplexed on one HTTP/2 connection, as between meshed pods, and
// reach the application as HTTP/1.1 again.
func TestExplicitPeerCarriesHTTP1OverH2(t *testing.T) {
	ca := newMeshCA(t)
	var protos sync.Map
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		protos.Store(r.Proto, true)
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(backend.Close)
	server, sls := startMeshed(t, Config{InboundTarget: backend.Listener.Addr().String()}, ca.provider(t, serverID, ca))
	_, cls := startMeshed(t, Config{OutboundTarget: sls.Inbound.Addr().String(), OutboundTargetIdentity: serverID}, ca.provider(t, clientID, ca))

	url := "http://" + cls.Outbound.Addr().String() + "/"
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A client of its own: one application connection each.
			c := &http.Client{Transport: &http.Transport{}}
			defer c.CloseIdleConnections()
			for range 5 {
				resp, err := c.Get(url)
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	var seen []string
	protos.Range(func(k, _ any) bool { seen = append(seen, k.(string)); return true })
	if len(seen) != 1 || seen[0] != "HTTP/1.1" {
		t.Errorf("the application saw %v, want only HTTP/1.1", seen)
	}
	opened := seriesWith(server, "tcp_open_total", map[string]string{"direction": "inbound", "peer": "src"})
	if len(opened) != 1 || opened[0].GetCounter().GetValue() != 1 {
		var n []float64
		for _, m := range opened {
			n = append(n, m.GetCounter().GetValue())
		}
		t.Errorf("the server proxy accepted %v connections, want 1 (HTTP/2 between the proxies)", n)
	}
}
