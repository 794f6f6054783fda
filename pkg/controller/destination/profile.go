package destination

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	destinationv1 "github.com/meshctl/meshctl/pkg/api/destination/v1"
)

// ProfileSpec is the spec of a ServiceProfile (meshctl.io/v1alpha1), as the
// CRD (templates/crds/templates/serviceprofile.yaml) defines it. Only the
// fields the proxy applies are read.
type ProfileSpec struct {
	Routes      []RouteSpec      `json:"routes,omitempty"`
	RetryBudget *RetryBudgetSpec `json:"retryBudget,omitempty"`
}

// RouteSpec is one route of a ServiceProfile.
type RouteSpec struct {
	Name            string              `json:"name"`
	Condition       *RequestMatchSpec   `json:"condition,omitempty"`
	ResponseClasses []ResponseClassSpec `json:"responseClasses,omitempty"`
	IsRetryable     bool                `json:"isRetryable,omitempty"`
	Timeout         string              `json:"timeout,omitempty"`
}

// RequestMatchSpec holds when every field set holds.
type RequestMatchSpec struct {
	All       []*RequestMatchSpec `json:"all,omitempty"`
	Any       []*RequestMatchSpec `json:"any,omitempty"`
	Not       *RequestMatchSpec   `json:"not,omitempty"`
	PathRegex string              `json:"pathRegex,omitempty"`
	Method    string              `json:"method,omitempty"`
}

// ResponseClassSpec marks the responses its condition matches as failures
// (or successes).
type ResponseClassSpec struct {
	Condition *ResponseMatchSpec `json:"condition,omitempty"`
	IsFailure bool               `json:"isFailure,omitempty"`
}

// ResponseMatchSpec holds when every field set holds.
type ResponseMatchSpec struct {
	All    []*ResponseMatchSpec `json:"all,omitempty"`
	Any    []*ResponseMatchSpec `json:"any,omitempty"`
	Not    *ResponseMatchSpec   `json:"not,omitempty"`
	Status *StatusRangeSpec     `json:"status,omitempty"`
}

// StatusRangeSpec is an inclusive range of HTTP status codes; 0 is open.
type StatusRangeSpec struct {
	Min int `json:"min,omitempty"`
	Max int `json:"max,omitempty"`
}

// RetryBudgetSpec bounds the retries of a Service's retryable routes.
type RetryBudgetSpec struct {
	RetryRatio          float64 `json:"retryRatio"`
	MinRetriesPerSecond int     `json:"minRetriesPerSecond"`
	TTL                 string  `json:"ttl"`
}

// ProfileName is the name a Service's ServiceProfile must have: the
// Service's fully qualified DNS name.
func ProfileName(svc Service, clusterDomain string) string {
	return svc.Name + "." + svc.Namespace + ".svc." + clusterDomain
}

// profileMessage converts a ServiceProfile into what the proxy applies, for
// the Service port authority names. A route that cannot be applied (a
// regular expression RE2 rejects, a bad method or timeout) is left out and
// reported in the returned errors, so one typo does not cost the others.
func profileMessage(spec *ProfileSpec, authority string) (*destinationv1.Profile, []error) {
	p := &destinationv1.Profile{Authority: authority}
	var errs []error
	for i, r := range spec.Routes {
		rt, err := routeMessage(r)
		if err != nil {
			errs = append(errs, fmt.Errorf("route %d (%q): %w", i, r.Name, err))
			continue
		}
		p.Routes = append(p.Routes, rt)
	}
	if b := spec.RetryBudget; b != nil {
		ttl, err := time.ParseDuration(b.TTL)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("retryBudget.ttl: %w", err))
		case b.RetryRatio < 0 || b.MinRetriesPerSecond < 0 || ttl <= 0:
			errs = append(errs, fmt.Errorf("retryBudget: ratio, retries per second and ttl must not be negative, ttl not zero"))
		default:
			p.RetryBudget = &destinationv1.RetryBudget{
				RetryRatio:          float32(b.RetryRatio),
				MinRetriesPerSecond: uint32(b.MinRetriesPerSecond),
				TtlMs:               uint64(ttl.Milliseconds()),
			}
		}
	}
	return p, errs
}

func routeMessage(r RouteSpec) (*destinationv1.Route, error) {
	if r.Name == "" {
		return nil, fmt.Errorf("no name")
	}
	if r.Condition == nil {
		return nil, fmt.Errorf("no condition")
	}
	cond, err := requestMatchMessage(r.Condition)
	if err != nil {
		return nil, fmt.Errorf("condition: %w", err)
	}
	rt := &destinationv1.Route{Name: r.Name, Condition: cond, IsRetryable: r.IsRetryable}
	for i, c := range r.ResponseClasses {
		if c.Condition == nil {
			return nil, fmt.Errorf("responseClasses[%d]: no condition", i)
		}
		m, err := responseMatchMessage(c.Condition)
		if err != nil {
			return nil, fmt.Errorf("responseClasses[%d]: %w", i, err)
		}
		rt.ResponseClasses = append(rt.ResponseClasses, &destinationv1.ResponseClass{Condition: m, IsFailure: c.IsFailure})
	}
	if r.Timeout != "" {
		d, err := time.ParseDuration(r.Timeout)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("timeout %q: not a duration such as 500ms or 10s", r.Timeout)
		}
		rt.TimeoutMs = uint64(d.Milliseconds())
		if rt.TimeoutMs == 0 && d > 0 {
			rt.TimeoutMs = 1
		}
	}
	return rt, nil
}

// maxMatchDepth bounds nested conditions (the CRD allows two levels).
const maxMatchDepth = 8

func requestMatchMessage(m *RequestMatchSpec) (*destinationv1.RequestMatch, error) {
	return requestMatchAt(m, 0)
}

func requestMatchAt(m *RequestMatchSpec, depth int) (*destinationv1.RequestMatch, error) {
	if depth > maxMatchDepth {
		return nil, fmt.Errorf("conditions nested deeper than %d", maxMatchDepth)
	}
	out := &destinationv1.RequestMatch{PathRegex: m.PathRegex, Method: m.Method}
	if m.PathRegex != "" {
		if _, err := destinationv1.CompilePathRegex(m.PathRegex); err != nil {
			return nil, err
		}
	}
	if m.Method != "" && !validMethod(m.Method) {
		return nil, fmt.Errorf("method %q: not an HTTP method", m.Method)
	}
	for _, sub := range m.All {
		s, err := requestMatchAt(sub, depth+1)
		if err != nil {
			return nil, err
		}
		out.All = append(out.All, s)
	}
	for _, sub := range m.Any {
		s, err := requestMatchAt(sub, depth+1)
		if err != nil {
			return nil, err
		}
		out.Any = append(out.Any, s)
	}
	if m.Not != nil {
		s, err := requestMatchAt(m.Not, depth+1)
		if err != nil {
			return nil, err
		}
		out.Not = s
	}
	return out, nil
}

func responseMatchMessage(m *ResponseMatchSpec) (*destinationv1.ResponseMatch, error) {
	return responseMatchAt(m, 0)
}

func responseMatchAt(m *ResponseMatchSpec, depth int) (*destinationv1.ResponseMatch, error) {
	if depth > maxMatchDepth {
		return nil, fmt.Errorf("conditions nested deeper than %d", maxMatchDepth)
	}
	out := &destinationv1.ResponseMatch{}
	if s := m.Status; s != nil {
		if s.Min < 0 || s.Max < 0 || s.Min > 599 || s.Max > 599 || (s.Max != 0 && s.Min > s.Max) {
			return nil, fmt.Errorf("status range %d-%d: want 100 <= min <= max <= 599", s.Min, s.Max)
		}
		out.Status = &destinationv1.StatusRange{Min: uint32(s.Min), Max: uint32(s.Max)}
	}
	for _, sub := range m.All {
		s, err := responseMatchAt(sub, depth+1)
		if err != nil {
			return nil, err
		}
		out.All = append(out.All, s)
	}
	for _, sub := range m.Any {
		s, err := responseMatchAt(sub, depth+1)
		if err != nil {
			return nil, err
		}
		out.Any = append(out.Any, s)
	}
	if m.Not != nil {
		s, err := responseMatchAt(m.Not, depth+1)
		if err != nil {
			return nil, err
		}
		out.Not = s
	}
	return out, nil
}

func validMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}

// authority is the Service port's authority, the routes' dst label.
func authority(svc Service, port uint16, clusterDomain string) string {
	return ProfileName(svc, clusterDomain) + ":" + strconv.Itoa(int(port))
}
