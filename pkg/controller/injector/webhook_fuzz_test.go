package injector

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"reflect"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	utiljson "k8s.io/apimachinery/pkg/util/json"

	"github.com/meshctl/meshctl/pkg/kube/kubefake"
	"github.com/meshctl/meshctl/pkg/meshapi"
	"github.com/meshctl/meshctl/pkg/render"
	"github.com/meshctl/meshctl/pkg/sidecar"
)

// fuzzMaxBodyBytes bounds request bodies in FuzzWebhook: small enough that
// the fuzzer reaches the 413 answer with inputs it can mutate quickly.
const fuzzMaxBodyBytes = 64 << 10

// fuzzCallTimeout bounds one admission. The first render of a
// configuration runs helm's engine, which takes a fraction of a second.
const fuzzCallTimeout = 10 * time.Second

// FuzzWebhook posts arbitrary bodies with arbitrary content types to the
// admission handler and checks what doc.go promises: a malformed
// AdmissionReview gets a 4xx and an error message; any other gets a 200
// with an AdmissionReview v1 answering the request's UID; a pod is denied
// only when its object does not decode as a pod; a patch is a valid JSON
// Patch that applies to the object and adds exactly one proxy while
// keeping everything the pod had; the patched pod is not meshed again; and
// pods that must not be meshed are admitted unchanged.
func FuzzWebhook(f *testing.F) {
	for _, body := range webhookSeeds(f) {
		f.Add(body, "application/json")
	}
	valid := review(f, "shop", webPod(nil))
	for _, ct := range []string{"application/json; charset=utf-8", "text/plain", "", "application/json;;", "APPLICATION/JSON"} {
		f.Add(valid, ct)
	}
	h := newFuzzWebhook(f)
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		rec, events := serveBounded(t, h, body, contentType)
		rev, want := expectedStatus(body, contentType)
		if rec.Code != want {
			t.Fatalf("status %d, want %d: %s", rec.Code, want, rec.Body)
		}
		if want != http.StatusOK {
			checkErrorAnswer(t, rec)
			return
		}
		resp := decodeAnswer(t, rec, rev.Request.UID)
		checkAdmission(t, h, rev, resp, events)
	})
}

// newFuzzWebhook builds the handler as Run does, from the cluster of the
// HTTPS tests, without a server: the values and namespace watch read the
// fake clientset, and events are recorded in each request's context.
func newFuzzWebhook(tb testing.TB) http.Handler {
	tb.Helper()
	fake, err := kubefake.NewFakeFactory(clusterObjects()...)
	if err != nil {
		tb.Fatal(err)
	}
	cs, err := fake.Kubernetes()
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	vals := &valueSource{client: cs, namespace: meshapi.DefaultNamespace}
	if err := vals.load(ctx); err != nil {
		tb.Fatal(err)
	}
	namespaces, err := startNamespaceWatch(ctx, cs, 10*time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(namespaces.Stop)
	m, err := newMetrics(prometheus.NewRegistry())
	if err != nil {
		tb.Fatal(err)
	}
	h, err := NewWebhook(WebhookOptions{
		Injector:     sidecar.New(sidecar.Options{MeshNamespace: meshapi.DefaultNamespace, Render: render.Contents}),
		Values:       vals.current,
		Namespaces:   namespaces.Annotations,
		Events:       contextEvents{},
		MaxBodyBytes: fuzzMaxBodyBytes,
		metrics:      m,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// eventsKey is the context key of the *[]string contextEvents appends to.
type eventsKey struct{}

// contextEvents is an EventSink that records the reasons of a request's
// events in its context, so that each admission sees only its own.
type contextEvents struct{}

// Event records reason when the context carries a list.
func (contextEvents) Event(ctx context.Context, _ corev1.ObjectReference, _, reason, _ string) {
	if l, ok := ctx.Value(eventsKey{}).(*[]string); ok {
		*l = append(*l, reason)
	}
}

// serveBounded runs one POST through h, failing on a panic (with its
// stack, which a crashed fuzz worker would not name as clearly) or when it
// does not answer within fuzzCallTimeout.
func serveBounded(t *testing.T, h http.Handler, body []byte, contentType string) (*httptest.ResponseRecorder, []string) {
	t.Helper()
	var events []string
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req = req.WithContext(context.WithValue(req.Context(), eventsKey{}, &events))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	panicked := make(chan string, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				panicked <- fmt.Sprintf("%v\n%s", p, debug.Stack())
			}
			close(panicked)
		}()
		h.ServeHTTP(rec, req)
	}()
	select {
	case p, ok := <-panicked:
		if ok {
			t.Fatalf("handler panicked: %s", p)
		}
	case <-time.After(fuzzCallTimeout):
		t.Fatalf("handler did not answer within %s", fuzzCallTimeout)
	}
	return rec, events
}

// expectedStatus is the status the handler must answer body with, and the
// review when that is 200.
func expectedStatus(body []byte, contentType string) (*admissionv1.AdmissionReview, int) {
	if mt, _, err := mime.ParseMediaType(contentType); err != nil || mt != "application/json" {
		return nil, http.StatusUnsupportedMediaType
	}
	if len(body) > fuzzMaxBodyBytes {
		return nil, http.StatusRequestEntityTooLarge
	}
	var rev admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &rev); err != nil ||
		rev.APIVersion != admissionv1.SchemeGroupVersion.String() || rev.Kind != "AdmissionReview" || rev.Request == nil {
		return nil, http.StatusBadRequest
	}
	return &rev, http.StatusOK
}

// checkErrorAnswer checks that a 4xx carries an error message and nothing
// else: plain text, one line, no AdmissionReview.
func checkErrorAnswer(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	body := rec.Body.String()
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("error answer has content type %q", ct)
	}
	if msg, ok := strings.CutSuffix(body, "\n"); !ok || strings.TrimSpace(msg) == "" || strings.Contains(msg, "\n") {
		t.Errorf("error answer is not one line of message: %q", body)
	}
	if json.Valid(rec.Body.Bytes()) {
		t.Errorf("error answer is JSON: %s", body)
	}
}

// decodeAnswer decodes a 200's body strictly as an AdmissionReview v1 with
// a response to the request with uid.
func decodeAnswer(t *testing.T, rec *httptest.ResponseRecorder, uid types.UID) *admissionv1.AdmissionResponse {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("answer has content type %q", ct)
	}
	var out admissionv1.AdmissionReview
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil || dec.More() {
		t.Fatalf("answer is not an AdmissionReview (%v): %s", err, rec.Body)
	}
	if out.APIVersion != admissionv1.SchemeGroupVersion.String() || out.Kind != "AdmissionReview" || out.Request != nil || out.Response == nil {
		t.Fatalf("answer is not an AdmissionReview v1 response: %s", rec.Body)
	}
	if out.Response.UID != uid {
		t.Fatalf("answer to UID %q, want %q", out.Response.UID, uid)
	}
	return out.Response
}

// checkAdmission checks resp, the answer to rev, and the events it
// recorded. The pod is read as the API server reads it (case-sensitive
// field names), since the patch is applied to the object as it is.
func checkAdmission(t *testing.T, h http.Handler, rev *admissionv1.AdmissionReview, resp *admissionv1.AdmissionResponse, events []string) {
	t.Helper()
	req := rev.Request
	if resp.Patch == nil && resp.PatchType != nil || resp.Patch != nil && (resp.PatchType == nil || *resp.PatchType != admissionv1.PatchTypeJSONPatch) {
		t.Fatalf("patch %q with patch type %v", resp.Patch, resp.PatchType)
	}
	if req.Kind.Kind != "Pod" || req.Kind.Group != "" || req.Operation != admissionv1.Create {
		if !resp.Allowed || resp.Patch != nil || len(events) != 0 {
			t.Fatalf("%s of %v not admitted quietly and unchanged: %+v, events %v", req.Operation, req.Kind, resp, events)
		}
		return
	}
	pod, podErr := asPod(req.Object.Raw)
	// doc.go: the webhook never denies a pod, only an object that is not
	// one.
	switch {
	case podErr != nil && resp.Allowed:
		t.Fatalf("object that is not a pod (%v) admitted: %+v", podErr, resp)
	case podErr == nil && !resp.Allowed:
		t.Fatalf("pod denied: %+v", resp.Result)
	case !resp.Allowed:
		if resp.Patch != nil || resp.Result == nil || resp.Result.Code != http.StatusBadRequest || resp.Result.Message == "" {
			t.Fatalf("denial without a reason, or with a patch: %+v", resp)
		}
		return
	}
	ns := req.Namespace
	if ns == "" {
		ns = pod.Namespace
	}
	protected := ns == meshapi.DefaultNamespace || ns == "kube-system"
	if protected && len(events) != 0 {
		t.Errorf("events for a pod in %s: %v", ns, events)
	}
	mustSkip := protected || pod.Spec.HostNetwork || pod.Annotations[meshapi.AnnotationInject] == meshapi.InjectDisabled ||
		hasProxy(pod.Spec.InitContainers) || hasProxy(pod.Spec.Containers)
	injectedEvents := strings.Count(strings.Join(events, "\n")+"\n", EventInjected+"\n")
	if resp.Patch == nil {
		if injectedEvents != 0 {
			t.Errorf("Injected event without a patch: %v", events)
		}
		return
	}
	if mustSkip {
		t.Fatalf("pod that must not be meshed (namespace %q) patched: %s", ns, resp.Patch)
	}
	if injectedEvents != 1 {
		t.Errorf("patched with events %v, want one %s", events, EventInjected)
	}
	if err := checkJSONPatch(resp.Patch); err != nil {
		t.Fatalf("invalid JSON Patch: %v\n%s", err, resp.Patch)
	}
	patch, err := jsonpatch.DecodePatch(resp.Patch)
	if err != nil {
		t.Fatalf("decode patch: %v\n%s", err, resp.Patch)
	}
	patched, err := patch.Apply(req.Object.Raw)
	if err != nil {
		t.Fatalf("apply patch: %v\n%s\nto %s", err, resp.Patch, req.Object.Raw)
	}
	var out corev1.Pod
	if err := utiljson.Unmarshal(patched, &out); err != nil {
		t.Fatalf("patched pod does not decode: %v\n%s", err, patched)
	}
	checkMeshed(t, &pod, &out, patched)

	again := *rev
	againReq := *req
	againReq.Object.Raw = patched
	again.Request = &againReq
	body, err := json.Marshal(&again)
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := serveBounded(t, h, body, "application/json")
	if rec.Code != http.StatusOK {
		t.Fatalf("re-submitting the patched pod: status %d: %s", rec.Code, rec.Body)
	}
	if r := decodeAnswer(t, rec, req.UID); !r.Allowed || r.Patch != nil {
		t.Fatalf("patched pod meshed again: allowed %v, patch %s", r.Allowed, r.Patch)
	}
}

// asPod reads raw as the API server would, or says why it is not a pod a
// patch can mesh: a pod object always has metadata and spec.
func asPod(raw []byte) (corev1.Pod, error) {
	var pod corev1.Pod
	if err := utiljson.Unmarshal(raw, &pod); err != nil {
		return pod, err
	}
	var top map[string]any
	if err := utiljson.Unmarshal(raw, &top); err != nil {
		return pod, err
	}
	for _, k := range []string{"metadata", "spec"} {
		if _, ok := top[k].(map[string]any); !ok {
			return pod, fmt.Errorf("no %s object", k)
		}
	}
	return pod, nil
}

// checkMeshed checks that out, in patched with the sidecar, has exactly one
// proxy and otherwise what in had.
func checkMeshed(t *testing.T, in, out *corev1.Pod, patched []byte) {
	t.Helper()
	proxies := 0
	for _, c := range append(append([]corev1.Container(nil), out.Spec.InitContainers...), out.Spec.Containers...) {
		if c.Name == meshapi.ProxyContainerName {
			proxies++
		}
	}
	if proxies != 1 {
		t.Errorf("%d %s containers, want 1:\n%s", proxies, meshapi.ProxyContainerName, patched)
	}
	if unique(names(in.Spec.InitContainers, in.Spec.Containers)) && !unique(names(out.Spec.InitContainers, out.Spec.Containers)) {
		t.Errorf("patched pod has two containers of one name:\n%s", patched)
	}
	if unique(volumeNames(in.Spec.Volumes)) && !unique(volumeNames(out.Spec.Volumes)) {
		t.Errorf("patched pod has two volumes of one name:\n%s", patched)
	}
	// Without what the patch adds, the spec is the pod's own.
	inSpec, outSpec := in.Spec, out.Spec
	for _, s := range []*corev1.PodSpec{&inSpec, &outSpec} {
		s.InitContainers = notOwned(s.InitContainers)
		s.Containers = notOwned(s.Containers)
		s.Volumes = notOwnedVolumes(s.Volumes)
	}
	if !reflect.DeepEqual(inSpec, outSpec) {
		t.Errorf("the patch changed the pod's own spec:\nbefore %+v\nafter  %+v", inSpec, outSpec)
	}
	for k, v := range in.Labels {
		if got, ok := out.Labels[k]; !sidecar.OwnedLabel(k) && (!ok || got != v) {
			t.Errorf("label %q: %q became %q", k, v, got)
		}
	}
	for k, v := range in.Annotations {
		if got, ok := out.Annotations[k]; !sidecar.OwnedAnnotation(k, v) && (!ok || got != v) {
			t.Errorf("annotation %q: %q became %q", k, v, got)
		}
	}
}

// checkJSONPatch checks the shape RFC 6902 requires of a patch, which the
// applier is more lenient about (it reads an add without a value as null).
func checkJSONPatch(b []byte) error {
	var ops []map[string]json.RawMessage
	if err := json.Unmarshal(b, &ops); err != nil {
		return fmt.Errorf("not an array of operations: %w", err)
	}
	for i, op := range ops {
		var name string
		if err := json.Unmarshal(op["op"], &name); err != nil {
			return fmt.Errorf("operation %d: op: %w", i, err)
		}
		members := map[string][]string{
			"add": {"path", "value"}, "remove": {"path"}, "replace": {"path", "value"},
			"move": {"from", "path"}, "copy": {"from", "path"}, "test": {"path", "value"},
		}[name]
		if members == nil {
			return fmt.Errorf("operation %d: unknown op %q", i, name)
		}
		for _, m := range members {
			raw, ok := op[m]
			if !ok {
				return fmt.Errorf("operation %d (%s): no %q", i, name, m)
			}
			if m == "value" {
				continue
			}
			var ptr string
			if err := json.Unmarshal(raw, &ptr); err != nil {
				return fmt.Errorf("operation %d (%s): %s: %w", i, name, m, err)
			}
			if err := checkPointer(ptr); err != nil {
				return fmt.Errorf("operation %d (%s): %s: %w", i, name, m, err)
			}
		}
	}
	return nil
}

// checkPointer checks a JSON Pointer (RFC 6901).
func checkPointer(p string) error {
	if p != "" && !strings.HasPrefix(p, "/") {
		return fmt.Errorf("pointer %q does not start with /", p)
	}
	for i := 0; i < len(p); i++ {
		if p[i] == '~' && (i+1 == len(p) || p[i+1] != '0' && p[i+1] != '1') {
			return fmt.Errorf("pointer %q has a bare ~", p)
		}
	}
	return nil
}

// hasProxy reports whether cs has our proxy: a pod with it is injected
// already (our other containers alone are leftovers, injected again).
func hasProxy(cs []corev1.Container) bool {
	for _, c := range cs {
		if c.Name == meshapi.ProxyContainerName {
			return true
		}
	}
	return false
}

func notOwned(cs []corev1.Container) []corev1.Container {
	var out []corev1.Container
	for _, c := range cs {
		if !sidecar.OwnedContainer(c.Name) {
			out = append(out, c)
		}
	}
	return out
}

func notOwnedVolumes(vs []corev1.Volume) []corev1.Volume {
	var out []corev1.Volume
	for _, v := range vs {
		if !sidecar.OwnedVolume(v.Name) {
			out = append(out, v)
		}
	}
	return out
}

func names(lists ...[]corev1.Container) []string {
	var out []string
	for _, l := range lists {
		for _, c := range l {
			out = append(out, c.Name)
		}
	}
	return out
}

func unique(l []string) bool {
	seen := map[string]bool{}
	for _, s := range l {
		if seen[s] {
			return false
		}
		seen[s] = true
	}
	return true
}

// webhookSeeds are AdmissionReview bodies: the pods of the HTTPS tests and
// malformed reviews of each kind the handler must refuse or survive.
func webhookSeeds(tb testing.TB) [][]byte {
	tb.Helper()
	withInit := webPod(map[string]string{meshapi.AnnotationInject: "enabled"})
	withInit.Spec.InitContainers = []corev1.Container{{Name: "setup", Image: "busybox"}}
	withInit.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	already := webPod(nil)
	already.Spec.InitContainers = []corev1.Container{{Name: meshapi.ProxyContainerName}}
	// Left by a half-removed injection: our init container and volume,
	// not the proxy.
	leftover := webPod(nil)
	leftover.Spec.InitContainers = []corev1.Container{{Name: "setup", Image: "busybox"}, {Name: meshapi.InitContainerName, Image: "old"}}
	leftover.Spec.Volumes = []corev1.Volume{{Name: sidecar.VolumeToken, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	hostNet := webPod(nil)
	hostNet.Spec.HostNetwork = true
	generated := webPod(nil)
	generated.OwnerReferences = nil
	generated.Labels = nil
	named := webPod(map[string]string{meshapi.AnnotationInject: "enabled"})
	named.Name, named.GenerateName = "db-0", ""
	yes := true
	named.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "db", Controller: &yes, UID: "sts-uid"}}
	sidecarContainer := webPod(map[string]string{"config.meshctl.io/proxy-enable-native-sidecar": "false"})
	warned := webPod(map[string]string{meshapi.AnnotationInject: "enabled", "config.meshctl.io/proxy-wait-before-exit-seconds": "40"})
	udp := webPod(nil)
	udp.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 53, Protocol: corev1.ProtocolUDP}}
	big := webPod(map[string]string{"note": strings.Repeat("x", 40<<10)})
	bigger := webPod(map[string]string{"note": strings.Repeat("x", 80<<10)})

	valid := review(tb, "shop", webPod(nil))
	// edit returns valid with old replaced, so that a change to review's
	// encoding cannot quietly turn a seed into a copy of valid.
	edit := func(old, new string) []byte {
		if !bytes.Contains(valid, []byte(old)) {
			tb.Fatalf("seed: %q not in %s", old, valid)
		}
		return bytes.Replace(valid, []byte(old), []byte(new), 1)
	}
	return [][]byte{
		valid,
		review(tb, "plain", withInit),
		review(tb, "shop", already),
		review(tb, "shop", leftover),
		review(tb, "shop", hostNet),
		review(tb, "shop", webPod(map[string]string{meshapi.AnnotationInject: meshapi.InjectDisabled})),
		review(tb, "quiet", webPod(nil)),
		review(tb, "kube-system", webPod(nil)),
		review(tb, meshapi.DefaultNamespace, webPod(nil)),
		review(tb, "ghost", webPod(nil)),
		review(tb, "shop", generated),
		review(tb, "plain", named),
		review(tb, "shop", sidecarContainer),
		review(tb, "plain", warned),
		review(tb, "shop", udp),
		review(tb, "", webPod(nil)),
		review(tb, "shop", big),
		review(tb, "shop", bigger),
		edit(`"operation":"CREATE"`, `"operation":"UPDATE"`),
		edit(`"kind":{"group":"","version":"v1","kind":"Pod"}`, `"kind":{"group":"apps","version":"v1","kind":"Deployment"}`),
		// Malformed.
		nil,
		valid[:len(valid)/2],
		edit(`admission.k8s.io/v1"`, `admission.k8s.io/v1beta1"`),
		edit(`"kind":"AdmissionReview"`, `"kind":"Pod"`),
		[]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`),
		[]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"version":"v1","kind":"Pod"},"operation":"CREATE","namespace":"shop"}}`),
		[]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"version":"v1","kind":"Pod"},"operation":"CREATE","namespace":"shop","object":[1,2]}}`),
		[]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"version":"v1","kind":"Pod"},"operation":"CREATE","namespace":"shop","object":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"a":"b"}}}}`),
		edit(`"object":{`, `"object":{"spec":7,`),
		append(append([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","object":`), bytes.Repeat([]byte("["), 20000)...), bytes.Repeat([]byte("]"), 20000)...),
		edit(`"object":{`, `"object":{"x":`+strings.Repeat("[", 5000)+strings.Repeat("]", 5000)+`,`),
		// Duplicate keys, the last of which encoding/json keeps.
		append(bytes.TrimSuffix(valid, []byte("}")), []byte(`,"request":null}`)...),
		edit(`"object":{`, `"object":{"spec":{"hostNetwork":true},`),
		edit(`"object":{`, `"object":{"Spec":{"initContainers":[{"name":"setup"}]},`),
		// Not UTF-8.
		edit(`"app":"web"`, "\"app\":\"w\xffeb\""),
		[]byte("\xff\xfe{}"),
	}
}
