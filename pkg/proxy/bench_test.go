package proxy

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkHTTP1Pair measures one keep-alive HTTP/1.1 request through a
// client and a server proxy (in process, loopback), 1 KiB responses:
// plaintext, where the hop is HTTP/1.1, and mtls, where it is HTTP/1
// carried over HTTP/2 inside mutual TLS 1.3; mtls-4MiB streams 4 MiB
// responses over that hop (B/op shows what a long body allocates).
func BenchmarkHTTP1Pair(b *testing.B) {
	body := strings.Repeat("x", 1024)
	large := bytes.Repeat([]byte("x"), 4<<20)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/large" {
			// One write of a body of known length, as a file server
			// sends it: what the proxies do is what is measured.
			w.Header().Set("Content-Length", strconv.Itoa(len(large)))
			_, _ = w.Write(large)
			return
		}
		_, _ = io.WriteString(w, body)
	}))
	defer backend.Close()
	backendAddr := strings.TrimPrefix(backend.URL, "http://")
	b.Run("plaintext", func(b *testing.B) {
		p := newPair(&testing.T{}, backendAddr, nil)
		defer p.cancel()
		runPairBenchmark(b, "http://"+p.outbound+"/")
	})
	b.Run("mtls", func(b *testing.B) {
		_, _, outbound := meshedPair(b, backendAddr, EndpointH2)
		runPairBenchmark(b, "http://"+outbound+"/")
	})
	b.Run("mtls-4MiB", func(b *testing.B) {
		_, _, outbound := meshedPair(b, backendAddr, EndpointH2)
		b.SetBytes(int64(len(large)))
		runPairBenchmark(b, "http://"+outbound+"/large")
	})
}

// runPairBenchmark sends GET url from parallel keep-alive clients.
func runPairBenchmark(b *testing.B, url string) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}

func BenchmarkClassify(b *testing.B) {
	line := []byte("GET /api/v1/items?page=2 HTTP/1.1\r\nHost: web.default.svc.cluster.local\r\n")
	b.ReportAllocs()
	for b.Loop() {
		if p, _ := classify(line); p != ProtocolHTTP1 {
			b.Fatal(p)
		}
	}
}

// BenchmarkRecordResponse measures the metrics work of one exchange.
func BenchmarkRecordResponse(b *testing.B) {
	m := newMetrics(prometheus.NewRegistry(), 256)
	hp := &httpProxy{s: &side{metrics: m}}
	info := &connInfo{direction: Outbound, tls: plaintextLabels(Outbound)}
	b.ReportAllocs()
	for b.Loop() {
		ex := &exchange{status: 200}
		ex.labels = append(info.labelValues(), m.authorities.value("web.default.svc.cluster.local:80"))
		m.requests.WithLabelValues(ex.labels...).Inc()
		hp.record(ex)
	}
}

// BenchmarkH1Guard measures the smuggling guard over a keep-alive stream.
func BenchmarkH1Guard(b *testing.B) {
	req := []byte("POST /items HTTP/1.1\r\nHost: web\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{\"name\":\"item\"}\n")
	b.SetBytes(int64(len(req)))
	b.ReportAllocs()
	g := newH1Guard(nil)
	for b.Loop() {
		if _, err := g.scan(req); err != nil {
			b.Fatal(err)
		}
	}
}
