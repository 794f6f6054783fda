package profile

import (
	"regexp"
	"testing"
	"time"
)

func books() *Profile {
	return &Profile{
		Authority: "books.shop.svc.cluster.local:80",
		Routes: []*Route{
			{Name: "GET /books/{id}", Condition: RequestMatch{Method: "GET", Path: regexp.MustCompile(`^(?:/books/[^/]+)$`)}},
			{Name: "not GET", Condition: RequestMatch{All: []RequestMatch{{Path: regexp.MustCompile(`^(?:/books)$`)}}, Not: &RequestMatch{Method: "GET"}}},
			{Name: "admin or health", Condition: RequestMatch{Any: []RequestMatch{{Path: regexp.MustCompile(`^(?:/admin/.*)$`)}, {Path: regexp.MustCompile(`^(?:/healthz)$`)}}}},
		},
	}
}

func TestMatch(t *testing.T) {
	p := books()
	cases := []struct {
		method, path, want string
	}{
		{"GET", "/books/42", "GET /books/{id}"},
		{"GET", "/books/42/pages", ""}, // anchored: no prefix match
		{"GET", "/v2/books/42", ""},
		{"POST", "/books", "not GET"},
		{"GET", "/books", ""},
		{"DELETE", "/admin/x", "admin or health"},
		{"GET", "/healthz", "admin or health"},
		{"GET", "/other", ""},
	}
	for _, tc := range cases {
		if got := p.Match(tc.method, tc.path).Label(); got != tc.want {
			t.Errorf("%s %s: route %q, want %q", tc.method, tc.path, got, tc.want)
		}
	}
	var none *Profile
	if none.Match("GET", "/") != nil {
		t.Error("a nil profile matched a route")
	}
}

func TestIsFailure(t *testing.T) {
	custom := &Route{Name: "r", Classes: []ResponseClass{
		{Condition: ResponseMatch{MinStatus: 500, MaxStatus: 503, Not: &ResponseMatch{MinStatus: 501, MaxStatus: 501}}, Failure: true},
		{Condition: ResponseMatch{MinStatus: 404, MaxStatus: 404}, Failure: true},
		{Condition: ResponseMatch{Any: []ResponseMatch{{MinStatus: 504}, {MaxStatus: 199}}}, Failure: false},
	}}
	cases := []struct {
		name   string
		route  *Route
		status int
		grpc   string
		failed bool
		want   bool
	}{
		{"default 200", nil, 200, "", false, false},
		{"default 503", nil, 503, "", false, true},
		{"default 404", nil, 404, "", false, false},
		{"default gRPC error", nil, 200, "14", false, true},
		{"no response", custom, 0, "", false, true},
		{"broken stream", custom, 200, "", true, true},
		{"class 500", custom, 500, "", false, true},
		{"501, excluded from the class, falls back to the default", custom, 501, "", false, true},
		{"class 404", custom, 404, "", false, true},
		{"class says 504 is fine", custom, 504, "", false, false},
		{"no class matches 200", custom, 200, "", false, false},
	}
	for _, tc := range cases {
		if got := tc.route.IsFailure(tc.status, tc.grpc, tc.failed); got != tc.want {
			t.Errorf("%s: failure %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestBudget(t *testing.T) {
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	b := NewBudget(BudgetSpec{Ratio: 0.5, MinPerSecond: 1, TTL: 10 * time.Second}, clock)
	// 10 s at 1 per second: 10 retries with no requests at all.
	for i := range 10 {
		if !b.Withdraw() {
			t.Fatalf("retry %d refused within the minimum", i)
		}
	}
	if b.Withdraw() {
		t.Fatal("retry past the minimum allowed with no requests")
	}
	for range 4 {
		b.Deposit()
	}
	// 4 requests at ratio 0.5 add 2.
	if !b.Withdraw() || !b.Withdraw() || b.Withdraw() {
		t.Fatal("want exactly 2 more retries after 4 requests at ratio 0.5")
	}
	// Past the window everything is forgotten.
	now = now.Add(11 * time.Second)
	for i := range 10 {
		if !b.Withdraw() {
			t.Fatalf("retry %d refused after the window passed", i)
		}
	}
	// A new spec takes effect and starts afresh.
	b.Update(BudgetSpec{Ratio: 0, MinPerSecond: 0, TTL: time.Second})
	if b.Withdraw() {
		t.Fatal("a zero budget allowed a retry")
	}
}
