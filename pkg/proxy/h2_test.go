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

func TestHTTP2PriorKnowledgeThroughPair(t *testing.T) {
	backend := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Done")
		_, _ = io.WriteString(w, r.Proto)
		w.Header().Set("X-Done", "yes")
	}))
	var bp http.Protocols
	bp.SetHTTP1(true)
	bp.SetUnencryptedHTTP2(true)
	backend.Config.Protocols = &bp
	backend.Start()
	defer backend.Close()
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
