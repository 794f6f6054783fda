package proxy

import (
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
)

// TestCurlThroughPair drives the proxy pair with the real curl binary, over
// HTTP/1.1 and HTTP/2 with prior knowledge, uploading a body each time.
func TestCurlThroughPair(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed")
	}
	backend := newH2CBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = io.WriteString(w, r.Proto+" "+r.Method+" "+string(b))
	}))
	p := newPair(t, strings.TrimPrefix(backend.URL, "http://"), nil)

	tests := []struct {
		flag string
		want string
	}{
		{"--http1.1", "HTTP/1.1 POST payload"},
		{"--http2-prior-knowledge", "HTTP/2.0 POST payload"},
	}
	for _, tt := range tests {
		t.Run(tt.flag, func(t *testing.T) {
			out, err := exec.Command(curl, "-sS", "--max-time", "5", tt.flag, "-d", "payload", "http://"+p.outbound+"/x").CombinedOutput()
			if err != nil || string(out) != tt.want {
				t.Fatalf("curl %s: %q, %v; want %q", tt.flag, out, err, tt.want)
			}
		})
	}
}
