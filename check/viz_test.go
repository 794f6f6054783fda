package check

import (
	"context"
	"errors"
	"io"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"

	"github.com/meshctl/meshctl/pkg/meshapi"
)

// fakePrometheus is what the viz Prometheus answers through the fake
// service proxy: a body per path, or an error.
type fakePrometheus struct {
	bodies map[string]string
	err    error
}

// vizTargetsUp is a /api/v1/targets answer with shop/web-1 up.
const vizTargetsUp = `{"status":"success","data":{"activeTargets":[{"labels":{"namespace":"shop","pod":"web-1","job":"meshctl-proxy"},"health":"up","lastError":""}]}}`

// withViz adds a healthy viz extension to the fixture.
func withViz(f *fixture) {
	f.objects = append(f.objects,
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: meshapi.VizNamespace}},
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: meshapi.PrometheusName, Namespace: meshapi.VizNamespace}, Status: appsv1.DeploymentStatus{ReadyReplicas: 1}},
	)
	f.prom = &fakePrometheus{bodies: map[string]string{"/-/ready": "Prometheus Server is Ready.\n", "/api/v1/targets": vizTargetsUp}}
}

// prometheusPod is a viz Prometheus pod that is not ready for why.
func prometheusPod(waiting string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "meshctl-prometheus-7c9", Namespace: meshapi.VizNamespace, Labels: map[string]string{meshapi.VizComponentLabel: "prometheus"}},
		Status: corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{
			Name: "prometheus", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: waiting}},
		}}},
	}
}

// reactor serves the fake Prometheus on services/proxy.
func (p *fakePrometheus) reactor(a k8stesting.Action) (bool, rest.ResponseWrapper, error) {
	pa := a.(k8stesting.ProxyGetAction)
	if pa.GetNamespace() != meshapi.VizNamespace || pa.GetName() != meshapi.PrometheusName || pa.GetPort() != "9090" {
		return true, proxyAnswer{err: errors.New("no such service")}, nil
	}
	if p.err != nil {
		return true, proxyAnswer{err: p.err}, nil
	}
	b, ok := p.bodies[pa.GetPath()]
	if !ok {
		return true, proxyAnswer{err: errors.New("the server could not find the requested resource")}, nil
	}
	return true, proxyAnswer{body: []byte(b)}, nil
}

type proxyAnswer struct {
	body []byte
	err  error
}

func (a proxyAnswer) DoRaw(context.Context) ([]byte, error) { return a.body, a.err }

func (a proxyAnswer) Stream(context.Context) (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader(string(a.body))), a.err
}
