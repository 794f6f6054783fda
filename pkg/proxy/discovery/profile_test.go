package discovery_test

import (
	"context"
	"testing"
	"time"

	"github.com/meshctl/meshctl/pkg/controller/destination"
	"github.com/meshctl/meshctl/pkg/proxy/discovery"
)

// TestProfileFollowsServiceProfile: the client serves the routes of a
// target's ServiceProfile as the controller converts them, for the
// Service and for a pod behind it, and follows edits and deletion.
func TestProfileFollowsServiceProfile(t *testing.T) {
	s := newControllerServer(t)
	s.src.SetPod(podIP, webPod)
	s.setWeb("10.1.0.5:8080")
	c := s.client(discovery.Options{Namespace: "demo"})
	ctx := context.Background()

	if p := c.Profile(ctx, target("10.96.0.10:80")); p != nil {
		t.Fatalf("profile without a ServiceProfile: %+v", p)
	}
	s.src.SetProfile("demo", "web.demo.svc.cluster.local", &destination.ProfileSpec{
		Routes: []destination.RouteSpec{
			{Name: "list", Condition: &destination.RequestMatchSpec{Method: "GET", PathRegex: "/api/list"}, IsRetryable: true, Timeout: "2s",
				ResponseClasses: []destination.ResponseClassSpec{{Condition: &destination.ResponseMatchSpec{Status: &destination.StatusRangeSpec{Min: 404, Max: 404}}, IsFailure: true}}},
			{Name: "vote", Condition: &destination.RequestMatchSpec{Any: []*destination.RequestMatchSpec{{PathRegex: "/api/vote.*"}, {Not: &destination.RequestMatchSpec{Method: "GET"}}}}},
		},
		RetryBudget: &destination.RetryBudgetSpec{RetryRatio: 0.1, MinRetriesPerSecond: 2, TTL: "5s"},
	})
	for _, tgt := range []string{"10.96.0.10:80", "10.1.0.5:8080"} {
		waitFor(t, func() bool { return c.Profile(ctx, target(tgt)) != nil }, "the profile of "+tgt)
		p := c.Profile(ctx, target(tgt))
		if p.Authority != "web.demo.svc.cluster.local:80" || len(p.Routes) != 2 {
			t.Fatalf("%s: profile %+v", tgt, p)
		}
		if p.Budget.Ratio < 0.09 || p.Budget.Ratio > 0.11 || p.Budget.MinPerSecond != 2 || p.Budget.TTL != 5*time.Second {
			t.Errorf("%s: budget %+v", tgt, p.Budget)
		}
		list := p.Routes[0]
		if !list.Retryable || list.Timeout != 2*time.Second || !list.IsFailure(404, "", false) {
			t.Errorf("%s: list route %+v", tgt, list)
		}
		for _, c := range []struct{ method, path, want string }{
			{"GET", "/api/list", "list"},
			{"GET", "/api/list/x", ""},
			{"GET", "/api/vote/1", "vote"},
			{"POST", "/anything", "vote"},
			{"GET", "/", ""},
		} {
			if got := p.Match(c.method, c.path).Label(); got != c.want {
				t.Errorf("%s: %s %s matched %q, want %q", tgt, c.method, c.path, got, c.want)
			}
		}
	}
	s.src.SetProfile("demo", "web.demo.svc.cluster.local", nil)
	waitFor(t, func() bool { return c.Profile(ctx, target("10.96.0.10:80")) == nil }, "the profile gone")
}
