package injector

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshctl/meshctl/pkg/kube"
)

// Event reasons the injector records.
const (
	EventInjected         = "Injected"
	EventInjectionSkipped = "InjectionSkipped"
	EventInjectionWarning = "InjectionWarning"
)

// EventSink records Kubernetes Events. Implementations must not block the
// admission for long.
type EventSink interface {
	Event(ctx context.Context, about corev1.ObjectReference, eventType, reason, message string)
}

// kubeEvents creates Events with client-go, in the background and at most
// maxInFlight at a time (further events are dropped rather than delaying
// admissions).
type kubeEvents struct {
	client kube.Clientset
	slots  chan struct{}
	now    func() time.Time
}

const maxInFlight = 32

func newKubeEvents(c kube.Clientset) *kubeEvents {
	return &kubeEvents{client: c, slots: make(chan struct{}, maxInFlight), now: time.Now}
}

func (k *kubeEvents) Event(ctx context.Context, about corev1.ObjectReference, eventType, reason, message string) {
	select {
	case k.slots <- struct{}{}:
	default:
		return
	}
	now := metav1.NewTime(k.now())
	ev := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", nameOr(about.Name, "pod"), now.UnixNano()), Namespace: about.Namespace},
		InvolvedObject: about,
		Reason:         reason,
		Message:        message,
		Type:           eventType,
		Source:         corev1.EventSource{Component: "meshctl-injector"},
		FirstTimestamp: now,
		LastTimestamp:  now,
		Count:          1,
	}
	go func() {
		defer func() { <-k.slots }()
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_, _ = k.client.CoreV1().Events(about.Namespace).Create(cctx, ev, metav1.CreateOptions{})
	}()
}

func nameOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
