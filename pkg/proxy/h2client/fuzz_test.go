package h2client

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// FuzzClientConn answers a request with any bytes after a valid SETTINGS,
// as a server (or a compromised peer proxy) that speaks HTTP/2 badly or
// hostilely would. What must hold: no panic; the round trip and the body
// read end once the server's side ends (no hang); a body read to its end
// without error has the length the response declared.
func FuzzClientConn(f *testing.F) {
	for _, seed := range clientConnSeeds() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		o := roundTripAgainst(t, in)
		if o.err == nil && o.declared >= 0 && o.read != o.declared && o.read < 1<<20 {
			t.Fatalf("body read to its end: %d bytes, the response declared %d", o.read, o.declared)
		}
	})
}

// TestClientConnSeedsAnswer keeps the fuzz harness honest: a well-formed
// answer is a response the client reads, a broken one an error.
func TestClientConnSeedsAnswer(t *testing.T) {
	seeds := clientConnSeeds()
	if o := roundTripAgainst(t, seeds[0]); o.err != nil || o.status != 200 || o.read != 5 {
		t.Errorf("200 with 5 bytes: status %d, %d bytes, %v", o.status, o.read, o.err)
	}
	if o := roundTripAgainst(t, seeds[1]); o.err == nil {
		t.Errorf("a body longer than declared was read without error (%d bytes)", o.read)
	}
	if o := roundTripAgainst(t, seeds[3]); o.err != nil || o.trailer != "0" {
		t.Errorf("gRPC trailers: grpc-status %q, %v", o.trailer, o.err)
	}
}

// clientOutcome is what a round trip against a scripted server gave.
type clientOutcome struct {
	status         int
	declared, read int64
	trailer        string // Grpc-Status
	err            error
}

// roundTripAgainst sends GET over a connection whose server answers with
// a valid SETTINGS and then in, and reads the response's body.
func roundTripAgainst(t *testing.T, in []byte) clientOutcome {
	t.Helper()
	client, server := net.Pipe()
	go serveBytes(server, in)
	tr := &Transport{
		Dial:              func(context.Context, string) (net.Conn, error) { return client, nil },
		MaxHeaderListSize: 4 << 10,
		ReadIdleTimeout:   time.Second,
		PingTimeout:       time.Second,
	}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://fuzz.test/", nil)
	done := make(chan clientOutcome, 1)
	go func() {
		res, err := tr.RoundTrip(req)
		if err != nil {
			done <- clientOutcome{err: err}
			return
		}
		n, err := io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
		_ = res.Body.Close()
		done <- clientOutcome{status: res.StatusCode, declared: res.ContentLength, read: n, trailer: res.Trailer.Get("Grpc-Status"), err: err}
	}()
	select {
	case o := <-done:
		return o
	case <-time.After(10 * time.Second):
		t.Fatal("the round trip did not end after the server went away")
		return clientOutcome{}
	}
}

// serveBytes plays the server: it reads whatever the client sends, sends
// its SETTINGS, waits for the request's HEADERS, sends in, and goes away.
// Sending in before the request was written let the pipe close under the
// client's start (one CI run in dozens: "read/write on closed pipe").
func serveBytes(c net.Conn, in []byte) {
	defer func() { _ = c.Close() }()
	requested := make(chan struct{})
	go readRequest(c, requested)
	_ = c.SetWriteDeadline(time.Now().Add(3 * time.Second))
	fr := http2.NewFramer(c, nil)
	if err := fr.WriteSettings(); err != nil {
		return
	}
	select {
	case <-requested:
	case <-time.After(3 * time.Second):
		return
	}
	_, _ = c.Write(in)
}

// readRequest reads the client's preface and frames, closing requested at
// the first HEADERS, and then reads on until the connection ends.
func readRequest(c net.Conn, requested chan struct{}) {
	defer func() { _, _ = io.Copy(io.Discard, c) }()
	if _, err := io.ReadFull(c, make([]byte, len(http2.ClientPreface))); err != nil {
		return
	}
	fr := http2.NewFramer(nil, c)
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return
		}
		if _, ok := f.(*http2.HeadersFrame); ok {
			close(requested)
			return
		}
	}
}

// clientConnSeeds are answers to stream 1: well-formed ones of each shape
// and some near misses.
func clientConnSeeds() [][]byte {
	var seeds [][]byte
	add := func(write func(fr *http2.Framer, block func(fields ...string) []byte) error) {
		var buf bytes.Buffer
		fr := http2.NewFramer(&buf, nil)
		var hb bytes.Buffer
		enc := hpack.NewEncoder(&hb)
		block := func(fields ...string) []byte {
			hb.Reset()
			for i := 0; i+1 < len(fields); i += 2 {
				_ = enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
			}
			return bytes.Clone(hb.Bytes())
		}
		if err := write(fr, block); err != nil && !errors.Is(err, io.EOF) {
			panic(err)
		}
		seeds = append(seeds, buf.Bytes())
	}
	headers := func(fr *http2.Framer, block []byte, end bool) error {
		return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block, EndHeaders: true, EndStream: end})
	}
	// 200 with a body of declared length.
	add(func(fr *http2.Framer, block func(...string) []byte) error {
		if err := fr.WriteSettingsAck(); err != nil {
			return err
		}
		if err := headers(fr, block(":status", "200", "content-length", "5"), false); err != nil {
			return err
		}
		return fr.WriteData(1, true, []byte("hello"))
	})
	// A declared length the body does not keep.
	add(func(fr *http2.Framer, block func(...string) []byte) error {
		if err := headers(fr, block(":status", "200", "content-length", "3"), false); err != nil {
			return err
		}
		return fr.WriteData(1, true, []byte("hello"))
	})
	// 100 Continue, then 204 ending the stream.
	add(func(fr *http2.Framer, block func(...string) []byte) error {
		if err := headers(fr, block(":status", "100"), false); err != nil {
			return err
		}
		return headers(fr, block(":status", "204"), true)
	})
	// gRPC-style trailers after data.
	add(func(fr *http2.Framer, block func(...string) []byte) error {
		if err := headers(fr, block(":status", "200", "content-type", "application/grpc"), false); err != nil {
			return err
		}
		if err := fr.WriteData(1, false, []byte{0, 0, 0, 0, 0}); err != nil {
			return err
		}
		return headers(fr, block("grpc-status", "0", "grpc-message", "ok"), true)
	})
	// A head split over CONTINUATION.
	add(func(fr *http2.Framer, block func(...string) []byte) error {
		b := block(":status", "200", "x-long", string(bytes.Repeat([]byte("v"), 64)))
		if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b[:4]}); err != nil {
			return err
		}
		if err := fr.WriteContinuation(1, false, b[4:10]); err != nil {
			return err
		}
		if err := fr.WriteContinuation(1, true, b[10:]); err != nil {
			return err
		}
		return fr.WriteData(1, true, nil)
	})
	// Flow control, ping and settings in the middle of a body.
	add(func(fr *http2.Framer, block func(...string) []byte) error {
		if err := headers(fr, block(":status", "200"), false); err != nil {
			return err
		}
		if err := fr.WriteData(1, false, bytes.Repeat([]byte("a"), 1000)); err != nil {
			return err
		}
		if err := fr.WriteWindowUpdate(0, 1<<20); err != nil {
			return err
		}
		if err := fr.WritePing(false, [8]byte{1}); err != nil {
			return err
		}
		if err := fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20}); err != nil {
			return err
		}
		return fr.WriteData(1, true, bytes.Repeat([]byte("b"), 1000))
	})
	// The stream reset, and the connection going away.
	add(func(fr *http2.Framer, block func(...string) []byte) error {
		if err := headers(fr, block(":status", "200"), false); err != nil {
			return err
		}
		return fr.WriteRSTStream(1, http2.ErrCodeInternal)
	})
	add(func(fr *http2.Framer, _ func(...string) []byte) error {
		return fr.WriteGoAway(0, http2.ErrCodeNo, nil)
	})
	// Near misses: a status that is not one, data before the head, a
	// frame for a stream the client never opened.
	add(func(fr *http2.Framer, block func(...string) []byte) error {
		return headers(fr, block(":status", "2x0"), true)
	})
	add(func(fr *http2.Framer, _ func(...string) []byte) error {
		return fr.WriteData(1, true, []byte("early"))
	})
	add(func(fr *http2.Framer, block func(...string) []byte) error {
		return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 2, BlockFragment: block(":status", "200"), EndHeaders: true, EndStream: true})
	})
	return seeds
}
