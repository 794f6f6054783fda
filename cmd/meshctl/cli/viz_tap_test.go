package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/meshctl/meshctl/pkg/proxy"
	"github.com/meshctl/meshctl/pkg/testutil/proxytest"
	"github.com/meshctl/meshctl/pkg/testutil/syncbuf"
)

// startTapTestProxy runs a real proxy in explicit-target mode in front of
// target, with tap enabled for token; it returns its inbound and control
// addresses.
func startTapTestProxy(t *testing.T, target, token string) (inbound, control string) {
	t.Helper()
	ls := proxytest.Start(t, proxy.Config{InboundTarget: target, TapTokenSHA256: proxytest.TapTokenSHA256(token)}, proxy.Deps{})
	return ls.Inbound.Addr().String(), ls.Control.Addr().String()
}

// tapAPIServer stands in for the Kubernetes API server: it lists one
// meshed pod shop/web-1 at 127.0.0.1, serves the tap token Secret, and
// proxies pods/http:web-1:4190/proxy/* to the proxy's control port the
// way the pod proxy subresource does (streaming, Authorization consumed).
// It returns a kubeconfig for it.
func tapAPIServer(t *testing.T, control, secretToken string) string {
	t.Helper()
	ctl, _ := url.Parse("http://" + control)
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(ctl)
			pr.Out.URL.Path = strings.TrimPrefix(pr.In.URL.Path, "/api/v1/namespaces/shop/pods/http:web-1:4190/proxy")
			pr.Out.Header.Del("Authorization")
		},
		FlushInterval: -1,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/api/v1/namespaces/shop/pods":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"kind":"PodList","apiVersion":"v1","items":[{"metadata":{"name":"web-1","namespace":"shop","labels":{"app":"web"}},
"spec":{"initContainers":[{"name":"meshctl-proxy","image":"meshctl","restartPolicy":"Always"}],"containers":[{"name":"app","image":"app"}]},
"status":{"phase":"Running","podIP":"127.0.0.1"}}]}`)
		case r.Method == http.MethodGet && r.URL.Path == "/api/v1/namespaces/meshctl/secrets/meshctl-tap-token":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"kind":"Secret","apiVersion":"v1","metadata":{"name":"meshctl-tap-token","namespace":"meshctl"},"data":{"token":%q}}`,
				base64.StdEncoding.EncodeToString([]byte(secretToken)))
		case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/api/v1/namespaces/shop/pods/http:web-1:4190/proxy/"):
			// Full duplex, as the proxy itself does (http.go): without
			// it, net/http consumes the rest of the request body when the
			// response head is written, racing the reverse proxy's
			// transport, which may still be reading the body's end to
			// forward it. The transport's read then fails, it closes the
			// upstream connection, and the tap stream ends with
			// "unexpected EOF" a few ms after opening (20-run loops with
			// both cores busy failed on the first or second loop; 5 × 20
			// pass with this).
			_ = http.NewResponseController(w).EnableFullDuplex()
			rp.ServeHTTP(w, r)
		default:
			http.Error(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`, http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := "apiVersion: v1\nkind: Config\nclusters: [{name: test, cluster: {server: " + srv.URL + "}}]\n" +
		"users: [{name: test, user: {token: api-token}}]\ncontexts: [{name: test, context: {cluster: test, user: test}}]\ncurrent-context: test\n"
	if err := os.WriteFile(kubeconfig, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return kubeconfig
}

// startCommand runs args in the background with cancellable context.
func startCommand(t *testing.T, args string) (out, errOut *syncbuf.Buffer, stop func() int) {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	out, errOut = &syncbuf.Buffer{}, &syncbuf.Buffer{}
	streams := genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: out, ErrOut: errOut}
	ctx, cancel := context.WithCancel(context.Background())
	code := make(chan int, 1)
	go func() { code <- Execute(ctx, streams, strings.Fields(args)) }()
	var once sync.Once
	var c int
	stop = func() int {
		once.Do(func() {
			cancel()
			select {
			case c = <-code:
			case <-time.After(10 * time.Second):
				t.Fatal("command did not stop within 10s of its cancellation")
			}
		})
		return c
	}
	t.Cleanup(func() { stop() })
	return out, errOut, stop
}

// waitFor polls a command's output until it contains want, sending
// traffic meanwhile; on failure it shows the command's stderr too.
func waitFor(t *testing.T, out, errOut fmt.Stringer, want string, traffic func()) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q within 10s in:\n%s\nstderr:\n%s", want, out, errOut)
		}
		traffic()
		time.Sleep(50 * time.Millisecond)
	}
}

func tapBackend(t *testing.T) string {
	t.Helper()
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/fail") {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_, _ = io.WriteString(w, "hello")
	}))
	t.Cleanup(b.Close)
	return strings.TrimPrefix(b.URL, "http://")
}

func get(t *testing.T, url, host string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Host = host
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// TestVizTapRealProxy runs `meshctl viz tap` through a real clientset and
// an API-server stand-in to a real proxy: filtered requests arrive as
// req/rsp/end lines with hostile bytes escaped, others not at all.
func TestVizTapRealProxy(t *testing.T) {
	const token = "s3cret-tap-token"
	inbound, control := startTapTestProxy(t, tapBackend(t), token)
	kubeconfig := tapAPIServer(t, control, token)
	out, errOut, stop := startCommand(t, "viz tap po/web-1 -n shop --path /api --authority web.shop --kubeconfig "+kubeconfig)
	waitFor(t, out, errOut, "end id=0:", func() {
		get(t, "http://"+inbound+"/other", "web.shop")            // filtered out: path
		get(t, "http://"+inbound+"/api/x", "db.shop")             // filtered out: authority
		get(t, "http://"+inbound+`/api/a%20b?x="y"\`, "web.shop") // quotes and a backslash
	})
	if code := stop(); code != 0 {
		t.Fatalf("code %d: %s", code, errOut)
	}
	got := out.String()
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if len(lines) < 3 {
		t.Fatalf("output:\n%s", got)
	}
	for _, want := range []string{
		"req id=0:1 proxy=in  src=127.0.0.1:",
		`tls=no_tls_from_remote :method=GET :authority=web.shop :path="/api/a%20b?x=\"y\"\\"`,
		"rsp id=0:1 proxy=in ",
		":status=200 latency=",
		"end id=0:1 proxy=in ",
		"response-length=5B",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "/other") || strings.Contains(got, "db.shop") || strings.Contains(got, "\x1b") {
		t.Errorf("filtered or unescaped requests in output:\n%s", got)
	}

	// JSON: one object per line.
	out, errOut, stop = startCommand(t, "viz tap po -n shop -o json --method GET --kubeconfig "+kubeconfig)
	waitFor(t, out, errOut, `"type":"end"`, func() { get(t, "http://"+inbound+"/api/json", "web.shop") })
	if code := stop(); code != 0 {
		t.Fatalf("code %d: %s", code, errOut)
	}
	if !strings.Contains(out.String(), `"pod":"shop/web-1","sourcePod":"web-1","destinationPod":"web-1","sourceResource":"pod/web-1","destinationResource":"pod/web-1","sourceNamespace":"shop","destinationNamespace":"shop","type":"req"`) {
		t.Errorf("json output:\n%s", out)
	}

	// Wide: the lines with the workload and namespace at each end.
	out, errOut, stop = startCommand(t, "viz tap po -n shop -o wide --method GET --kubeconfig "+kubeconfig)
	waitFor(t, out, errOut, "end id=0:", func() { get(t, "http://"+inbound+"/api/wide", "web.shop") })
	if code := stop(); code != 0 {
		t.Fatalf("code %d: %s", code, errOut)
	}
	if !strings.Contains(out.String(), ":path=/api/wide src_res=pod/web-1 src_ns=shop dst_res=pod/web-1 dst_ns=shop\n") {
		t.Errorf("wide output:\n%s", out)
	}
}

// TestVizTapWrongToken: the proxy refuses a wrong token; tap says so and
// fails, and the traffic it would have seen still flows.
func TestVizTapWrongToken(t *testing.T) {
	inbound, control := startTapTestProxy(t, tapBackend(t), "the-real-token")
	kubeconfig := tapAPIServer(t, control, "a-stolen-guess")
	r := run(t, "viz tap po/web-1 -n shop --kubeconfig "+kubeconfig)
	if r.code != 1 || !strings.Contains(r.stderr, "no pod could be tapped") || !strings.Contains(r.stderr, "forbidden") || r.stdout != "" {
		t.Errorf("code %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	get(t, "http://"+inbound+"/api", "web.shop")

	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("the-real-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, stop := startCommand(t, "viz tap po/web-1 -n shop --token-file "+tokenFile+" --kubeconfig "+kubeconfig)
	// Its stderr too on failure: it failed once in a full run under load
	// with nothing on stdout, and passed alone and under load since.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "end id=0:") {
		if time.Now().After(deadline) {
			t.Fatalf("no tap event within 10s with --token-file\nstdout:\n%s\nstderr:\n%s", out, errOut)
		}
		get(t, "http://"+inbound+"/api", "web.shop")
		time.Sleep(50 * time.Millisecond)
	}
	if code := stop(); code != 0 {
		t.Fatalf("--token-file: code %d: %s", code, errOut)
	}
}

// TestVizTopRealProxy: top's plain (not a terminal) output aggregates the
// tapped requests by path, with success rates.
func TestVizTopRealProxy(t *testing.T) {
	const token = "s3cret-tap-token"
	inbound, control := startTapTestProxy(t, tapBackend(t), token)
	kubeconfig := tapAPIServer(t, control, token)
	out, errOut, stop := startCommand(t, "viz top po/web-1 -n shop --refresh 100ms --kubeconfig "+kubeconfig)
	waitFor(t, out, errOut, "/fail", func() {
		get(t, "http://"+inbound+"/ok?x=1", "web.shop")
		get(t, "http://"+inbound+"/fail", "web.shop")
	})
	if code := stop(); code != 0 {
		t.Fatalf("code %d: %s", code, errOut)
	}
	got := out.String()
	if !strings.HasPrefix(got, "Source  Destination  Method  Path ") {
		t.Errorf("no header:\n%s", got)
	}
	// The last table (printed at exit) has both rows, by fields: source,
	// destination, method, path, ..., success rate.
	last := got[strings.LastIndex(got, "Source "):]
	rows := map[string]string{}
	for _, line := range strings.Split(last, "\n")[1:] {
		f := strings.Fields(line)
		if len(f) == 9 && f[0] == "web-1" && f[1] == "web-1" && f[2] == "GET" {
			rows[f[3]] = f[8]
		}
	}
	if rows["/ok"] != "100.00%" || rows["/fail"] != "0.00%" || len(rows) != 2 {
		t.Errorf("rows (path: success rate) = %v, want /ok 100.00%% and /fail 0.00%% (the query is not part of the path):\n%s", rows, last)
	}
}

func TestVizTapUsage(t *testing.T) {
	for args, want := range map[string]string{
		"viz tap":                              "requires at least 1 arg",
		"viz tap deploy --max-rps 0":           "--max-rps 0",
		"viz tap deploy --max-rps 5000":        "at most 1000",
		"viz tap deploy --path api":            "starts with /",
		"viz tap deploy --to-namespace x":      "--to-namespace needs --to",
		"viz tap deploy --to ns/x":             "not a namespace",
		"viz tap deploy -o yaml":               "yaml",
		"viz top deploy --refresh 1ms":         "too short",
		"viz top svc/web":                      "does not take services",
		"viz tap deploy -l 'bad selector ===:": "label selector",
	} {
		r := run(t, args)
		if r.code != 2 || !strings.Contains(r.stderr, want) {
			t.Errorf("%s: code %d, stderr %q, want 2 and %q", args, r.code, r.stderr, want)
		}
	}
}
