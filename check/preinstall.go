package check

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// MaxClockSkew is the clock difference from the cluster's nodes above which
// certificates may look not-yet-valid or expired.
const MaxClockSkew = 5 * time.Minute

// preKubernetesSetup is the "pre-kubernetes-setup" category of `check --pre`.
func preKubernetesSetup() Category {
	return Category{ID: "pre-kubernetes-setup", Checks: []Check{
		{
			Code:        "MESH110",
			Description: "control plane namespace does not already exist",
			Hint:        "the mesh looks installed already: use `meshctl upgrade`, or `meshctl uninstall | kubectl delete -f -` first",
			Run: func(ctx context.Context, env *Env) error {
				_, err := env.Kube.CoreV1().Namespaces().Get(ctx, env.Namespace, metav1.GetOptions{})
				switch {
				case err == nil:
					return fmt.Errorf("namespace %q exists", env.Namespace)
				case apierrors.IsNotFound(err):
					return nil
				default:
					return fmt.Errorf("get namespace %q: %w", env.Namespace, err)
				}
			},
		},
		{
			Code:        "MESH111",
			Description: "can create every kind of object install creates",
			Hint:        "install needs cluster-admin-like rights once: ask for the missing permissions, or have an administrator run the install",
			Run:         canCreateAll,
		},
		{
			Code:        "MESH112",
			Description: "can read Secrets",
			Hint:        "install and check read the identity issuer Secret: grant get on secrets in the control plane namespace",
			Run: func(ctx context.Context, env *Env) error {
				return allowed(ctx, env, authorizationv1.ResourceAttributes{Namespace: env.Namespace, Verb: "get", Resource: "secrets"})
			},
		},
		{
			Code:        "MESH113",
			Description: "no clock skew detected",
			Hint:        "sync this machine's clock (NTP): certificates issued by the mesh are checked against it",
			Severity:    Warning,
			Run:         clockSkew,
		},
		{
			Code:        "MESH114",
			Description: "pod security admission lets meshctl-init add NET_ADMIN",
			Hint:        "namespaces enforcing the baseline or restricted Pod Security Standard reject the iptables init container: label them `pod-security.kubernetes.io/enforce=privileged`, or keep them unmeshed",
			Severity:    Warning,
			Run:         podSecurityAllowsInit,
		},
	}}
}

// canCreateAll asks a SelfSubjectAccessReview for every kind in the
// rendered manifests and lists those denied.
func canCreateAll(ctx context.Context, env *Env) error {
	seen := map[string]bool{}
	var denied []string
	for _, o := range append(append([]Object(nil), env.CRDManifest...), env.Manifest...) {
		gv, err := schema.ParseGroupVersion(o.APIVersion)
		if err != nil {
			return fmt.Errorf("rendered object %s/%s: %w", o.Kind, o.Name, err)
		}
		resource := resourceFor(o.Kind)
		ns := o.Namespace
		key := gv.Group + "/" + resource + "/" + ns
		if seen[key] {
			continue
		}
		seen[key] = true
		attrs := authorizationv1.ResourceAttributes{Namespace: ns, Verb: "create", Group: gv.Group, Resource: resource}
		if err := allowed(ctx, env, attrs); err != nil {
			denied = append(denied, describeAttrs(attrs))
		}
	}
	if len(denied) > 0 {
		sort.Strings(denied)
		return fmt.Errorf("cannot create: %s", strings.Join(denied, ", "))
	}
	return nil
}

func allowed(ctx context.Context, env *Env, attrs authorizationv1.ResourceAttributes) error {
	review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &attrs}}
	got, err := env.Kube.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("ask whether you may %s: %w", describeAttrs(attrs), err)
	}
	if !got.Status.Allowed {
		reason := got.Status.Reason
		if reason == "" {
			reason = "not allowed"
		}
		return fmt.Errorf("you may not %s %s: %s", attrs.Verb, describeAttrs(attrs), reason)
	}
	return nil
}

func describeAttrs(a authorizationv1.ResourceAttributes) string {
	r := a.Resource
	if a.Group != "" {
		r += "." + a.Group
	}
	if a.Namespace != "" {
		r += " in " + a.Namespace
	}
	return r
}

// resourceFor turns a kind into its resource name; every kind meshctl
// renders pluralises regularly.
func resourceFor(kind string) string {
	k := strings.ToLower(kind)
	switch {
	case strings.HasSuffix(k, "y"):
		return k[:len(k)-1] + "ies"
	case strings.HasSuffix(k, "s"):
		return k + "es"
	}
	return k + "s"
}

// clockSkew compares this machine's clock with the nodes' last heartbeats.
func clockSkew(ctx context.Context, env *Env) error {
	nodes, err := env.Kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	now := env.Now()
	var skewed []string
	for _, n := range nodes.Items {
		for _, c := range n.Status.Conditions {
			if c.Type != corev1.NodeReady || c.LastHeartbeatTime.IsZero() {
				continue
			}
			if d := c.LastHeartbeatTime.Sub(now); d > MaxClockSkew || d < -MaxClockSkew-time.Minute {
				skewed = append(skewed, fmt.Sprintf("node %s heartbeat %s is %s away from this machine's clock", n.Name, c.LastHeartbeatTime.UTC().Format(time.RFC3339), d.Round(time.Second)))
			}
		}
	}
	if len(skewed) > 0 {
		return errors.New(strings.Join(skewed, "\n"))
	}
	return nil
}

// podSecurityAllowsInit lists namespaces whose Pod Security Standard would
// reject the NET_ADMIN init container.
func podSecurityAllowsInit(ctx context.Context, env *Env) error {
	list, err := env.Kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: "pod-security.kubernetes.io/enforce"})
	if err != nil {
		return fmt.Errorf("list namespaces: %w", err)
	}
	var strict []string
	for _, ns := range list.Items {
		if level := ns.Labels["pod-security.kubernetes.io/enforce"]; level == "baseline" || level == "restricted" {
			strict = append(strict, fmt.Sprintf("%s (%s)", ns.Name, level))
		}
	}
	if len(strict) > 0 {
		return fmt.Errorf("pods meshed in these namespaces will be rejected: %s", strings.Join(strict, ", "))
	}
	return nil
}
