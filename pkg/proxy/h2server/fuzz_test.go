package h2server

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// FuzzServeConn feeds the server any bytes after the client preface, as a
// client that speaks HTTP/2 badly or hostilely would. What must hold: no
// panic; once the client's side ends, ServeConn returns and every handler
// it started has returned, within a bound (no hang, no leaked handler).
func FuzzServeConn(f *testing.F) {
	for _, seed := range serveConnSeeds() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var running atomic.Int32
		srv := &Server{
			MaxConcurrentStreams: 8,
			MaxHeaderBytes:       4 << 10,
			PrefaceTimeout:       time.Second,
			IdleTimeout:          time.Second,
			WriteTimeout:         time.Second,
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				running.Add(1)
				defer running.Add(-1)
				w.Header().Set("Trailer", "X-N")
				n, _ := io.Copy(w, r.Body)
				w.Header().Set("X-N", string(rune('0'+n%10)))
			}),
		}
		server, client := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = srv.ServeConn(context.Background(), server)
		}()
		go func() { _, _ = io.Copy(io.Discard, client) }()
		_ = client.SetWriteDeadline(time.Now().Add(2 * time.Second))
		_, _ = client.Write(append([]byte(clientPreface), in...))
		_ = client.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("ServeConn did not return after the client went away")
		}
		deadline := time.Now().Add(5 * time.Second)
		for running.Load() > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%d handlers still running after the connection ended", running.Load())
			}
			time.Sleep(time.Millisecond)
		}
	})
}

// serveConnSeeds are frame sequences a client may send after the preface:
// well-formed exchanges and the shapes of known attacks.
func serveConnSeeds() [][]byte {
	var seeds [][]byte
	frames := func(write func(fr *http2.Framer, enc func(...string) []byte)) []byte {
		var buf, hb bytes.Buffer
		fr := http2.NewFramer(&buf, nil)
		henc := hpack.NewEncoder(&hb)
		enc := func(kv ...string) []byte {
			hb.Reset()
			for i := 0; i+1 < len(kv); i += 2 {
				_ = henc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
			}
			return bytes.Clone(hb.Bytes())
		}
		_ = fr.WriteSettings()
		write(fr, enc)
		return buf.Bytes()
	}
	get := []string{":method", "GET", ":scheme", "http", ":authority", "a", ":path", "/"}
	post := []string{":method", "POST", ":scheme", "http", ":authority", "a", ":path", "/", "content-length", "5", "trailer", "x-t"}
	seeds = append(seeds,
		// A GET, then a POST with a body and trailers.
		frames(func(fr *http2.Framer, enc func(...string) []byte) {
			_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: enc(get...), EndStream: true, EndHeaders: true})
			_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: enc(post...), EndHeaders: true})
			_ = fr.WriteData(3, false, []byte("hello"))
			_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: enc("x-t", "v"), EndStream: true, EndHeaders: true})
		}),
		// Rapid reset.
		frames(func(fr *http2.Framer, enc func(...string) []byte) {
			for id := uint32(1); id < 60; id += 2 {
				_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: enc(get...), EndHeaders: true})
				_ = fr.WriteRSTStream(id, http2.ErrCodeCancel)
			}
		}),
		// A header block split over CONTINUATION frames, one never ended.
		frames(func(fr *http2.Framer, enc func(...string) []byte) {
			block := enc(append(get, "x-long", string(bytes.Repeat([]byte("a"), 300)))...)
			_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block[:10], EndStream: true})
			_ = fr.WriteContinuation(1, false, block[10:20])
			_ = fr.WriteContinuation(1, true, block[20:])
			_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: block[:10], EndStream: true})
			for range 20 {
				_ = fr.WriteContinuation(3, false, block[10:20])
			}
		}),
		// Window games: a zero initial window, updates, an overflow.
		frames(func(fr *http2.Framer, enc func(...string) []byte) {
			_ = fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
			_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: enc(post...), EndHeaders: true})
			_ = fr.WriteData(1, true, []byte("12345"))
			_ = fr.WriteWindowUpdate(1, 3)
			_ = fr.WriteWindowUpdate(0, 1<<31-1)
			_ = fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 30})
		}),
		// Pings, priorities, a GOAWAY.
		frames(func(fr *http2.Framer, enc func(...string) []byte) {
			_ = fr.WritePing(false, [8]byte{1})
			_ = fr.WritePriority(1, http2.PriorityParam{StreamDep: 1})
			_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 5, BlockFragment: enc(get...), EndHeaders: true})
			_ = fr.WriteGoAway(0, http2.ErrCodeNo, nil)
		}),
	)
	return seeds
}
