package proxy

import (
	"bytes"
	"io"
	"testing"
)

// chunkedReader returns b in pieces of size n, to exercise line handling
// across reads.
type chunkedReader struct {
	b []byte
	n int
}

func (c *chunkedReader) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	k := min(c.n, len(p), len(c.b))
	copy(p, c.b[:k])
	c.b = c.b[k:]
	return k, nil
}

// guardAll reads b through the guard in reads of at most piece bytes. It
// reads with a buffer of piece bytes itself (not io.ReadAll, whose 512-byte
// first buffer would split a "whole" read).
func guardAll(b []byte, piece int) ([]byte, error) {
	g := newH1Guard(&chunkedReader{b: b, n: piece})
	var out []byte
	buf := make([]byte, piece)
	for {
		n, err := g.Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

func TestH1GuardPassesBytesUnchanged(t *testing.T) {
	in := []byte("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi")
	for _, piece := range []int{1, 2, 7, 4096} {
		out, err := guardAll(in, piece)
		if err != nil || !bytes.Equal(out, in) {
			t.Fatalf("piece %d: %q, %v", piece, out, err)
		}
	}
}

func TestH1GuardStopsAtViolation(t *testing.T) {
	valid := "GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
	in := []byte(valid + "GET /b HTTP/1.1\nHost: a\r\n\r\n")
	out, err := guardAll(in, 4096)
	if !isSmuggling(err) {
		t.Fatalf("err = %v, want a smuggling error", err)
	}
	if string(out) != valid {
		t.Fatalf("delivered %q, want only the valid first request", out)
	}
}

func TestH1GuardUpgradeSwitchesToPassthrough(t *testing.T) {
	in := []byte("GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello\n\n\x00")
	out, err := guardAll(in, 3)
	if err != nil || !bytes.Equal(out, in) {
		t.Fatalf("%q, %v", out, err)
	}
}

// FuzzH1Guard: no panics, and the verdict does not depend on how the bytes
// are split into reads. Bytes of a line may be delivered before the line is
// complete, but never the LF that completes an offending line.
func FuzzH1Guard(f *testing.F) {
	for _, c := range smugglingCorpus() {
		if len(c.raw) < 4096 {
			f.Add([]byte(c.raw), uint8(3))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte, piece uint8) {
		whole, errWhole := guardAll(b, len(b)+1)
		split, errSplit := guardAll(b, int(piece%16)+1)
		if isSmuggling(errWhole) != isSmuggling(errSplit) || !bytes.HasPrefix(split, whole) || bytes.IndexByte(split[len(whole):], '\n') >= 0 {
			t.Fatalf("verdict depends on read size: whole (%d bytes, %v) vs split (%d bytes, %v)", len(whole), errWhole, len(split), errSplit)
		}
	})
}
