package viz

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshctl/meshctl/pkg/kube"
	"github.com/meshctl/meshctl/pkg/meshapi"
)

// PrometheusProxyPath is the API server path of the viz Prometheus' service
// proxy, the address every in-cluster Prometheus request goes through.
func PrometheusProxyPath() string {
	return fmt.Sprintf("/api/v1/namespaces/%s/services/http:%s:%d/proxy/", meshapi.VizNamespace, meshapi.PrometheusName, meshapi.PrometheusPort)
}

// InClusterPrometheus says whether the viz Prometheus (`meshctl viz
// install`) can answer: its Deployment exists and has a ready replica. When
// it cannot, reason says why (not installed, not ready), for -v.
func InClusterPrometheus(ctx context.Context, kube kube.Clientset) (ok bool, reason string, err error) {
	dep, err := kube.AppsV1().Deployments(meshapi.VizNamespace).Get(ctx, meshapi.PrometheusName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsForbidden(err) {
		return false, fmt.Sprintf("the viz Prometheus is not installed (deployment %s/%s: %v)", meshapi.VizNamespace, meshapi.PrometheusName, err), nil
	}
	if err != nil {
		return false, "", fmt.Errorf("look for the viz Prometheus (deployment %s/%s): %w", meshapi.VizNamespace, meshapi.PrometheusName, err)
	}
	if dep.Status.ReadyReplicas == 0 {
		return false, fmt.Sprintf("the viz Prometheus is installed but not ready (deployment %s/%s has no ready replica)", meshapi.VizNamespace, meshapi.PrometheusName), nil
	}
	return true, "", nil
}

// ServiceProxyClient is a Prometheus API client (promapi.Client) that
// reaches the viz Prometheus through the API server's service proxy with
// the user's credentials: no port-forward, no Ingress.
type ServiceProxyClient struct {
	Kube kube.Clientset
}

// URL returns the API endpoint ep with its :args filled in, relative to
// the service proxy.
func (c ServiceProxyClient) URL(ep string, args map[string]string) *url.URL {
	p := ep
	for k, v := range args {
		p = strings.ReplaceAll(p, ":"+k, v)
	}
	return &url.URL{Path: p}
}

// Do sends req's path and query (or form body) as a GET through the
// service proxy. A refused request comes back as an error, whose text
// carries Prometheus' answer.
func (c ServiceProxyClient) Do(ctx context.Context, req *http.Request) (*http.Response, []byte, error) {
	params := map[string]string{}
	for k, v := range req.URL.Query() {
		if len(v) > 0 {
			params[k] = v[len(v)-1]
		}
	}
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, nil, err
		}
		form, err := url.ParseQuery(string(b))
		if err != nil {
			return nil, nil, fmt.Errorf("prometheus request body: %w", err)
		}
		for k, v := range form {
			if len(v) > 0 {
				params[k] = v[len(v)-1]
			}
		}
	}
	body, err := c.Kube.CoreV1().Services(meshapi.VizNamespace).
		ProxyGet("http", meshapi.PrometheusName, strconv.Itoa(meshapi.PrometheusPort), req.URL.Path, params).DoRaw(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("the viz Prometheus through the API server's service proxy: %w", err)
	}
	resp := &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Header: http.Header{}, Request: req, Body: io.NopCloser(strings.NewReader(""))}
	return resp, body, nil
}
