package injector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utiljson "k8s.io/apimachinery/pkg/util/json"

	"github.com/meshctl/meshctl/pkg/sidecar"
)

// DefaultMaxBodyBytes bounds an AdmissionReview request body. A pod is at
// most about 1.5 MiB (what the API server stores), so 3 MiB is ample.
const DefaultMaxBodyBytes = 3 << 20

// Reasons a pod is left alone, besides pkg/sidecar's.
const (
	reasonProtectedNamespace = "protected-namespace"
	reasonNotAPod            = "not-a-pod"
	reasonNamespaceUnknown   = "namespace-unreadable"
	reasonBadPod             = "undecodable-pod"
)

// NamespaceAnnotations returns the annotations of a namespace.
type NamespaceAnnotations func(ctx context.Context, namespace string) (map[string]string, error)

// WebhookOptions configure the admission handler.
type WebhookOptions struct {
	// Injector decides and renders; required.
	Injector *sidecar.Injector
	// Values returns the current mesh values; required.
	Values func() map[string]any
	// Namespaces returns a namespace's annotations; required.
	Namespaces NamespaceAnnotations
	// Events records Injected / InjectionSkipped; nil records nothing.
	Events EventSink
	// Logger; nil discards.
	Logger *slog.Logger
	// MaxBodyBytes; zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// metrics; nil records nothing (set by Run).
	metrics *metrics
}

type webhook struct {
	o WebhookOptions
}

// NewWebhook returns the admission handler.
func NewWebhook(o WebhookOptions) (http.Handler, error) {
	if o.Injector == nil || o.Values == nil || o.Namespaces == nil {
		return nil, errors.New("injector: webhook needs an Injector, Values and Namespaces")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	return &webhook{o: o}, nil
}

func (h *webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	defer func() {
		if m := h.o.metrics; m != nil {
			m.latency.Observe(time.Since(start).Seconds())
		}
	}()
	review, status, err := h.read(w, r)
	if err != nil {
		h.count(resultError, "bad-request")
		h.o.Logger.Warn("bad admission request", "error", err, "remote", r.RemoteAddr)
		http.Error(w, err.Error(), status)
		return
	}
	resp := h.admit(r.Context(), review.Request)
	resp.UID = review.Request.UID
	out := admissionv1.AdmissionReview{TypeMeta: review.TypeMeta, Response: resp}
	b, err := json.Marshal(out)
	if err != nil {
		http.Error(w, "encode response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// read decodes and checks the AdmissionReview.
func (h *webhook) read(w http.ResponseWriter, r *http.Request) (*admissionv1.AdmissionReview, int, error) {
	if r.Method != http.MethodPost {
		return nil, http.StatusMethodNotAllowed, fmt.Errorf("method %s: use POST", r.Method)
	}
	if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || ct != "application/json" {
		return nil, http.StatusUnsupportedMediaType, fmt.Errorf("content type %q: use application/json", r.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.o.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("request body larger than %d bytes", h.o.MaxBodyBytes)
		}
		return nil, http.StatusBadRequest, fmt.Errorf("read body: %w", err)
	}
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &review); err != nil {
		return nil, http.StatusBadRequest, fmt.Errorf("decode AdmissionReview: %w", err)
	}
	if review.APIVersion != admissionv1.SchemeGroupVersion.String() || review.Kind != "AdmissionReview" {
		return nil, http.StatusBadRequest, fmt.Errorf("got %s %s: want AdmissionReview %s", review.APIVersion, review.Kind, admissionv1.SchemeGroupVersion)
	}
	if review.Request == nil {
		return nil, http.StatusBadRequest, errors.New("AdmissionReview has no request")
	}
	return &review, 0, nil
}

// admit answers one request. It always allows the pod; the patch, when
// any, meshes it.
func (h *webhook) admit(ctx context.Context, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	allow := &admissionv1.AdmissionResponse{Allowed: true}
	if req.Kind.Kind != "Pod" || req.Kind.Group != "" || req.Operation != admissionv1.Create {
		h.count(resultSkipped, reasonNotAPod)
		return allow
	}
	pod, err := decodePod(req.Object.Raw)
	if err != nil {
		h.count(resultError, reasonBadPod)
		return &admissionv1.AdmissionResponse{Allowed: false, Result: &metav1.Status{
			Status: metav1.StatusFailure, Code: http.StatusBadRequest, Reason: metav1.StatusReasonBadRequest,
			Message: "meshctl injector: cannot decode the pod: " + err.Error(),
		}}
	}
	ns := req.Namespace
	if ns == "" {
		ns = pod.Namespace
	}
	owner, ref := ownerOf(pod, ns)
	skip := func(reason, msg string) *admissionv1.AdmissionResponse {
		h.count(resultSkipped, reason)
		h.event(ctx, ref, corev1.EventTypeNormal, EventInjectionSkipped, "meshctl proxy injection skipped: "+msg)
		h.o.Logger.Debug("injection skipped", "namespace", ns, "owner", owner.Kind+"/"+owner.Name, "reason", reason, "message", msg)
		return allow
	}
	if sidecar.ProtectedNamespace(ns, h.o.Injector.MeshNamespace()) {
		// Quietly: these namespaces are excluded by the webhook's
		// namespaceSelector too.
		h.count(resultSkipped, reasonProtectedNamespace)
		return allow
	}
	nsAnn, err := h.o.Namespaces(ctx, ns)
	if err != nil {
		return skip(reasonNamespaceUnknown, fmt.Sprintf("cannot read namespace %s: %v", ns, err))
	}
	d, err := h.o.Injector.Decide(sidecar.Request{
		Owner: owner, Namespace: ns, NamespaceAnnotations: nsAnn, Values: h.o.Values(), OptIn: true,
		Template: corev1.PodTemplateSpec{ObjectMeta: pod.ObjectMeta, Spec: pod.Spec},
	})
	switch {
	case err != nil:
		h.o.Logger.Error("render the sidecar", "error", err)
		return skip(resultError, err.Error())
	case len(d.Skips) > 0:
		return skip(d.Skips[0].Code, d.Skips[0].Message)
	case d.AlreadyInjected:
		return skip(sidecar.ReasonAlreadyInjected, "the pod already has the meshctl proxy")
	case len(d.Refusals) > 0:
		msgs := make([]string, len(d.Refusals))
		for i, r := range d.Refusals {
			msgs[i] = r.Message
		}
		return skip(d.Refusals[0].Code, strings.Join(msgs, "; "))
	}
	patch, err := jsonPatch(pod, d.Patch)
	if err != nil {
		return skip(resultError, err.Error())
	}
	h.count(resultInjected, "")
	h.event(ctx, ref, corev1.EventTypeNormal, EventInjected, "meshctl proxy injected")
	pt := admissionv1.PatchTypeJSONPatch
	resp := &admissionv1.AdmissionResponse{Allowed: true, Patch: patch, PatchType: &pt}
	// Warnings reach whoever created the pod (kubectl prints them) and
	// the pod's owner's events, as `meshctl inject` prints them with ‼.
	for _, w := range d.Warnings {
		resp.Warnings = append(resp.Warnings, "meshctl: "+w.Message)
		h.event(ctx, ref, corev1.EventTypeWarning, EventInjectionWarning, w.Message)
	}
	return resp
}

// decodePod decodes a pod object as the API server does, with
// case-sensitive field names, and requires the metadata and spec objects
// the patch adds to. The patch is applied to raw, not to the decoded pod:
// a "Spec" that encoding/json would read as spec, or a missing spec, would
// make it drop the pod's containers or not apply at all.
func decodePod(raw []byte) (*corev1.Pod, error) {
	var top map[string]json.RawMessage
	if err := utiljson.Unmarshal(raw, &top); err != nil {
		return nil, err
	}
	for _, k := range []string{"metadata", "spec"} {
		if v := bytes.TrimSpace(top[k]); len(v) == 0 || v[0] != '{' {
			return nil, fmt.Errorf("the object has no %s", k)
		}
	}
	var pod corev1.Pod
	if err := utiljson.Unmarshal(raw, &pod); err != nil {
		return nil, err
	}
	return &pod, nil
}

func (h *webhook) count(result, reason string) {
	if h.o.metrics != nil {
		h.o.metrics.admissions.WithLabelValues(result, reason).Inc()
	}
}

func (h *webhook) event(ctx context.Context, ref corev1.ObjectReference, typ, reason, msg string) {
	if h.o.Events != nil {
		h.o.Events.Event(ctx, ref, typ, reason, msg)
	}
}

// ownerOf names the workload of a pod: its controller, with a
// Deployment's ReplicaSet resolved by the pod-template-hash label, or the
// pod itself. ref is what Events are about.
func ownerOf(pod *corev1.Pod, ns string) (sidecar.Owner, corev1.ObjectReference) {
	name := nameOr(pod.Name, pod.GenerateName)
	for _, o := range pod.OwnerReferences {
		if o.Controller == nil || !*o.Controller {
			continue
		}
		ref := corev1.ObjectReference{APIVersion: o.APIVersion, Kind: o.Kind, Name: o.Name, Namespace: ns, UID: o.UID}
		if o.Kind == "ReplicaSet" {
			if hash := pod.Labels["pod-template-hash"]; hash != "" && strings.HasSuffix(o.Name, "-"+hash) {
				return sidecar.Owner{Kind: "Deployment", Name: strings.TrimSuffix(o.Name, "-"+hash)}, ref
			}
		}
		return sidecar.Owner{Kind: o.Kind, Name: o.Name}, ref
	}
	return sidecar.Owner{Kind: "Pod", Name: name}, corev1.ObjectReference{APIVersion: "v1", Kind: "Pod", Name: name, Namespace: ns}
}
