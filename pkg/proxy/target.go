package proxy

import (
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// dropBadTrailerNames forgets the declared trailers whose names are not
// field names (RFC 9110 section 6.6.2), as trailers the client did not
// declare are dropped: neither server checks the names of the Trailer
// field, and the upstream transports refuse a request declaring one,
// which went out as a 502 connect_error.
func dropBadTrailerNames(r *http.Request) {
	for k := range r.Trailer {
		if !httpguts.ValidHeaderFieldName(k) {
			delete(r.Trailer, k)
		}
	}
}

// checkTarget refuses a request target the proxy cannot forward as the
// client meant it: anything other than a path (origin-form), * for
// OPTIONS, CONNECT's authority, and, over HTTP/1 only, an http or https
// URI with a valid authority (absolute-form; RFC 9112 section 3.2, RFC
// 9113 section 8.3.1). Both servers parse any URI ("a:0", "mailto:x",
// "a:/x"); left to the upstream transport, such a target failed as if the
// upstream could not be reached (a 502 connect_error), or lost its scheme
// ("a:/x" went out as "/x", a path the proxy's routes never saw).
func checkTarget(r *http.Request) error {
	switch {
	case r.Method == http.MethodConnect, strings.HasPrefix(r.RequestURI, "/"):
		return nil
	case r.RequestURI == "*" && r.Method == http.MethodOptions:
		return nil
	}
	u := r.URL
	if r.ProtoMajor == 1 && (u.Scheme == "http" || u.Scheme == "https") && u.Opaque == "" && u.Host != "" && httpguts.ValidHostHeader(u.Host) {
		return nil
	}
	return fmt.Errorf("request target %q cannot be forwarded: a path or an http(s) URI with a host is needed", r.RequestURI)
}
