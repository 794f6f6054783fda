package proxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func h2cClient() *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: &p}}
}

// newH2CBackend starts an application serving h over HTTP/1.1 and HTTP/2
// with prior knowledge on one port, closed when the test ends.
func newH2CBackend(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	s := httptest.NewUnstartedServer(h)
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	s.Config.Protocols = &p
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func TestHTTP2PriorKnowledgeThroughPair(t *testing.T) {
	backend := newH2CBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Done")
		_, _ = io.WriteString(w, r.Proto)
		w.Header().Set("X-Done", "yes")
	}))
	p := newPair(t, strings.TrimPrefix(backend.URL, "http://"), nil)

	resp, err := h2cClient().Get("http://" + p.outbound + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || string(body) != "HTTP/2.0" || resp.Trailer.Get("X-Done") != "yes" {
		t.Fatalf("got %s %q trailer %v", resp.Proto, body, resp.Trailer)
	}
}
