package render

// installOrder returns the order in which kinds are applied: what others depend
// on comes first (Helm's install order, reduced to the kinds meshctl uses
// plus the common ones).
func installOrder() []string {
	return []string{
		"Namespace",
		"NetworkPolicy",
		"ResourceQuota",
		"LimitRange",
		"PodDisruptionBudget",
		"ServiceAccount",
		"Secret",
		"ConfigMap",
		"StorageClass",
		"PersistentVolume",
		"PersistentVolumeClaim",
		"CustomResourceDefinition",
		"ClusterRole",
		"ClusterRoleBinding",
		"Role",
		"RoleBinding",
		"Service",
		"DaemonSet",
		"Pod",
		"ReplicaSet",
		"Deployment",
		"HorizontalPodAutoscaler",
		"StatefulSet",
		"Job",
		"CronJob",
		"Ingress",
		"APIService",
		"MutatingWebhookConfiguration",
		"ValidatingWebhookConfiguration",
	}
}

// KindRank returns the position of kind in installOrder; unknown kinds sort last.
func KindRank(kind string) int {
	order := installOrder()
	for i, k := range order {
		if k == kind {
			return i
		}
	}
	return len(order)
}
