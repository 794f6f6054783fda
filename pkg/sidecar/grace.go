package sidecar

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// ReasonWaitBeyondGrace warns that the proxy's wait before exit does not
// fit in the pod's termination grace period.
const ReasonWaitBeyondGrace = "wait-before-exit-beyond-grace"

// CheckGrace is the check description of the grace-period check.
const CheckGrace = "the proxy's wait before exit fits in terminationGracePeriodSeconds"

// defaultGracePeriodSeconds is Kubernetes' default terminationGracePeriodSeconds.
const defaultGracePeriodSeconds = 30

// graceWarning compares the proxy's wait before exit (values) with the
// pod's grace period: at the end of the grace period the kubelet kills
// every container, so a wait as long or longer never ends as configured,
// and the application's own shutdown gets none of the time left.
func graceWarning(values map[string]any, spec *corev1.PodSpec) (Reason, bool) {
	wait := waitBeforeExitSeconds(values)
	if wait <= 0 {
		return Reason{}, false
	}
	grace, which := int64(defaultGracePeriodSeconds), "the default "
	if spec.TerminationGracePeriodSeconds != nil {
		grace, which = *spec.TerminationGracePeriodSeconds, ""
	}
	if wait < grace {
		return Reason{}, false
	}
	return Reason{ReasonWaitBeyondGrace, fmt.Sprintf(
		"the proxy waits %ds before exiting, but terminationGracePeriodSeconds is %s%d: the kubelet kills the pod first; set terminationGracePeriodSeconds above %d",
		wait, which, grace, wait)}, true
}

// waitBeforeExitSeconds reads proxy.waitBeforeExitSeconds from values,
// whatever number type the values' decoder chose.
func waitBeforeExitSeconds(values map[string]any) int64 {
	proxy, _ := values["proxy"].(map[string]any)
	switch v := proxy["waitBeforeExitSeconds"].(type) {
	case int:
		return int64(v)
	case int64:
		return v
	case float64:
		return int64(v)
	}
	return 0
}
