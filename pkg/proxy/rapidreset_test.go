package proxy

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// TestHTTP2RapidReset opens streams and cancels each at once
// (CVE-2023-44487). The proxy must bound the work it forwards, keep its
// memory, and go on serving other clients.
func TestHTTP2RapidReset(t *testing.T) {
	var reached atomic.Int64
	backend := newH2CBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		select {
		case <-r.Context().Done():
		case <-time.After(50 * time.Millisecond):
		}
	}))
	p := newPair(t, strings.TrimPrefix(backend.URL, "http://"), nil)

	const attacks = 5000
	c, err := net.Dial("tcp", p.outbound)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, http2Preface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(c, c)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	// Drain whatever the server sends so its writes never block.
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		_, _ = io.Copy(io.Discard, c)
	}()
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	headers := func(id uint32) error {
		hb.Reset()
		for _, f := range []hpack.HeaderField{{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "http"}, {Name: ":authority", Value: "app"}, {Name: ":path", Value: "/"}} {
			_ = enc.WriteField(f)
		}
		return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true})
	}
	// Control: three streams left alone reach the application, so the
	// frames below are well-formed requests.
	for id := uint32(1); id <= 5; id += 2 {
		if err := headers(id); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, func() bool { return reached.Load() == 3 }, "the three control requests reach the application")
	reached.Store(0)
	sent := 0
	for i := 0; i < attacks; i++ {
		id := uint32(2*i + 7)
		if err := headers(id); err != nil {
			break // the proxy closed the connection: a valid defence
		}
		if err := fr.WriteRSTStream(id, http2.ErrCodeCancel); err != nil {
			break
		}
		sent++
	}
	t.Logf("sent %d HEADERS+RST_STREAM pairs; the application saw %d requests", sent, reached.Load())
	if got := reached.Load(); got > attacks/2 {
		t.Errorf("the application saw %d of %d cancelled requests: the proxy does not bound rapid resets", got, attacks)
	}

	// A well-behaved client is still served promptly.
	client := h2cClient()
	client.Timeout = 5 * time.Second
	start := time.Now()
	resp, err := client.Get("http://" + p.outbound + "/")
	if err != nil {
		t.Fatalf("a normal client failed after the attack: %v", err)
	}
	resp.Body.Close()
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("a normal request took %v after the attack", d)
	}
}
