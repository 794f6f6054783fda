package kubefake

import (
	"errors"
	"testing"

	"github.com/meshctl/meshctl/pkg/kube"
)

func TestFakeFactory(t *testing.T) {
	var f kube.Factory
	ff, err := NewFakeFactory("{apiVersion: v1, kind: Namespace, metadata: {name: demo}}")
	if err != nil {
		t.Fatal(err)
	}
	f = ff
	cs, err := f.Kubernetes()
	if err != nil || cs == nil {
		t.Fatalf("Kubernetes() = %v, %v", cs, err)
	}
	if _, err := NewFakeFactory("kind: [broken"); err == nil {
		t.Fatal("broken YAML accepted")
	}
	ff.Err = errors.New("down")
	if _, err := f.Kubernetes(); err == nil {
		t.Fatal("Err not returned")
	}
}
