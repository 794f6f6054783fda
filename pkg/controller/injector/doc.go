// Package injector is the injector controller, run as `meshctl controller
// injector`: the mutating admission webhook that adds the meshctl proxy to
// pods as they are created.
//
// It serves AdmissionReview v1 over TLS (minimum 1.2) on :8443, behind
// Service port 443, with the serving certificate install puts in Secret
// meshctl-proxy-injector-tls, mounted at DefaultTLSDir and re-read when the
// mounted files change (the kubelet updates a Secret volume in place when
// the Secret rotates).
//
// For each pod it asks pkg/sidecar, the library `meshctl inject --manual`
// uses, whether and how to mesh it: the pod, or failing that its namespace,
// must be annotated meshctl.io/inject: enabled; disabled always wins;
// config.meshctl.io/* annotations of the namespace and then the pod
// override the installed values (data.values of ConfigMap meshctl-config).
// Pods in the control-plane namespace and in kube-system are never
// touched. The webhook never denies a pod: a pod it will not mesh is
// admitted unchanged, with a Kubernetes Event InjectionSkipped naming the
// reason; a meshed pod gets an Event Injected. Only a malformed
// AdmissionReview gets an error (HTTP 400), and request bodies are bounded;
// a request whose object is not a pod (it does not decode, or has no
// metadata or spec object) is denied with a status 400.
//
// Metrics: meshctl_injector_admissions_total{result, reason} and
// meshctl_injector_admission_duration_seconds.
package injector
