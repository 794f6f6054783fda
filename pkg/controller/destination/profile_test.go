package destination

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	destinationv1 "github.com/meshctl/meshctl/pkg/api/destination/v1"
)

// webProfile is the demo web Service's ServiceProfile: two routes, one with
// a response class and retries, and a retry budget.
const webProfile = `apiVersion: meshctl.io/v1alpha1
kind: ServiceProfile
metadata: {name: web.demo.svc.cluster.local, namespace: demo}
spec:
  routes:
  - name: GET /books/{id}
    condition: {method: GET, pathRegex: '/books/[^/]+'}
    responseClasses:
    - condition: {status: {min: 500, max: 599}}
      isFailure: true
    isRetryable: true
    timeout: 250ms
  - name: POST /books
    condition:
      all:
      - {method: POST}
      - {pathRegex: /books}
  retryBudget: {retryRatio: 0.5, minRetriesPerSecond: 3, ttl: 20s}`

func webProfileMessage(port uint16) *destinationv1.Profile {
	return &destinationv1.Profile{
		Authority: "web.demo.svc.cluster.local:" + map[uint16]string{80: "80", 9090: "9090"}[port],
		Routes: []*destinationv1.Route{
			{
				Name:      "GET /books/{id}",
				Condition: &destinationv1.RequestMatch{Method: "GET", PathRegex: "/books/[^/]+"},
				ResponseClasses: []*destinationv1.ResponseClass{{
					Condition: &destinationv1.ResponseMatch{Status: &destinationv1.StatusRange{Min: 500, Max: 599}},
					IsFailure: true,
				}},
				IsRetryable: true,
				TimeoutMs:   250,
			},
			{
				Name: "POST /books",
				Condition: &destinationv1.RequestMatch{All: []*destinationv1.RequestMatch{
					{Method: "POST"}, {PathRegex: "/books"},
				}},
			},
		},
		RetryBudget: &destinationv1.RetryBudget{RetryRatio: 0.5, MinRetriesPerSecond: 3, TtlMs: 20000},
	}
}

func TestResolveAttachesServiceProfile(t *testing.T) {
	src, dyn := syncedKubeSourceWithDynamic(t, clusterManifests...)
	var obj unstructured.Unstructured
	if err := yaml.Unmarshal([]byte(webProfile), &obj.Object); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r := Resolver{Source: src, MeshNamespace: "meshctl", TrustDomain: "cluster.local"}
	if got := r.Resolve(netip.MustParseAddrPort("10.96.0.10:80")).GetProfile(); got != nil {
		t.Fatalf("profile before any ServiceProfile exists: %v", got)
	}
	changed := src.Changed()
	if _, err := dyn.Resource(ServiceProfileResource()).Namespace("demo").Create(ctx, &obj, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	case <-ctx.Done():
		t.Fatal("no change signalled after a ServiceProfile was created")
	}
	cases := []struct {
		name, target string
		want         *destinationv1.Profile
	}{
		{"the Service's ClusterIP and port", "10.96.0.10:80", webProfileMessage(80)},
		{"the Service's other port: same routes, its own authority", "10.96.0.10:9090", webProfileMessage(9090)},
		{"a pod behind the Service, by its target port", "10.1.0.5:8080", webProfileMessage(80)},
		{"a not-ready pod behind the Service still gets its routes", "10.1.0.6:9090", webProfileMessage(9090)},
		{"a pod port no Service port targets", "10.1.0.5:6379", nil},
		{"a pod of no Service", "10.1.0.7:5432", nil},
		{"a Service without a ServiceProfile", "10.96.0.11:80", nil},
		{"a Service port that does not exist", "10.96.0.10:443", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := r.Resolve(netip.MustParseAddrPort(tc.target)).GetProfile()
			if !proto.Equal(got, tc.want) {
				t.Errorf("profile of %s:\n got %s\nwant %s", tc.target, prototext.Format(got), prototext.Format(tc.want))
			}
		})
	}
}

func TestProfileLeavesOutRoutesTheProxyCannotApply(t *testing.T) {
	spec := &ProfileSpec{
		Routes: []RouteSpec{
			{Name: "good", Condition: &RequestMatchSpec{PathRegex: "/ok"}},
			{Name: "lookahead", Condition: &RequestMatchSpec{PathRegex: "/(?=x)"}},
			{Name: "nested bad", Condition: &RequestMatchSpec{Any: []*RequestMatchSpec{{Method: "GET"}, {Not: &RequestMatchSpec{PathRegex: "("}}}}},
			{Name: "bad timeout", Condition: &RequestMatchSpec{Method: "GET"}, Timeout: "soon"},
			{Name: "bad status", Condition: &RequestMatchSpec{Method: "GET"}, ResponseClasses: []ResponseClassSpec{{Condition: &ResponseMatchSpec{Status: &StatusRangeSpec{Min: 500, Max: 400}}}}},
			{Name: "", Condition: &RequestMatchSpec{Method: "GET"}},
			{Name: "no condition"},
		},
		RetryBudget: &RetryBudgetSpec{RetryRatio: 0.2, MinRetriesPerSecond: 10, TTL: "forever"},
	}
	p, errs := profileMessage(spec, "web.demo.svc.cluster.local:80")
	if len(p.GetRoutes()) != 1 || p.GetRoutes()[0].GetName() != "good" {
		t.Errorf("routes kept: %v, want only the good one", p.GetRoutes())
	}
	if p.GetRetryBudget() != nil {
		t.Errorf("retry budget with a bad ttl kept: %v", p.GetRetryBudget())
	}
	var all []string
	for _, e := range errs {
		all = append(all, e.Error())
	}
	joined := strings.Join(all, "\n")
	for _, want := range []string{`route 1 ("lookahead")`, `route 2 ("nested bad")`, `route 3 ("bad timeout")`, `route 4 ("bad status")`, `route 5 ("")`, `route 6 ("no condition")`, "retryBudget.ttl"} {
		if !strings.Contains(joined, want) {
			t.Errorf("errors do not name %s:\n%s", want, joined)
		}
	}
}
