package injector

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// TestNamespaceWatchSeesAnnotationsAtOnce: an annotation written just
// before a pod's admission decides it (the annotate-then-restart race),
// and a namespace the watch has not delivered is read from the API server.
func TestNamespaceWatchSeesAnnotationsAtOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cs := fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}})
	w, err := startNamespaceWatch(ctx, cs, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if ann, err := w.Annotations(ctx, "shop"); err != nil || ann["meshctl.io/inject"] != "" {
		t.Fatalf("before: %v %v", ann, err)
	}
	ns, err := cs.CoreV1().Namespaces().Get(ctx, "shop", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ns.Annotations = map[string]string{"meshctl.io/inject": "enabled"}
	if _, err := cs.CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		ann, err := w.Annotations(ctx, "shop")
		if err != nil {
			t.Fatal(err)
		}
		if ann["meshctl.io/inject"] == "enabled" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the annotation never reached the watch")
		}
		time.Sleep(10 * time.Millisecond)
	}

	// Not in the watch's cache: read from the API server, which has it
	// (the fake's tracker, written behind the informer's back) or not.
	if _, err := w.Annotations(ctx, "nope"); err == nil {
		t.Fatal("a namespace that does not exist has annotations")
	}
	if err := w.informers.Informer(0).GetStore().Delete(ns); err != nil {
		t.Fatal(err)
	}
	if ann, err := w.Annotations(ctx, "shop"); err != nil || ann["meshctl.io/inject"] != "enabled" {
		t.Fatalf("fall-back read: %v %v", ann, err)
	}
}
