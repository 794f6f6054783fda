package check

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/meshctl/meshctl/pkg/kube"
	"github.com/meshctl/meshctl/pkg/meshapi"
)

func crdGVR() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
}

// meshctlCRDs is the "meshctl-crds" category.
func meshctlCRDs() Category {
	return Category{ID: "meshctl-crds", Checks: []Check{{
		Code:        "MESH201",
		Description: "control plane CustomResourceDefinitions exist at the expected versions",
		Hint:        "install or update them: `meshctl install --crds | kubectl apply -f -`",
		Fatal:       true,
		Run:         crdsPresent,
	}}}
}

func crdsPresent(ctx context.Context, env *Env) error {
	if len(env.CRDManifest) == 0 {
		return errors.New("no CRDs were rendered to compare against")
	}
	var problems []string
	for _, want := range env.CRDManifest {
		crd, err := env.Dynamic.Resource(crdGVR()).Get(ctx, want.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			problems = append(problems, fmt.Sprintf("%s is missing", want.Name))
			continue
		}
		if err != nil {
			return fmt.Errorf("get crd %s: %w", want.Name, err)
		}
		served := servedVersions(crd)
		for _, v := range want.Versions {
			if !served[v] {
				problems = append(problems, fmt.Sprintf("%s does not serve version %s", want.Name, v))
			}
		}
		if !established(crd) {
			problems = append(problems, fmt.Sprintf("%s is not Established", want.Name))
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	return nil
}

func servedVersions(crd *unstructured.Unstructured) map[string]bool {
	out := map[string]bool{}
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	for _, v := range versions {
		m, ok := v.(map[string]any)
		if !ok {
			continue
		}
		if served, _ := m["served"].(bool); served {
			if name, _ := m["name"].(string); name != "" {
				out[name] = true
			}
		}
	}
	return out
}

func established(crd *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if ok && m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}

// meshctlConfig is the "meshctl-config" category: the objects install
// created are there.
func meshctlConfig() Category {
	return Category{ID: "meshctl-config", Checks: []Check{
		{
			Code:        "MESH202",
			Description: "control plane namespace and config exist",
			Hint:        "install the control plane: `meshctl install | kubectl apply -f -`",
			Fatal:       true,
			Run: func(ctx context.Context, env *Env) error {
				if _, err := env.Kube.CoreV1().Namespaces().Get(ctx, env.Namespace, metav1.GetOptions{}); err != nil {
					return fmt.Errorf("namespace %s: %w", env.Namespace, err)
				}
				if _, err := env.Kube.CoreV1().ConfigMaps(env.Namespace).Get(ctx, meshapi.ConfigMapName, metav1.GetOptions{}); err != nil {
					return fmt.Errorf("configmap %s/%s: %w", env.Namespace, meshapi.ConfigMapName, err)
				}
				return nil
			},
		},
		{
			Code:        "MESH203",
			Description: "ClusterRoles, ClusterRoleBindings, Roles and RoleBindings exist",
			Hint:        "re-apply the control plane: `meshctl upgrade | kubectl apply -f -`, or `meshctl check --fix` to re-create only the missing ones, as `meshctl upgrade` renders them",
			Fatal:       true,
			Run:         objectsExist(rbacKinds()...),
			Fix:         recreateMissing(rbacKinds()...),
		},
		{
			Code:        "MESH204",
			Description: "ServiceAccounts exist",
			Hint:        "re-apply the control plane: `meshctl upgrade | kubectl apply -f -`, or `meshctl check --fix` to re-create only the missing ones, as `meshctl upgrade` renders them",
			Fatal:       true,
			Run:         objectsExist("ServiceAccount"),
			Fix:         recreateMissing("ServiceAccount"),
		},
		{
			Code:        "MESH205",
			Description: "the proxy injector webhook is configured",
			Hint:        "re-apply the control plane: `meshctl upgrade | kubectl apply -f -`, or `meshctl check --fix`; without the webhook, pods of annotated namespaces start without a proxy",
			Fatal:       true,
			Run:         objectsExist("MutatingWebhookConfiguration"),
			Fix:         fixInjectorWebhook,
		},
	}}
}

// rbacKinds are the kinds MESH203 checks and re-creates.
func rbacKinds() []string {
	return []string{"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}
}

// objectsExist checks that every rendered object of the kinds exists.
func objectsExist(kinds ...string) func(context.Context, *Env) error {
	return func(ctx context.Context, env *Env) error {
		missing, checked, err := missingObjects(ctx, env, kinds)
		if err != nil {
			return err
		}
		if checked == 0 {
			return fmt.Errorf("nothing of kind %s was rendered to compare against", strings.Join(kinds, "/"))
		}
		if len(missing) > 0 {
			names := make([]string, len(missing))
			for i, o := range missing {
				names[i] = describeObject(o)
			}
			sort.Strings(names)
			return fmt.Errorf("missing: %s", strings.Join(names, ", "))
		}
		return nil
	}
}

// missingObjects returns the rendered objects of the kinds that the
// cluster does not have (NotFound), in manifest order, and how many
// objects of the kinds were rendered. Any other error of the API server
// is returned: nothing is known to be missing then.
func missingObjects(ctx context.Context, env *Env, kinds []string) (missing []Object, checked int, err error) {
	for _, o := range env.Manifest {
		if !slices.Contains(kinds, o.Kind) {
			continue
		}
		checked++
		res, err := objectResource(env, o)
		if err != nil {
			return nil, 0, err
		}
		_, getErr := res.Get(ctx, o.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(getErr):
			missing = append(missing, o)
		case getErr != nil:
			return nil, 0, fmt.Errorf("get %s: %w", describeObject(o), getErr)
		}
	}
	return missing, checked, nil
}

// objectResource is the dynamic client of a rendered object's resource,
// in its namespace when it has one.
func objectResource(env *Env, o Object) (dynamic.ResourceInterface, error) {
	gv, err := schema.ParseGroupVersion(o.APIVersion)
	if err != nil {
		return nil, fmt.Errorf("rendered %s %s: %w", o.Kind, o.Name, err)
	}
	res := env.Dynamic.Resource(gv.WithResource(resourceFor(o.Kind)))
	if o.Namespace != "" {
		return res.Namespace(o.Namespace), nil
	}
	return res, nil
}

func describeObject(o Object) string {
	if o.Namespace != "" {
		return fmt.Sprintf("%s %s/%s", o.Kind, o.Namespace, o.Name)
	}
	return fmt.Sprintf("%s %s", o.Kind, o.Name)
}

// meshctlExistence is the "meshctl-existence" category: the control plane
// runs.
func meshctlExistence() Category {
	return Category{ID: "meshctl-existence", Checks: []Check{{
		Code:        "MESH206",
		Description: "control plane pods are running and ready",
		Hint:        "the message names each pod that is not ready and why; `kubectl -n <namespace> describe pod <pod>` and `kubectl logs` tell more",
		Fatal:       true,
		Retry:       true,
		Run:         controlPlanePodsReady,
	}}}
}

func controlPlanePodsReady(ctx context.Context, env *Env) error {
	pods, err := env.Kube.CoreV1().Pods(env.Namespace).List(ctx, metav1.ListOptions{LabelSelector: meshapi.LabelControlPlaneComponent})
	if err != nil {
		return fmt.Errorf("list pods in %s: %w", env.Namespace, err)
	}
	running := map[string]bool{}
	var problems []string
	for i := range pods.Items {
		p := &pods.Items[i]
		component := p.Labels[meshapi.LabelControlPlaneComponent]
		if why := podNotReady(ctx, env, p); why != "" {
			problems = append(problems, fmt.Sprintf("pod %s: %s", p.Name, why))
			continue
		}
		running[component] = true
	}
	for _, o := range env.Manifest {
		if o.Kind != "Deployment" {
			continue
		}
		component := strings.TrimPrefix(o.Name, "meshctl-")
		if !running[component] && !anyPrefix(problems, component) {
			problems = append(problems, fmt.Sprintf("deployment %s has no ready pod", o.Name))
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return errors.New(strings.Join(problems, "\n"))
	}
	return nil
}

func anyPrefix(problems []string, component string) bool {
	for _, p := range problems {
		if strings.HasPrefix(p, "pod meshctl-"+component+"-") {
			return true
		}
	}
	return false
}

// podNotReady explains why a pod is not ready, or returns "".
func podNotReady(ctx context.Context, env *Env, p *corev1.Pod) string {
	if p.DeletionTimestamp != nil {
		return "terminating"
	}
	if p.Status.Phase == corev1.PodPending {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status != corev1.ConditionTrue {
				return fmt.Sprintf("pending, not scheduled: %s", c.Message)
			}
		}
	}
	statuses := append(append([]corev1.ContainerStatus(nil), p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...)
	for _, cs := range statuses {
		if w := cs.State.Waiting; w != nil && w.Reason != "" && w.Reason != "PodInitializing" {
			msg := fmt.Sprintf("container %s is waiting: %s", cs.Name, w.Reason)
			if w.Message != "" {
				msg += ": " + firstLine(w.Message)
			}
			if w.Reason == "CrashLoopBackOff" {
				if last := lastLogLine(ctx, env, p, cs.Name); last != "" {
					msg += "; last log line: " + last
				}
			}
			return msg
		}
		if t := cs.State.Terminated; t != nil && t.ExitCode != 0 {
			return fmt.Sprintf("container %s exited with %d (%s)", cs.Name, t.ExitCode, t.Reason)
		}
	}
	if podReady(p) {
		return ""
	}
	return fmt.Sprintf("%s, not ready yet", strings.ToLower(string(p.Status.Phase)))
}

// lastLogLine is the last line the crashed container wrote.
func lastLogLine(ctx context.Context, env *Env, p *corev1.Pod, container string) string {
	lines := int64(1)
	raw, err := env.Kube.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: container, Previous: true, TailLines: &lines}).DoRaw(ctx)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(raw))
}

// controlPlaneVersion is the "control-plane-version" category.
func controlPlaneVersion() Category {
	return Category{ID: "control-plane-version", Checks: []Check{{
		Code:        "MESH207",
		Description: "control plane and CLI versions match",
		Hint:        "upgrade one to the other: `meshctl upgrade | kubectl apply -f -` with this CLI, or use the CLI of the installed version",
		Severity:    Warning,
		Run: func(ctx context.Context, env *Env) error {
			v, err := kube.ControlPlaneVersion(ctx, env.Kube, env.Namespace)
			if err != nil {
				return err
			}
			if v != env.CLIVersion {
				return fmt.Errorf("control plane is %s, CLI is %s", v, env.CLIVersion)
			}
			return nil
		},
	}}}
}
