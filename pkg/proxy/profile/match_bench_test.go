package profile

import (
	"fmt"
	"regexp"
	"testing"
)

// apiProfile is a profile as generated from an OpenAPI document: n routes
// of method and templated path, the shape Linkerd's profile generator
// writes (a path parameter is [^/]*).
func apiProfile(n int) *Profile {
	p := &Profile{Authority: "api.shop.svc.cluster.local:80"}
	methods := []string{"GET", "POST", "PUT", "DELETE"}
	for i := range n {
		path := fmt.Sprintf(`/api/v1/resource%d/[^/]*`, i/len(methods))
		p.Routes = append(p.Routes, &Route{
			Name:      fmt.Sprintf("%s /api/v1/resource%d/{id}", methods[i%len(methods)], i/len(methods)),
			Condition: RequestMatch{Method: methods[i%len(methods)], Path: regexp.MustCompile(`^(?:` + path + `)$`)},
		})
	}
	return p
}

// BenchmarkRouteMatch measures choosing the route of a request among a
// generated profile's routes: the last route (every route tried), and no
// route (the default route, the common case for paths a profile does not
// describe).
func BenchmarkRouteMatch(b *testing.B) {
	for _, n := range []int{4, 40} {
		p := apiProfile(n)
		last := fmt.Sprintf("/api/v1/resource%d/42", (n-1)/4)
		for _, tc := range []struct {
			name, method, path string
			want               bool
		}{
			{"last", "DELETE", last, true},
			{"none", "GET", "/static/app.js", false},
		} {
			b.Run(fmt.Sprintf("routes=%d/%s", n, tc.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if got := p.Match(tc.method, tc.path) != nil; got != tc.want {
						b.Fatalf("matched %v, want %v", got, tc.want)
					}
				}
			})
		}
	}
}
