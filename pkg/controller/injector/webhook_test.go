package injector

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/meshctl/meshctl/pkg/controller"
	"github.com/meshctl/meshctl/pkg/identity"
	"github.com/meshctl/meshctl/pkg/kube/kubefake"
	"github.com/meshctl/meshctl/pkg/meshapi"
	"github.com/meshctl/meshctl/pkg/sidecar"
)

// harness runs the injector controller over real HTTPS against fake
// Kubernetes clients.
type harness struct {
	t       *testing.T
	url     string
	admin   string
	client  *http.Client
	ca      *identity.CA
	tlsDir  string
	fake    *kubefake.FakeFactory
	cancel  context.CancelFunc
	done    chan error
	cluster []string
}

const testValues = `identity:
  trustAnchorsPEM: |
    -----BEGIN CERTIFICATE-----
    MIIBdGVzdCBhbmNob3I=
    -----END CERTIFICATE-----
proxy:
  logLevel: debug
`

func clusterObjects() []string {
	return []string{
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: meshctl-config, namespace: meshctl}\ndata:\n  values: |\n" + indent(testValues, "    "),
		"apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, annotations: {meshctl.io/inject: enabled, config.meshctl.io/proxy-cpu-request: 250m}}",
		"apiVersion: v1\nkind: Namespace\nmetadata: {name: plain}",
		"apiVersion: v1\nkind: Namespace\nmetadata: {name: quiet, annotations: {meshctl.io/inject: disabled}}",
		"apiVersion: v1\nkind: Namespace\nmetadata: {name: meshctl, annotations: {meshctl.io/inject: enabled}}",
		"apiVersion: v1\nkind: Namespace\nmetadata: {name: kube-system, annotations: {meshctl.io/inject: enabled}}",
	}
}

func indent(s, p string) string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	return p + strings.Join(lines, "\n"+p) + "\n"
}

func writeCert(t *testing.T, ca *identity.CA, dir string) {
	t.Helper()
	crt, key, err := ca.IssueServing([]string{"meshctl-injector.meshctl.svc", "localhost"}, time.Hour, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	// Replace the files as the kubelet does: write aside, then rename.
	for name, b := range map[string][]byte{"tls.crt": crt, "tls.key": key} {
		tmp := filepath.Join(dir, "."+name)
		if err := os.WriteFile(tmp, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
}

func start(t *testing.T) *harness {
	t.Helper()
	ca, err := identity.GenerateRoot(identity.GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, ca: ca, tlsDir: t.TempDir(), done: make(chan error, 1)}
	writeCert(t, ca, h.tlsDir)
	h.fake, err = kubefake.NewFakeFactory(clusterObjects()...)
	if err != nil {
		t.Fatal(err)
	}
	wl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	al, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.url = "https://" + wl.Addr().String() + "/"
	h.admin = "http://" + al.Addr().String()
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	h.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool, ServerName: "localhost"},
		MaxIdleConnsPerHost: 64,
	}}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() {
		h.done <- Run(ctx, Config{WebhookListener: wl, TLSDir: h.tlsDir}, controller.Deps{
			Logger: slog.New(slog.DiscardHandler), AdminListener: al, Kube: h.fake,
		})
	}()
	t.Cleanup(h.stop)
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(h.admin + "/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("injector not ready: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return h
}

func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		h.t.Error("Run did not return after cancel")
	}
}

// review builds an AdmissionReview v1 for creating pod in namespace.
func review(t testing.TB, ns string, pod *corev1.Pod) []byte {
	t.Helper()
	raw, err := json.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	r := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:       types.UID("uid-" + ns),
			Kind:      metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
			Resource:  metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
			Namespace: ns,
			Operation: admissionv1.Create,
			Object:    runtime.RawExtension{Raw: raw},
		},
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func webPod(annotations map[string]string) *corev1.Pod {
	yes := true
	return &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: "web-5d9c7-", Labels: map[string]string{"app": "web", "pod-template-hash": "5d9c7"},
			Annotations:     annotations,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-5d9c7", Controller: &yes, UID: "rs-uid"}},
		},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx"}}},
	}
}

func (h *harness) post(body []byte, contentType string) (int, []byte) {
	h.t.Helper()
	resp, err := h.client.Post(h.url, contentType, bytes.NewReader(body))
	if err != nil {
		h.t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// admit posts a review and returns the response and the patched pod.
func (h *harness) admit(ns string, pod *corev1.Pod) (*admissionv1.AdmissionResponse, *corev1.Pod) {
	h.t.Helper()
	code, body := h.post(review(h.t, ns, pod), "application/json")
	if code != http.StatusOK {
		h.t.Fatalf("status %d: %s", code, body)
	}
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &out); err != nil || out.Response == nil {
		h.t.Fatalf("response %s: %v", body, err)
	}
	if out.Response.UID != types.UID("uid-"+ns) || !out.Response.Allowed {
		h.t.Fatalf("response uid %q allowed %v", out.Response.UID, out.Response.Allowed)
	}
	if out.Response.Patch == nil {
		return out.Response, nil
	}
	raw, _ := json.Marshal(pod)
	patch, err := jsonpatch.DecodePatch(out.Response.Patch)
	if err != nil {
		h.t.Fatalf("patch: %v\n%s", err, out.Response.Patch)
	}
	patched, err := patch.Apply(raw)
	if err != nil {
		h.t.Fatalf("apply patch: %v\n%s", err, out.Response.Patch)
	}
	var p corev1.Pod
	if err := json.Unmarshal(patched, &p); err != nil {
		h.t.Fatal(err)
	}
	return out.Response, &p
}

// events returns the Events in ns once one contains want (or after 2 s).
func (h *harness) events(ns, want string) []string {
	c, _ := h.fake.Kubernetes()
	var out []string
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		evs, err := c.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			h.t.Fatal(err)
		}
		out = out[:0]
		found := false
		for _, e := range evs.Items {
			line := e.Reason + ": " + e.InvolvedObject.Kind + "/" + e.InvolvedObject.Name + ": " + e.Message
			out = append(out, line)
			found = found || want != "" && strings.Contains(line, want)
		}
		if found {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return out
}

func TestWebhookInjects(t *testing.T) {
	h := start(t)
	resp, pod := h.admit("shop", webPod(nil))
	if pod == nil {
		t.Fatalf("no patch: %+v", resp)
	}
	ic := pod.Spec.InitContainers
	if len(ic) != 2 || ic[0].Name != meshapi.InitContainerName || ic[1].Name != meshapi.ProxyContainerName {
		t.Fatalf("init containers %v", ic)
	}
	if ic[1].RestartPolicy == nil || *ic[1].RestartPolicy != corev1.ContainerRestartPolicyAlways {
		t.Error("proxy is not a native sidecar")
	}
	if got := ic[1].Resources.Requests.Cpu().String(); got != "250m" {
		t.Errorf("namespace override not applied: cpu request %s", got)
	}
	env := map[string]string{}
	for _, e := range ic[1].Env {
		env[e.Name] = e.Value
	}
	if env["MESHCTL_PROXY_LOG_LEVEL"] != "debug" || !strings.Contains(env["MESHCTL_PROXY_IDENTITY_TRUST_ANCHORS"], "MIIBdGVzdCBhbmNob3I=") {
		t.Errorf("installed values not used: %v", env)
	}
	if pod.Labels[meshapi.ProxyKindLabel("deployment")] != "web" || pod.Labels["app"] != "web" || pod.Labels[meshapi.LabelWorkloadNS] != "shop" {
		t.Errorf("labels %v", pod.Labels)
	}
	if len(pod.Spec.Volumes) != 2 || pod.Spec.Volumes[1].Projected.Sources[0].ServiceAccountToken.Audience != meshapi.TokenAudience {
		t.Errorf("volumes %v", pod.Spec.Volumes)
	}
	if ev := h.events("shop", "Injected"); len(ev) != 1 || !strings.HasPrefix(ev[0], "Injected: ReplicaSet/web-5d9c7") {
		t.Errorf("events %v", ev)
	}
	// A pod annotated enabled in a plain namespace, with existing volumes
	// and init containers.
	p := webPod(map[string]string{meshapi.AnnotationInject: "enabled"})
	p.Spec.InitContainers = []corev1.Container{{Name: "setup", Image: "busybox"}}
	p.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	if resp, pod = h.admit("plain", p); pod == nil {
		t.Fatal("annotated pod not injected")
	}
	var names []string
	for _, c := range pod.Spec.InitContainers {
		names = append(names, c.Name)
	}
	if strings.Join(names, ",") != "meshctl-init,meshctl-proxy,setup" || len(pod.Spec.Volumes) != 3 || pod.Spec.Volumes[0].Name != "data" {
		t.Errorf("init containers %v volumes %d", names, len(pod.Spec.Volumes))
	}
	if len(resp.Warnings) != 0 {
		t.Errorf("warnings for a pod without problems: %v", resp.Warnings)
	}
	// A warning is injected all the same, and said to the pod's creator.
	p = webPod(map[string]string{meshapi.AnnotationInject: "enabled", "config.meshctl.io/proxy-wait-before-exit-seconds": "40"})
	resp, pod = h.admit("plain", p)
	if pod == nil {
		t.Fatal("pod with a warning not injected")
	}
	if len(resp.Warnings) != 1 || !strings.Contains(resp.Warnings[0], "terminationGracePeriodSeconds is the default 30") {
		t.Errorf("warnings %v, want the grace-period one", resp.Warnings)
	}
	warned := 0
	for _, ev := range h.events("plain", "InjectionWarning") {
		if strings.HasPrefix(ev, "InjectionWarning: ") && strings.Contains(ev, "waits 40s") {
			warned++
		}
	}
	if warned != 1 {
		t.Errorf("%d warning events, want 1", warned)
	}
}

// TestWebhookReplacesLeftovers: a pod carrying our init container and
// token volume without the proxy (an injection half removed by hand, which
// leaves its traffic redirected to a proxy that is not there) is injected
// again: ours replace the leftovers, in the places they take in a clean
// pod, and the pod's own items are kept. A second item of one name would
// make the API server refuse the pod.
func TestWebhookReplacesLeftovers(t *testing.T) {
	h := start(t)
	p := webPod(nil)
	p.Spec.InitContainers = []corev1.Container{{Name: "setup", Image: "busybox"}, {Name: meshapi.InitContainerName, Image: "old"}}
	p.Spec.Volumes = []corev1.Volume{
		{Name: sidecar.VolumeToken, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	}
	resp, pod := h.admit("shop", p)
	if pod == nil {
		t.Fatalf("pod with leftovers not injected: %+v", resp.Result)
	}
	var inits, vols []string
	for _, c := range pod.Spec.InitContainers {
		inits = append(inits, c.Name)
	}
	for _, v := range pod.Spec.Volumes {
		vols = append(vols, v.Name)
	}
	if got, want := strings.Join(inits, ","), "meshctl-init,meshctl-proxy,setup"; got != want {
		t.Errorf("init containers %s, want %s", got, want)
	}
	if pod.Spec.InitContainers[0].Image == "old" {
		t.Error("the old init container was kept")
	}
	if got, want := strings.Join(vols, ","), "data,meshctl-identity-end-entity,meshctl-identity-token"; got != want {
		t.Errorf("volumes %s, want %s", got, want)
	}
	if tok := pod.Spec.Volumes[2]; tok.Projected == nil {
		t.Error("the old token volume was kept")
	}
	// With the proxy, the pod is injected already: no patch.
	if resp, pod = h.admit("shop", pod); pod != nil {
		t.Errorf("an injected pod was patched again: %s", resp.Patch)
	}
}

func TestWebhookSkips(t *testing.T) {
	h := start(t)
	hostNet := webPod(nil)
	hostNet.Spec.HostNetwork = true
	already := webPod(nil)
	already.Spec.InitContainers = []corev1.Container{{Name: meshapi.ProxyContainerName}}
	istio := webPod(nil)
	istio.Spec.Containers = append(istio.Spec.Containers, corev1.Container{Name: "istio-proxy"})
	for _, c := range []struct {
		name, ns string
		pod      *corev1.Pod
		event    string
	}{
		{"namespace not annotated", "plain", webPod(nil), "neither the pod nor its namespace"},
		{"namespace disabled", "quiet", webPod(nil), "namespace has the annotation"},
		{"pod disabled", "shop", webPod(map[string]string{meshapi.AnnotationInject: "disabled"}), "pod has the annotation"},
		{"host network", "shop", hostNet, "hostNetwork is enabled"},
		{"already injected", "shop", already, "already has the meshctl proxy"},
		{"other mesh", "shop", istio, "istio-proxy"},
		{"bad override", "shop", webPod(map[string]string{"config.meshctl.io/admin-port": "0"}), "config.meshctl.io/admin-port"},
		{"control plane", "meshctl", webPod(nil), ""},
		{"kube-system", "kube-system", webPod(nil), ""},
		{"unknown namespace", "ghost", webPod(nil), "cannot read namespace ghost"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, pod := h.admit(c.ns, c.pod)
			if pod != nil || resp.Patch != nil {
				t.Fatalf("patched: %s", resp.Patch)
			}
			ev := h.events(c.ns, c.event)
			if c.event == "" {
				if len(ev) != 0 {
					t.Errorf("events in %s: %v", c.ns, ev)
				}
				return
			}
			if !slices.ContainsFunc(ev, func(e string) bool {
				return strings.HasPrefix(e, EventInjectionSkipped+": ") && strings.Contains(e, c.event)
			}) {
				t.Errorf("no InjectionSkipped event with %q in %v", c.event, ev)
			}
		})
	}
	// Events accumulate per namespace; clear by using distinct namespaces
	// above where it matters. Metrics count every answer.
	resp, err := http.Get(h.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`meshctl_injector_admissions_total{reason="host-network",result="skipped"} 1`,
		`meshctl_injector_admissions_total{reason="protected-namespace",result="skipped"} 2`,
		`meshctl_injector_admission_duration_seconds_count 10`,
		`meshctl_controller_capabilities{capability="proxy-injection",component="injector",implemented="true"} 1`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestWebhookMalformed(t *testing.T) {
	h := start(t)
	valid := review(t, "shop", webPod(nil))
	noRequest := []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`)
	v1beta1 := bytes.Replace(valid, []byte(`admission.k8s.io/v1"`), []byte(`admission.k8s.io/v1beta1"`), 1)
	badPod := bytes.Replace(valid, []byte(`"object":{`), []byte(`"object":{"spec":7,`), 1)
	for _, c := range []struct {
		name, ct string
		body     []byte
		code     int
	}{
		{"empty body", "application/json", nil, 400},
		{"not JSON", "application/json", []byte("{{{"), 400},
		{"JSON array", "application/json", []byte("[1,2]"), 400},
		{"null", "application/json", []byte("null"), 400},
		{"no request", "application/json", noRequest, 400},
		{"v1beta1", "application/json", v1beta1, 400},
		{"wrong kind", "application/json", []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"Pod","request":{}}`), 400},
		{"wrong content type", "text/plain", valid, 415},
		{"no content type", "", valid, 415},
		{"10 MiB body", "application/json", append(append([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","x":"`), bytes.Repeat([]byte("a"), 10<<20)...), '"', '}'), 413},
		{"request with null object", "application/json", []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"version":"v1","kind":"Pod"},"operation":"CREATE","namespace":"shop"}}`), 200},
		{"undecodable pod", "application/json", badPod, 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, body := h.post(c.body, c.ct)
			if code != c.code {
				t.Errorf("status %d, want %d: %s", code, c.code, body)
			}
			if code == 200 {
				var out admissionv1.AdmissionReview
				if err := json.Unmarshal(body, &out); err != nil || out.Response == nil || out.Response.Allowed || out.Response.Result == nil {
					t.Errorf("want a denial with a reason: %s", body)
				}
			}
		})
	}
	resp, err := h.client.Get(h.url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", resp.StatusCode)
	}
}

func TestWebhookTLS(t *testing.T) {
	h := start(t)
	addr := strings.TrimSuffix(strings.TrimPrefix(h.url, "https://"), "/")
	pool := x509.NewCertPool()
	pool.AddCert(h.ca.Cert)
	dial := func(maxVersion uint16) (*tls.ConnectionState, error) {
		c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "localhost", MaxVersion: maxVersion})
		if err != nil {
			return nil, err
		}
		defer c.Close()
		st := c.ConnectionState()
		return &st, nil
	}
	if _, err := dial(tls.VersionTLS11); err == nil {
		t.Error("TLS 1.1 accepted")
	}
	st, err := dial(tls.VersionTLS12)
	if err != nil {
		t.Fatalf("TLS 1.2: %v", err)
	}
	first := st.PeerCertificates[0].SerialNumber
	if st, err = dial(0); err != nil || st.Version != tls.VersionTLS13 {
		t.Fatalf("TLS 1.3: %v", err)
	}
	// Rotation: new files are served without a restart.
	writeCert(t, h.ca, h.tlsDir)
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := dial(0)
		if err != nil {
			t.Fatal(err)
		}
		if st.PeerCertificates[0].SerialNumber.Cmp(first) != 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("rotated certificate not served")
		}
		time.Sleep(200 * time.Millisecond)
	}
	// A broken file keeps the last good certificate.
	if err := os.WriteFile(filepath.Join(h.tlsDir, "tls.crt"), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	if _, err := dial(0); err != nil {
		t.Errorf("broken rotation stopped serving: %v", err)
	}
}

func TestRunNeedsCertificate(t *testing.T) {
	f, err := kubefake.NewFakeFactory(clusterObjects()...)
	if err != nil {
		t.Fatal(err)
	}
	err = Run(context.Background(), Config{TLSDir: t.TempDir()}, controller.Deps{Kube: f})
	if err == nil || !strings.Contains(err.Error(), meshapi.InjectorTLSSecretName) {
		t.Errorf("Run without a certificate: %v", err)
	}
}

// TestWebhookLatency measures admission latency under 50 concurrent
// clients and logs the p99 (issue 3's measure). Each client's first
// admission, which pays its TLS handshake while the other 49 pay theirs,
// is reported apart: the API server keeps its connections to a webhook.
func TestWebhookLatency(t *testing.T) {
	h := start(t)
	body := review(t, "shop", webPod(nil))
	const clients, each = 50, 20
	var (
		mu         sync.Mutex
		cold, warm []time.Duration
		warmedUp   sync.WaitGroup
		wg         sync.WaitGroup
	)
	admit := func() (time.Duration, bool) {
		start := time.Now()
		resp, err := h.client.Post(h.url, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Error(err)
			return 0, false
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("status %d", resp.StatusCode)
			return 0, false
		}
		return time.Since(start), true
	}
	warmedUp.Add(clients)
	for range clients {
		wg.Go(func() {
			d, ok := admit()
			mu.Lock()
			cold = append(cold, d)
			mu.Unlock()
			warmedUp.Done()
			warmedUp.Wait()
			for range each {
				if !ok {
					return
				}
				var d time.Duration
				d, ok = admit()
				mu.Lock()
				warm = append(warm, d)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() || len(warm) == 0 {
		t.Fatal("admissions failed")
	}
	pct := func(l []time.Duration, q float64) time.Duration {
		slices.Sort(l)
		return l[int(q*float64(len(l)-1))]
	}
	t.Logf("%d admissions from %d concurrent clients on open connections: p50 %s p99 %s max %s; first admission of each client (TLS handshake included): p50 %s max %s",
		len(warm), clients, pct(warm, .5), pct(warm, .99), warm[len(warm)-1], pct(cold, .5), cold[len(cold)-1])
}
