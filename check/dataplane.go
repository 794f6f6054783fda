package check

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshctl/meshctl/pkg/meshapi"
	"github.com/meshctl/meshctl/pkg/render"
	"github.com/meshctl/meshctl/pkg/sidecar"
)

// meshctlDataPlane is the "meshctl-data-plane" category of `check --proxy`.
func meshctlDataPlane() Category {
	return Category{ID: "meshctl-data-plane", Checks: []Check{
		{
			Code:        "MESH401",
			Description: "data plane namespace exists",
			Hint:        "check the name given with --namespace",
			Fatal:       true,
			Run: func(ctx context.Context, env *Env) error {
				if env.DataPlaneNamespace == "" {
					return nil
				}
				if _, err := env.Kube.CoreV1().Namespaces().Get(ctx, env.DataPlaneNamespace, metav1.GetOptions{}); err != nil {
					return fmt.Errorf("namespace %s: %w", env.DataPlaneNamespace, err)
				}
				return nil
			},
		},
		// Before MESH402, which stops the run when nothing is meshed: a
		// data plane created before the webhook was up looks just so.
		{
			Code:        "MESH406",
			Description: "pods that should be meshed run the proxy",
			Hint:        "these pods started without the proxy although `meshctl.io/inject: enabled` applies to them: they were created before their namespace was annotated, before the control plane was up, or while the injector webhook did not answer (with failurePolicy Ignore, pods then start unmeshed); `meshctl check --proxy --fix` restarts their Deployments, StatefulSets and DaemonSets so that the webhook injects the new pods, and lists the other pods to re-create by hand (or run `kubectl rollout restart` yourself); annotate a pod `meshctl.io/inject: disabled` to keep it out of the mesh",
			Severity:    Warning,
			Run:         dataPlaneUnmeshed,
			Fix:         fixUnmeshed,
		},
		{
			Code:        "MESH402",
			Description: "data plane proxies are ready",
			Hint:        "the message names each pod whose proxy is not ready and why; `kubectl logs <pod> -c meshctl-proxy` tells more",
			Fatal:       true,
			Retry:       true,
			Run:         dataPlaneReady,
		},
		{
			Code:        "MESH403",
			Description: "data plane proxies trust the current trust anchors",
			Hint:        "restart the listed workloads so their proxies pick up the current anchors: `kubectl rollout restart`, or `meshctl check --proxy --fix`",
			Severity:    Warning,
			Run:         dataPlaneTrustRoots,
			Fix:         fixStaleTrust,
		},
		{
			Code:        "MESH404",
			Description: "data plane proxies and CLI versions match",
			Hint:        "restart the listed workloads after an upgrade so they get the current proxy: `kubectl rollout restart`",
			Severity:    Warning,
			Run:         dataPlaneVersions,
		},
		{
			Code:        "MESH405",
			Description: "data plane proxies hold certificates that chain to the current trust anchors",
			Hint:        "a proxy holding a certificate from an old trust root cannot talk to proxies that trust only the new one: restart the listed workloads (`kubectl rollout restart`, or `meshctl check --proxy --fix`); a pod whose certificate cannot be read is not ready or its admin port 4191 is not reachable from the API server",
			Run:         dataPlaneCerts,
			Fix:         fixStaleCerts,
		},
	}}
}

// meshedPods lists the pods whose proxy belongs to this control plane.
func meshedPods(ctx context.Context, env *Env) ([]corev1.Pod, error) {
	selector := meshapi.LabelControlPlaneNS + "=" + env.Namespace
	pods, err := env.Kube.CoreV1().Pods(env.DataPlaneNamespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, fmt.Errorf("list meshed pods: %w", err)
	}
	var out []corev1.Pod
	for _, p := range pods.Items {
		if p.Namespace == env.Namespace {
			continue // the control plane has its own checks
		}
		out = append(out, p)
	}
	return out, nil
}

func dataPlaneReady(ctx context.Context, env *Env) error {
	pods, err := meshedPods(ctx, env)
	if err != nil {
		return err
	}
	if len(pods) == 0 {
		err := errors.New("no meshed pods found: inject a workload (`meshctl inject app.yaml | kubectl apply -f -`) or pick another namespace")
		settled, lerr := podsSettled(ctx, env)
		if lerr != nil {
			return lerr
		}
		if settled {
			// Every pod has started and none is meshed: waiting would
			// only delay the answer (until --wait runs out).
			return Final(err)
		}
		return err
	}
	var problems []string
	for i := range pods {
		p := &pods[i]
		if why := proxyNotReady(ctx, env, p); why != "" {
			problems = append(problems, fmt.Sprintf("pod %s/%s: %s", p.Namespace, p.Name, why))
		}
	}
	sort.Strings(problems)
	return joinProblems(problems)
}

// podsSettled reports whether the data plane's scope has pods and every
// one of them has started (its containers ready) or finished: then no pod
// still on its way can turn out to be meshed. With no pods at all, a
// workload just applied may not have created them yet, so that is not
// settled.
func podsSettled(ctx context.Context, env *Env) (bool, error) {
	pods, err := env.Kube.CoreV1().Pods(env.DataPlaneNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return false, fmt.Errorf("list pods: %w", err)
	}
	seen := false
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.Namespace == env.Namespace || p.DeletionTimestamp != nil {
			continue
		}
		seen = true
		switch p.Status.Phase {
		case corev1.PodSucceeded, corev1.PodFailed:
			continue
		case corev1.PodRunning:
			if podReady(p) {
				continue
			}
		}
		return false, nil
	}
	return seen, nil
}

// podReady reports whether p's Ready condition is true.
func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// proxyNotReady explains why a pod's proxy is not ready, or returns "".
func proxyNotReady(ctx context.Context, env *Env, p *corev1.Pod) string {
	if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
		return "" // finished Jobs keep no running proxy
	}
	statuses := append(append([]corev1.ContainerStatus(nil), p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...)
	for _, cs := range statuses {
		if cs.Name != meshapi.ProxyContainerName {
			continue
		}
		if cs.Ready {
			return ""
		}
		if w := cs.State.Waiting; w != nil && w.Reason != "" {
			msg := fmt.Sprintf("proxy is waiting: %s", w.Reason)
			if w.Reason == "CrashLoopBackOff" {
				if last := lastLogLine(ctx, env, p, cs.Name); last != "" {
					msg += "; last log line: " + last
				}
			}
			return msg
		}
		return "proxy is not ready"
	}
	if p.Status.Phase == corev1.PodPending {
		return podNotReady(ctx, env, p)
	}
	return "no meshctl-proxy container: the pod is labelled as meshed but runs without the proxy"
}

// staleTrustPods lists the meshed pods whose proxies were started with
// other trust anchors than the current ones (their injection annotation).
func staleTrustPods(ctx context.Context, env *Env) ([]corev1.Pod, error) {
	cm, err := env.Kube.CoreV1().ConfigMaps(env.Namespace).Get(ctx, meshapi.TrustRootsConfigMapName, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("configmap %s/%s: %w", env.Namespace, meshapi.TrustRootsConfigMapName, err)
	}
	// The annotation hashes the anchors as rendered; the ConfigMap holds them
	// trimmed with one final newline: accept either spelling.
	bundle := strings.TrimSpace(cm.Data[meshapi.TrustRootsKey])
	current := map[string]bool{sha256Hex(bundle): true, sha256Hex(bundle + "\n"): true}
	pods, err := meshedPods(ctx, env)
	if err != nil {
		return nil, err
	}
	var stale []corev1.Pod
	for _, p := range pods {
		if h := p.Annotations[meshapi.AnnotationTrustRootSHA256]; h != "" && !current[h] {
			stale = append(stale, p)
		}
	}
	sortPods(stale)
	return stale, nil
}

func dataPlaneTrustRoots(ctx context.Context, env *Env) error {
	stale, err := staleTrustPods(ctx, env)
	if err != nil {
		return err
	}
	if len(stale) > 0 {
		return fmt.Errorf("proxies started with other trust anchors: %s", podNames(stale))
	}
	return nil
}

// staleCertPods reads each running meshed pod's certificate chain and
// returns the pods whose chain does not verify under the current anchors,
// with why, and the pods whose chain could not be read.
func staleCertPods(ctx context.Context, env *Env) (stale []corev1.Pod, problems, unreadable []string, err error) {
	anchors, err := trustAnchors(ctx, env)
	if err != nil {
		return nil, nil, nil, err
	}
	pods, err := meshedPods(ctx, env)
	if err != nil {
		return nil, nil, nil, err
	}
	sortPods(pods)
	chains, errs := readChains(ctx, env, pods)
	for i := range pods {
		p := &pods[i]
		if p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil {
			continue
		}
		chain, err := chains[i], errs[i]
		if err != nil {
			unreadable = append(unreadable, fmt.Sprintf("pod %s/%s: %v", p.Namespace, p.Name, err))
			continue
		}
		if err := verifyChain(chain, anchors, env.Now()); err != nil {
			stale = append(stale, *p)
			problems = append(problems, fmt.Sprintf("pod %s/%s: %v", p.Namespace, p.Name, err))
		}
	}
	return stale, problems, unreadable, nil
}

// maxConcurrentReads bounds the proxies asked at once.
const maxConcurrentReads = 16

// readChains reads the running pods' proxy certificate chains, at most
// maxConcurrentReads at a time, so a large data plane is read within the
// per-call timeout; results are indexed like pods.
func readChains(ctx context.Context, env *Env, pods []corev1.Pod) ([][]*x509.Certificate, []error) {
	chains := make([][]*x509.Certificate, len(pods))
	errs := make([]error, len(pods))
	sem := make(chan struct{}, maxConcurrentReads)
	var wg sync.WaitGroup
	for i := range pods {
		p := &pods[i]
		if p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			chains[i], errs[i] = proxyChain(ctx, env, p)
		}()
	}
	wg.Wait()
	return chains, errs
}

func dataPlaneCerts(ctx context.Context, env *Env) error {
	_, problems, unreadable, err := staleCertPods(ctx, env)
	if err != nil {
		return err
	}
	return joinProblems(append(problems, unreadable...))
}

func fixStaleTrust(ctx context.Context, env *Env) ([]Action, error) {
	stale, err := staleTrustPods(ctx, env)
	if err != nil {
		return nil, err
	}
	return restartActions(ctx, env, stale, "run proxies started with other trust anchors")
}

func fixStaleCerts(ctx context.Context, env *Env) ([]Action, error) {
	stale, _, _, err := staleCertPods(ctx, env)
	if err != nil {
		return nil, err
	}
	return restartActions(ctx, env, stale, "hold certificates that do not chain to the current trust anchors")
}

func sortPods(pods []corev1.Pod) {
	sort.Slice(pods, func(i, j int) bool {
		if pods[i].Namespace != pods[j].Namespace {
			return pods[i].Namespace < pods[j].Namespace
		}
		return pods[i].Name < pods[j].Name
	})
}

func podNames(pods []corev1.Pod) string {
	names := make([]string, len(pods))
	for i, p := range pods {
		names[i] = p.Namespace + "/" + p.Name
	}
	return strings.Join(names, ", ")
}

func dataPlaneVersions(ctx context.Context, env *Env) error {
	pods, err := meshedPods(ctx, env)
	if err != nil {
		return err
	}
	var old []string
	for _, p := range pods {
		if v := p.Annotations[meshapi.AnnotationProxyVersion]; v != "" && v != env.CLIVersion {
			old = append(old, fmt.Sprintf("%s/%s (%s)", p.Namespace, p.Name, v))
		}
	}
	if len(old) > 0 {
		sort.Strings(old)
		return fmt.Errorf("proxies of another version than the CLI (%s): %s", env.CLIVersion, strings.Join(old, ", "))
	}
	return nil
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// maxListedPods caps the pods a check's message names one by one.
const maxListedPods = 10

// unmeshedPods lists the data plane's pods that the injector webhook meshes
// (sidecar's decision with opt-in, as the webhook asks it) but that run
// without the proxy. Left out are the pods the webhook never sees (the
// control plane's namespace, kube-system, namespaces labelled
// config.meshctl.io/admission-webhooks: disabled, pods labelled
// meshctl.io/inject: disabled: its selectors), those it refuses (host
// network, …) or that opted out, and finished or terminating pods: a
// restart would not mesh them.
func unmeshedPods(ctx context.Context, env *Env) ([]corev1.Pod, error) {
	nsAnnotations, err := webhookNamespaces(ctx, env)
	if err != nil {
		return nil, err
	}
	pods, err := env.Kube.CoreV1().Pods(env.DataPlaneNamespace).List(ctx, metav1.ListOptions{FieldSelector: "status.phase!=Succeeded,status.phase!=Failed"})
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	injector := sidecar.New(sidecar.Options{MeshNamespace: env.Namespace, Render: render.Contents})
	var out []corev1.Pod
	for _, p := range pods.Items {
		nsAnn, admitted := nsAnnotations[p.Namespace]
		switch {
		case !admitted, p.Labels[meshapi.AnnotationInject] == meshapi.InjectDisabled:
			continue
		case p.Status.Phase == corev1.PodSucceeded, p.Status.Phase == corev1.PodFailed, p.DeletionTimestamp != nil:
			continue
		}
		d, err := injector.Decide(sidecar.Request{
			Namespace: p.Namespace, NamespaceAnnotations: nsAnn, OptIn: true, SkipRender: true,
			Template: corev1.PodTemplateSpec{ObjectMeta: p.ObjectMeta, Spec: p.Spec},
		})
		if err != nil {
			return nil, fmt.Errorf("decide the injection of pod %s/%s: %w", p.Namespace, p.Name, err)
		}
		if d.Inject && !d.AlreadyInjected {
			out = append(out, p)
		}
	}
	sortPods(out)
	return out, nil
}

// webhookNamespaces returns the annotations of the data plane's
// namespaces whose pods the injector webhook admits (its namespaceSelector).
func webhookNamespaces(ctx context.Context, env *Env) (map[string]map[string]string, error) {
	var namespaces []corev1.Namespace
	if env.DataPlaneNamespace != "" {
		n, err := env.Kube.CoreV1().Namespaces().Get(ctx, env.DataPlaneNamespace, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("namespace %s: %w", env.DataPlaneNamespace, err)
		}
		namespaces = []corev1.Namespace{*n}
	} else {
		list, err := env.Kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("list namespaces: %w", err)
		}
		namespaces = list.Items
	}
	out := map[string]map[string]string{}
	for _, n := range namespaces {
		if sidecar.ProtectedNamespace(n.Name, env.Namespace) || n.Labels[meshapi.AdmissionWebhooksLabel] == "disabled" {
			continue
		}
		out[n.Name] = n.Annotations
	}
	return out, nil
}

func dataPlaneUnmeshed(ctx context.Context, env *Env) error {
	pods, err := unmeshedPods(ctx, env)
	if err != nil || len(pods) == 0 {
		return err
	}
	lines := []string{fmt.Sprintf("%d pods with injection enabled run without the %s container:", len(pods), meshapi.ProxyContainerName)}
	if len(pods) == 1 {
		lines[0] = fmt.Sprintf("1 pod with injection enabled runs without the %s container:", meshapi.ProxyContainerName)
	}
	for i := range pods[:min(len(pods), maxListedPods)] {
		p := &pods[i]
		owner, err := podOwner(ctx, env, p)
		if err != nil {
			return err
		}
		lines = append(lines, fmt.Sprintf("pod %s/%s (%s)", p.Namespace, p.Name, owner))
	}
	if more := len(pods) - maxListedPods; more > 0 {
		lines = append(lines, fmt.Sprintf("and %d more", more))
	}
	return errors.New(strings.Join(lines, "\n"))
}

// podOwner names the workload a pod belongs to, for messages.
func podOwner(ctx context.Context, env *Env, p *corev1.Pod) (string, error) {
	w, ok, err := podWorkload(ctx, env, p)
	switch {
	case err != nil:
		return "", err
	case ok:
		return w.String(), nil
	}
	if ref := metav1.GetControllerOf(p); ref != nil {
		return fmt.Sprintf("%s %s/%s", ref.Kind, p.Namespace, ref.Name), nil
	}
	return "no owner", nil
}

func fixUnmeshed(ctx context.Context, env *Env) ([]Action, error) {
	pods, err := unmeshedPods(ctx, env)
	if err != nil {
		return nil, err
	}
	return restartActions(ctx, env, pods, "run without the meshctl-proxy container, which the webhook adds as they are re-created")
}
