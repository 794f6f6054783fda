package check

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"github.com/meshctl/meshctl/pkg/meshapi"
)

// RestartedAtAnnotation is the pod-template annotation `kubectl rollout
// restart` sets; changing it rolls the workload's pods.
const RestartedAtAnnotation = "kubectl.kubernetes.io/restartedAt"

// workload names a pod controller that a restart rolls.
type workload struct {
	Kind, Namespace, Name string
}

func (w workload) String() string { return fmt.Sprintf("%s %s/%s", w.Kind, w.Namespace, w.Name) }

// restartActions plans one rollout restart per workload owning the pods;
// pods without a restartable owner (bare pods, Jobs, orphan ReplicaSets)
// are left to the user. why completes "pods … <why>".
func restartActions(ctx context.Context, env *Env, pods []corev1.Pod, why string) ([]Action, error) {
	owned := map[workload][]string{}
	var manual []string
	for i := range pods {
		p := &pods[i]
		w, ok, err := podWorkload(ctx, env, p)
		if err != nil {
			return nil, err
		}
		if !ok {
			manual = append(manual, p.Namespace+"/"+p.Name)
			continue
		}
		owned[w] = append(owned[w], p.Name)
	}
	keys := make([]workload, 0, len(owned))
	for w := range owned {
		keys = append(keys, w)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	var actions []Action
	for _, w := range keys {
		names := owned[w]
		sort.Strings(names)
		actions = append(actions, Action{
			Description: fmt.Sprintf("restart %s: pods %s %s", w, strings.Join(names, ", "), why),
			Show:        fmt.Sprintf("kubectl -n %s rollout restart %s/%s", w.Namespace, strings.ToLower(w.Kind), w.Name),
			Apply:       func(ctx context.Context, env *Env) error { return restartWorkload(ctx, env, w) },
		})
	}
	if len(manual) > 0 {
		sort.Strings(manual)
		actions = append(actions, Action{
			Description: fmt.Sprintf("re-create pods %s (no Deployment, StatefulSet or DaemonSet owns them): they %s", strings.Join(manual, ", "), why),
			Show:        "kubectl delete pod <pod> -n <namespace>, then re-create it if no controller does",
		})
	}
	return actions, nil
}

// podWorkload finds the Deployment, StatefulSet or DaemonSet that owns the
// pod, following a ReplicaSet to its Deployment.
func podWorkload(ctx context.Context, env *Env, p *corev1.Pod) (workload, bool, error) {
	ref := metav1.GetControllerOf(p)
	if ref == nil {
		return workload{}, false, nil
	}
	switch ref.Kind {
	case "StatefulSet", "DaemonSet", "Deployment":
		return workload{Kind: ref.Kind, Namespace: p.Namespace, Name: ref.Name}, true, nil
	case "ReplicaSet":
		rs, err := env.Kube.AppsV1().ReplicaSets(p.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return workload{}, false, nil
		}
		if err != nil {
			return workload{}, false, fmt.Errorf("replicaset %s/%s owning pod %s: %w", p.Namespace, ref.Name, p.Name, err)
		}
		if dep := metav1.GetControllerOf(rs); dep != nil && dep.Kind == "Deployment" {
			return workload{Kind: "Deployment", Namespace: p.Namespace, Name: dep.Name}, true, nil
		}
	}
	return workload{}, false, nil
}

// restartWorkload does what `kubectl rollout restart` does: it stamps the
// pod template with the time, which rolls the pods.
func restartWorkload(ctx context.Context, env *Env, w workload) error {
	patch := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{%q:%q}}}}}`, RestartedAtAnnotation, env.Now().UTC().Format(time.RFC3339))
	var err error
	switch w.Kind {
	case "Deployment":
		_, err = env.Kube.AppsV1().Deployments(w.Namespace).Patch(ctx, w.Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
	case "StatefulSet":
		_, err = env.Kube.AppsV1().StatefulSets(w.Namespace).Patch(ctx, w.Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
	case "DaemonSet":
		_, err = env.Kube.AppsV1().DaemonSets(w.Namespace).Patch(ctx, w.Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
	default:
		return fmt.Errorf("cannot restart a %s", w.Kind)
	}
	if err != nil {
		return fmt.Errorf("restart %s: %w", w, err)
	}
	return nil
}

// renderedObject finds a rendered object of the manifest by kind and name.
func renderedObject(env *Env, kind, name string) (Object, bool) {
	for _, o := range env.Manifest {
		if o.Kind == kind && o.Name == name && len(o.Raw) > 0 {
			return o, true
		}
	}
	return Object{}, false
}

// recreateMissing plans the re-creation, from the rendered manifest, of
// each rendered object of the kinds that the cluster does not have. Objects
// that exist are left alone, whatever they hold: the fix only restores what
// was deleted. Not for Secrets, whose data the plan would show.
func recreateMissing(kinds ...string) func(context.Context, *Env) ([]Action, error) {
	return func(ctx context.Context, env *Env) ([]Action, error) {
		missing, _, err := missingObjects(ctx, env, kinds)
		if err != nil {
			return nil, err
		}
		var actions []Action
		for _, o := range missing {
			a, err := createAction(o)
			if err != nil {
				return nil, err
			}
			actions = append(actions, a)
		}
		return actions, nil
	}
}

// createAction is the step that creates a rendered object as rendered.
func createAction(o Object) (Action, error) {
	if len(o.Raw) == 0 {
		return Action{}, fmt.Errorf("the rendered control plane has no %s to re-create it from: run `meshctl upgrade | kubectl apply -f -`", describeObject(o))
	}
	js, err := yaml.YAMLToJSON(o.Raw)
	if err != nil {
		return Action{}, fmt.Errorf("rendered %s: %w", describeObject(o), err)
	}
	var obj unstructured.Unstructured
	if err := obj.UnmarshalJSON(js); err != nil {
		return Action{}, fmt.Errorf("rendered %s: %w", describeObject(o), err)
	}
	return Action{
		Description: "re-create " + describeObject(o),
		Show:        "kubectl apply -f - <<EOF\n" + strings.TrimSpace(stripComments(string(o.Raw))) + "\nEOF",
		Apply: func(ctx context.Context, env *Env) error {
			res, err := objectResource(env, o)
			if err != nil {
				return err
			}
			if _, err := res.Create(ctx, obj.DeepCopy(), metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("create %s: %w", describeObject(o), err)
			}
			return nil
		},
	}, nil
}

// fixInjectorWebhook re-creates a deleted injector webhook configuration
// from the rendered manifest. The webhook CA's key is never kept, so the
// rendered caBundle only matches the serving certificate rendered with it:
// the fix replaces that Secret too and restarts the injector to serve it,
// before the webhook sends it pods.
func fixInjectorWebhook(ctx context.Context, env *Env) ([]Action, error) {
	_, err := env.Kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, meshapi.InjectorWebhookName, metav1.GetOptions{})
	if err == nil {
		return nil, nil // present: what failed is not for this fix
	}
	if !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("mutatingwebhookconfiguration %s: %w", meshapi.InjectorWebhookName, err)
	}
	mwcObj, ok := renderedObject(env, "MutatingWebhookConfiguration", meshapi.InjectorWebhookName)
	secObj, ok2 := renderedObject(env, "Secret", meshapi.InjectorTLSSecretName)
	if !ok || !ok2 {
		return nil, fmt.Errorf("the rendered control plane has no MutatingWebhookConfiguration %s and Secret %s to re-create them from: run `meshctl upgrade | kubectl apply -f -`", meshapi.InjectorWebhookName, meshapi.InjectorTLSSecretName)
	}
	var mwc admissionv1.MutatingWebhookConfiguration
	if err := yaml.Unmarshal(mwcObj.Raw, &mwc); err != nil {
		return nil, fmt.Errorf("rendered mutatingwebhookconfiguration %s: %w", meshapi.InjectorWebhookName, err)
	}
	var sec corev1.Secret
	if err := yaml.Unmarshal(secObj.Raw, &sec); err != nil {
		return nil, fmt.Errorf("rendered secret %s: %w", meshapi.InjectorTLSSecretName, err)
	}
	injector := workload{Kind: "Deployment", Namespace: env.Namespace, Name: meshapi.ComponentName(meshapi.ComponentInjector)}
	return []Action{
		{
			Description: fmt.Sprintf("replace Secret %s/%s with a new serving certificate, signed by the CA of the re-created webhook's caBundle", env.Namespace, meshapi.InjectorTLSSecretName),
			Show:        fmt.Sprintf("kubectl apply -f - with Secret %s/%s as `meshctl upgrade` renders it (its data is not shown)", env.Namespace, meshapi.InjectorTLSSecretName),
			Apply:       func(ctx context.Context, env *Env) error { return replaceSecret(ctx, env, &sec) },
		},
		{
			Description: fmt.Sprintf("restart %s so it serves the new certificate", injector),
			Show:        fmt.Sprintf("kubectl -n %s rollout restart deployment/%s", injector.Namespace, injector.Name),
			Apply:       func(ctx context.Context, env *Env) error { return restartWorkload(ctx, env, injector) },
		},
		{
			Description: fmt.Sprintf("create MutatingWebhookConfiguration %s", meshapi.InjectorWebhookName),
			Show:        "kubectl apply -f - <<EOF\n" + strings.TrimSpace(stripComments(string(mwcObj.Raw))) + "\nEOF",
			Apply: func(ctx context.Context, env *Env) error {
				_, err := env.Kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, mwc.DeepCopy(), metav1.CreateOptions{})
				if err != nil {
					return fmt.Errorf("create mutatingwebhookconfiguration %s: %w", meshapi.InjectorWebhookName, err)
				}
				return nil
			},
		},
	}, nil
}

// replaceSecret updates the Secret's data and type, creating it if absent.
func replaceSecret(ctx context.Context, env *Env, want *corev1.Secret) error {
	secrets := env.Kube.CoreV1().Secrets(want.Namespace)
	cur, err := secrets.Get(ctx, want.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		if _, err := secrets.Create(ctx, want.DeepCopy(), metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create secret %s/%s: %w", want.Namespace, want.Name, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("secret %s/%s: %w", want.Namespace, want.Name, err)
	}
	cur = cur.DeepCopy()
	cur.Data = want.Data
	if _, err := secrets.Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update secret %s/%s: %w", want.Namespace, want.Name, err)
	}
	return nil
}

// stripComments drops the renderer's "# Source:" lines.
func stripComments(doc string) string {
	var out []string
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}
