package kube

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// TestNewClientset drives each group of the clientset against a server
// that records the paths asked for, so a group wired to the wrong client
// or path shows.
func TestNewClientset(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/version" {
			_, _ = w.Write([]byte(`{"major":"1","minor":"35","gitVersion":"v1.35.0"}`))
			return
		}
		_, _ = w.Write([]byte(`{"kind":"List","apiVersion":"v1","metadata":{},"items":[]}`))
	}))
	defer srv.Close()
	cs, err := NewClientset(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	v, err := cs.Discovery().ServerVersion()
	if err != nil || v.GitVersion != "v1.35.0" {
		t.Fatalf("server version %v, %v", v, err)
	}
	ctx := context.Background()
	opts := metav1.ListOptions{}
	calls := []struct {
		path string
		do   func() error
	}{
		{"/api/v1/namespaces/a/pods", func() error { _, err := cs.CoreV1().Pods("a").List(ctx, opts); return err }},
		{"/apis/apps/v1/namespaces/a/deployments", func() error { _, err := cs.AppsV1().Deployments("a").List(ctx, opts); return err }},
		{"/apis/batch/v1/namespaces/a/jobs", func() error { _, err := cs.BatchV1().Jobs("a").List(ctx, opts); return err }},
		{"/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations", func() error {
			_, err := cs.AdmissionregistrationV1().MutatingWebhookConfigurations().List(ctx, opts)
			return err
		}},
		{"/apis/discovery.k8s.io/v1/namespaces/a/endpointslices", func() error {
			_, err := cs.DiscoveryV1().EndpointSlices("a").List(ctx, opts)
			return err
		}},
	}
	for _, c := range calls {
		if err := c.do(); err != nil {
			t.Errorf("%s: %v", c.path, err)
		}
		mu.Lock()
		last := paths[len(paths)-1]
		mu.Unlock()
		if last != c.path {
			t.Errorf("asked for %s, want %s", last, c.path)
		}
	}
	if cs.AuthenticationV1() == nil || cs.AuthorizationV1() == nil {
		t.Error("authentication or authorization client missing")
	}
}

func TestNewClientsetRefusesABadConfig(t *testing.T) {
	_, err := NewClientset(&rest.Config{Host: "https://127.0.0.1:1", TLSClientConfig: rest.TLSClientConfig{CAFile: "/nonexistent/ca.crt"}})
	if err == nil || !strings.Contains(err.Error(), "kubernetes client") {
		t.Fatalf("err = %v", err)
	}
}
