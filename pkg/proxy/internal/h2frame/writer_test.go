package h2frame

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// pipe returns a Writer on one end of a connection and a Framer reading
// the other.
func pipe(t *testing.T) (*Writer, *http2.Framer, net.Conn) {
	t.Helper()
	a, b := net.Pipe()
	t.Cleanup(func() { _ = a.Close(); _ = b.Close() })
	_ = b.SetReadDeadline(time.Now().Add(5 * time.Second))
	fr := http2.NewFramer(nil, b)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	return NewWriter(a, strings.NewReader(""), time.Second), fr, a
}

func TestWriteFlushesAndUnflushedWaits(t *testing.T) {
	w, fr, _ := pipe(t)
	got := make(chan string, 4)
	go func() {
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				close(got)
				return
			}
			got <- f.Header().Type.String()
		}
	}()
	if err := w.WriteUnflushed(func() error { return w.Framer.WritePing(false, [8]byte{1}) }); err != nil {
		t.Fatal(err)
	}
	select {
	case f := <-got:
		t.Fatalf("%s arrived before any flush", f)
	case <-time.After(50 * time.Millisecond):
	}
	if err := w.Write(func() error { return w.Framer.WriteWindowUpdate(0, 1) }); err != nil {
		t.Fatal(err)
	}
	if a, b := <-got, <-got; a != "PING" || b != "WINDOW_UPDATE" {
		t.Errorf("got %s, %s; want PING then WINDOW_UPDATE in one flush", a, b)
	}
}

func TestErrNotWrittenKeepsTheWriter(t *testing.T) {
	w, fr, _ := pipe(t)
	skip := errors.New("stream gone")
	if err := w.Write(func() error { return errors.Join(skip, ErrNotWritten) }); !errors.Is(err, skip) {
		t.Fatalf("got %v, want the function's error", err)
	}
	go func() { _ = w.Write(func() error { return w.Framer.WritePing(false, [8]byte{2}) }) }()
	if f, err := fr.ReadFrame(); err != nil || f.Header().Type != http2.FramePing {
		t.Fatalf("after ErrNotWritten: %v %v, want a PING", f, err)
	}
}

func TestWriteErrorBreaksTheWriter(t *testing.T) {
	w, _, a := pipe(t)
	_ = a.Close()
	first := w.Write(func() error { return w.Framer.WritePing(false, [8]byte{}) })
	if first == nil {
		t.Fatal("a write to a closed connection succeeded")
	}
	if err := w.WriteUnflushed(func() error { t.Error("ran on a broken writer"); return nil }); !errors.Is(err, first) {
		t.Errorf("then %v, want the first error %v", err, first)
	}
}

func TestWriteBlockCutsToThePeersFrameSize(t *testing.T) {
	w, fr, _ := pipe(t)
	long := strings.Repeat("v", 40_000) // past 16 KiB: HEADERS and CONTINUATIONs
	go func() {
		_ = w.Write(func() error {
			w.ResetBlock()
			w.Encode(":status", "200")
			w.Encode("x-long", long)
			return w.WriteBlock(1, true)
		})
	}()
	fr.MaxHeaderListSize = 1 << 20
	f, err := fr.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	mh, ok := f.(*http2.MetaHeadersFrame)
	if !ok || !mh.StreamEnded() || mh.PseudoValue("status") != "200" || len(mh.RegularFields()) != 1 || mh.RegularFields()[0].Value != long {
		t.Fatalf("got %v, want the header block whole with END_STREAM", f)
	}
}

func TestConnectionSpecific(t *testing.T) {
	for _, tc := range []struct {
		key  string
		want bool
	}{
		{"Connection", true}, {"Proxy-Connection", true}, {"Keep-Alive", true}, {"Transfer-Encoding", true}, {"Upgrade", true},
		{"Te", false}, {"Content-Type", false}, {"Trailer", false},
	} {
		if got := ConnectionSpecific(tc.key); got != tc.want {
			t.Errorf("ConnectionSpecific(%q) = %v, want %v", tc.key, got, tc.want)
		}
	}
}

func TestTheLastWriterFlushesEvenWhenItWroteNothing(t *testing.T) {
	w, fr, _ := pipe(t)
	done := make(chan error, 1)
	if err := w.Write(func() error {
		// Another writer queues behind this one: it will flush.
		go func() { done <- w.Write(func() error { return ErrNotWritten }) }()
		for w.flushers.Load() < 2 {
			time.Sleep(time.Millisecond)
		}
		return w.Framer.WritePing(false, [8]byte{3})
	}); err != nil {
		t.Fatal(err)
	}
	if f, err := fr.ReadFrame(); err != nil || f.Header().Type != http2.FramePing {
		t.Fatalf("got %v %v, want the first writer's PING flushed by the second", f, err)
	}
	if err := <-done; !errors.Is(err, ErrNotWritten) {
		t.Fatalf("the second writer: %v", err)
	}
}
