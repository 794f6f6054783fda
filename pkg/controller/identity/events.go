package identity

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshctl/meshctl/pkg/kube"
	"github.com/meshctl/meshctl/pkg/meshapi"
)

// EventIssuerRefused is the reason of the Warning Event recorded on the
// issuer Secret when a new issuer is refused.
const EventIssuerRefused = "IssuerRefused"

// issuerEvents records Events about the issuer Secret. It never blocks the
// caller for long: an Event that cannot be written in 5 s is dropped.
type issuerEvents struct {
	client    kube.Clientset
	namespace string
}

func newIssuerEvents(c kube.Clientset, namespace string) *issuerEvents {
	return &issuerEvents{client: c, namespace: namespace}
}

func (e *issuerEvents) refused(ctx context.Context, err error) {
	now := metav1.NewTime(time.Now())
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{
			Name:      fmt.Sprintf("%s.%x", meshapi.IssuerSecretName, now.UnixNano()),
			Namespace: e.namespace,
		},
		InvolvedObject: corev1.ObjectReference{Kind: "Secret", APIVersion: "v1", Namespace: e.namespace, Name: meshapi.IssuerSecretName},
		Reason:         EventIssuerRefused,
		Message:        err.Error(),
		Type:           corev1.EventTypeWarning,
		Source:         corev1.EventSource{Component: "meshctl-identity"},
		FirstTimestamp: now,
		LastTimestamp:  now,
		Count:          1,
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_, _ = e.client.CoreV1().Events(e.namespace).Create(cctx, ev, metav1.CreateOptions{})
}
