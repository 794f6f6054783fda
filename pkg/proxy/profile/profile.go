package profile

import (
	"regexp"
	"strconv"
	"time"
)

// Profile is the route configuration of one Service port.
type Profile struct {
	// Authority names the Service port, "name.namespace.svc.domain:port":
	// the dst label of route metrics.
	Authority string
	// Routes are tried in order; the first that matches takes the request.
	Routes []*Route
	// Budget bounds the retries of the retryable routes.
	Budget BudgetSpec
}

// Route is one named route.
type Route struct {
	Name      string
	Condition RequestMatch
	// Classes are tried in order; the first that matches decides.
	Classes   []ResponseClass
	Retryable bool
	// Timeout bounds each request; zero means none.
	Timeout time.Duration
}

// Match returns the route of a request, nil for the default route (no
// route matched, or no profile).
func (p *Profile) Match(method, path string) *Route {
	if p == nil {
		return nil
	}
	for _, r := range p.Routes {
		if r.Condition.Matches(method, path) {
			return r
		}
	}
	return nil
}

// RequestMatch holds when every field set holds; the zero value matches
// every request.
type RequestMatch struct {
	All  []RequestMatch
	Any  []RequestMatch
	Not  *RequestMatch
	Path *regexp.Regexp // anchored at both ends
	// Method is an HTTP method, upper case; empty matches any.
	Method string
}

// Matches reports whether a request with method and path matches.
func (m *RequestMatch) Matches(method, path string) bool {
	if m.Method != "" && m.Method != method {
		return false
	}
	if m.Path != nil && !m.Path.MatchString(path) {
		return false
	}
	for i := range m.All {
		if !m.All[i].Matches(method, path) {
			return false
		}
	}
	if len(m.Any) > 0 {
		matched := false
		for i := range m.Any {
			if m.Any[i].Matches(method, path) {
				matched = true
				break
			}
		}
		if !matched {
			return false
		}
	}
	return m.Not == nil || !m.Not.Matches(method, path)
}

// ResponseClass marks the responses its condition matches as failures or
// successes.
type ResponseClass struct {
	Condition ResponseMatch
	Failure   bool
}

// ResponseMatch holds when every field set holds.
type ResponseMatch struct {
	All []ResponseMatch
	Any []ResponseMatch
	Not *ResponseMatch
	// MinStatus and MaxStatus bound the status, inclusive; 0 is open.
	MinStatus, MaxStatus int
}

// Matches reports whether a response of status matches.
func (m *ResponseMatch) Matches(status int) bool {
	if (m.MinStatus != 0 && status < m.MinStatus) || (m.MaxStatus != 0 && status > m.MaxStatus) {
		return false
	}
	for i := range m.All {
		if !m.All[i].Matches(status) {
			return false
		}
	}
	if len(m.Any) > 0 {
		matched := false
		for i := range m.Any {
			if m.Any[i].Matches(status) {
				matched = true
				break
			}
		}
		if !matched {
			return false
		}
	}
	return m.Not == nil || !m.Not.Matches(status)
}

// IsFailure classifies an exchange on route r (nil: the default route).
// An exchange without a response (failed is set: no status, or a stream
// that broke off) is always a failure. Otherwise the route's first
// matching class decides; with none, a 5xx or a gRPC status other than 0
// is a failure, as for the proxy's own response_total.
func (r *Route) IsFailure(status int, grpcStatus string, failed bool) bool {
	if failed || status == 0 {
		return true
	}
	if r != nil {
		for i := range r.Classes {
			if r.Classes[i].Condition.Matches(status) {
				return r.Classes[i].Failure
			}
		}
	}
	return status >= 500 || (grpcStatus != "" && grpcStatus != "0")
}

// Label is the route's rt_route label value: its name, or "" for the
// default route.
func (r *Route) Label() string {
	if r == nil {
		return ""
	}
	return r.Name
}

// String names the route for logs.
func (r *Route) String() string {
	if r == nil {
		return "[default]"
	}
	return strconv.Quote(r.Name)
}
