package proxy

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestDeclaredTrailerNotSentFromTheHead: an application that sends a field
// in its head under a name it also declares as a trailer, and then does not
// send that trailer, gets the field through once, in the head (found by
// FuzzPairResponse, seed 10f4d3e86116900a). Each client
// takes another path through the client's proxy: the HTTP/1.1 loop's own
// forwarding (GET), the reverse proxy writing to the loop (POST with a
// body), and the reverse proxy writing to net/http's HTTP/2 server (h2c).
func TestDeclaredTrailerNotSentFromTheHead(t *testing.T) {
	backend := newH2CBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Trailer", "X-Dup, X-Other")
		w.Header().Set("X-Dup", "head")
		w.WriteHeader(http.StatusOK)
		delete(w.Header(), "X-Dup") // in the head only
		_, _ = io.WriteString(w, "body")
		w.(http.Flusher).Flush() // chunked: the trailers follow the body
		w.Header().Set("X-Other", "trailer")
		// One more trailer than declared: the proxies' writers take
		// another path when the counts differ.
		w.Header().Set(http.TrailerPrefix+"X-Undeclared", "late")
	}))
	p := newPair(t, strings.TrimPrefix(backend.URL, "http://"), nil)
	for _, tt := range []struct {
		name   string
		client *http.Client
		method string
		body   io.Reader
	}{
		{"http1 GET", http.DefaultClient, http.MethodGet, nil},
		{"http1 POST", http.DefaultClient, http.MethodPost, strings.NewReader("upload")},
		{"h2c GET", h2cClient(), http.MethodGet, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, "http://"+p.outbound+"/", tt.body)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := tt.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if b, err := io.ReadAll(resp.Body); err != nil || string(b) != "body" {
				t.Fatalf("body %q, %v", b, err)
			}
			if got := resp.Header.Values("X-Dup"); len(got) != 1 || got[0] != "head" {
				t.Errorf("head X-Dup = %q, want [head]", got)
			}
			if got := resp.Trailer.Values("X-Dup"); len(got) != 0 {
				t.Errorf("trailer X-Dup = %q: the head's field was sent again as a trailer", got)
			}
			if got := resp.Trailer.Get("X-Other"); got != "trailer" {
				t.Errorf("trailer X-Other = %q, want %q", got, "trailer")
			}
			if got := resp.Trailer.Get("X-Undeclared"); got != "late" {
				t.Errorf("trailer X-Undeclared = %q, want %q", got, "late")
			}
		})
	}
}
