package proxy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// SmugglingError is returned by the HTTP/1 framing guard when a request's
// bytes could be framed differently by two parsers (RFC 9112 section 11.2).
// The HTTP server answers it with 400 and closes the connection.
type SmugglingError struct{ Reason string }

func (e *SmugglingError) Error() string { return "proxy: ambiguous http/1 request: " + e.Reason }

// guardState is where the framing guard is within the request stream.
type guardState int

const (
	guardHead guardState = iota
	guardBodyLength
	guardChunkSize
	guardChunkData
	guardChunkDataEnd
	guardTrailers
	guardPassthrough
)

// maxGuardLine bounds one line the guard buffers; heads longer than the
// server's MaxHeaderBytes are refused by the server itself (431).
const maxGuardLine = 1 << 20

// h1Guard checks the framing of a stream of HTTP/1 requests before the HTTP
// server parses it, refusing what Go's parser would accept but another
// parser (the application's) might read differently: Content-Length together
// with Transfer-Encoding, Transfer-Encoding in an HTTP/1.0 request, bare LF
// line endings, obs-fold header lines, and malformed chunked framing. It
// never changes the bytes.
type h1Guard struct {
	r     io.Reader
	state guardState
	err   error // sticky, returned once the valid prefix has been read
	ended int   // requests whose framing ended (before err)
	// serving, when set, returns the number (from 1) of the request the
	// HTTP server is serving from the stream, 0 while it serves none.
	serving func() int64

	line      []byte // partial line being scanned
	firstLine bool
	remaining int64 // body or chunk bytes left
	// per-head facts
	contentLength []string
	te            []string
	upgrade       bool
	connect       bool
	http10        bool
}

func newH1Guard(r io.Reader) *h1Guard {
	return &h1Guard{r: r, firstLine: true}
}

func (g *h1Guard) Read(p []byte) (int, error) {
	if g.err != nil {
		if g.parks() {
			return g.park()
		}
		return 0, g.err
	}
	n, err := g.r.Read(p)
	if g.state == guardPassthrough {
		return n, err
	}
	ok, verr := g.scan(p[:n])
	if verr != nil {
		g.err = verr
		if ok == 0 {
			if g.parks() {
				return g.park()
			}
			return 0, verr
		}
		return ok, nil // deliver the valid prefix; the error comes next
	}
	return n, err
}

// parks reports whether a read must wait rather than return the refusal:
// when it lies after the end of the request the server is serving (not
// in that request's own body, whose reader must fail).
// The read is then net/http's background read, which it makes while a
// request is served to notice a client that goes away (every byte of the
// request was delivered before the refusal was found), and an error there
// would cancel the request in flight, whose framing was sound.
func (g *h1Guard) parks() bool {
	if g.serving == nil {
		return false
	}
	n := g.serving()
	return n > 0 && n <= int64(g.ended)
}

// park waits on the connection, dropping whatever follows the refused
// bytes, until the server ends the read once the response is done (a
// deadline) or the client goes away; the server's next read, for the next
// request's head, gets the refusal (400).
func (g *h1Guard) park() (int, error) {
	var scratch [512]byte
	for {
		if _, err := g.r.Read(scratch[:]); err != nil {
			// Returned as it is: net/http ignores a timeout only when
			// the error itself is a net.Error.
			return 0, err
		}
	}
}

// scan consumes b and returns how many leading bytes were valid framing.
func (g *h1Guard) scan(b []byte) (int, error) {
	i := 0
	for i < len(b) {
		switch g.state {
		case guardPassthrough:
			return len(b), nil
		case guardBodyLength, guardChunkData:
			take := min(int64(len(b)-i), g.remaining)
			g.remaining -= take
			i += int(take)
			if g.remaining == 0 {
				if g.state == guardBodyLength {
					g.resetHead()
				} else {
					g.state = guardChunkDataEnd
				}
			}
		default:
			j := bytes.IndexByte(b[i:], '\n')
			if j < 0 {
				g.line = append(g.line, b[i:]...)
				if len(g.line) > maxGuardLine {
					return i, &SmugglingError{"line too long"}
				}
				return len(b), nil
			}
			// A line that arrived whole in this read is checked where
			// it lies; only one split across reads is copied.
			line := b[i : i+j+1]
			if len(g.line) > 0 {
				g.line = append(g.line, line...)
				line = g.line
			}
			if err := g.endLine(line); err != nil {
				return i, err
			}
			i += j + 1
			g.line = g.line[:0]
		}
	}
	return len(b), nil
}

func (g *h1Guard) resetHead() {
	g.ended++
	g.state = guardHead
	g.firstLine = true
	g.contentLength, g.te = nil, nil
	g.upgrade, g.connect, g.http10 = false, false, false
}

// endLine handles one complete line l (ending in LF).
func (g *h1Guard) endLine(l []byte) error {
	if len(l) < 2 || l[len(l)-2] != '\r' {
		return &SmugglingError{"line ends in a bare LF, not CRLF"}
	}
	l = l[:len(l)-2]
	switch g.state {
	case guardHead:
		return g.headLine(l)
	case guardChunkSize:
		return g.chunkSizeLine(l)
	case guardChunkDataEnd:
		if len(l) != 0 {
			return &SmugglingError{"chunk data longer than its size"}
		}
		g.state = guardChunkSize
	case guardTrailers:
		if len(l) == 0 {
			g.resetHead()
			return nil
		}
		if l[0] == ' ' || l[0] == '\t' {
			return &SmugglingError{"obs-fold in a trailer"}
		}
	}
	return nil
}

func (g *h1Guard) headLine(l []byte) error {
	if g.firstLine {
		if len(l) == 0 {
			return nil // RFC 9112 section 2.2: ignore a CRLF before the request line
		}
		g.firstLine = false
		g.connect = bytes.HasPrefix(l, []byte("CONNECT "))
		g.http10 = bytes.HasSuffix(l, []byte(" HTTP/1.0"))
		return nil
	}
	if len(l) == 0 {
		return g.endHead()
	}
	if l[0] == ' ' || l[0] == '\t' {
		return &SmugglingError{"obs-fold header line"}
	}
	name, value, ok := bytes.Cut(l, []byte(":"))
	if !ok {
		return nil // the server rejects it with 400
	}
	switch {
	case bytes.EqualFold(name, []byte("content-length")):
		g.contentLength = append(g.contentLength, string(bytes.TrimSpace(value)))
	case bytes.EqualFold(name, []byte("transfer-encoding")):
		g.te = append(g.te, string(bytes.TrimSpace(value)))
	case bytes.EqualFold(name, []byte("upgrade")):
		g.upgrade = true
	}
	return nil
}

// endHead decides how the body is framed (RFC 9112 section 6).
func (g *h1Guard) endHead() error {
	switch {
	case g.upgrade || g.connect:
		// After a 101 or a CONNECT tunnel the bytes are no longer HTTP/1.
		g.state = guardPassthrough
	case len(g.te) > 0 && len(g.contentLength) > 0:
		return &SmugglingError{"both Content-Length and Transfer-Encoding"}
	case len(g.te) > 0 && g.http10:
		// RFC 9112 section 6.1: the framing of such a message is to be
		// taken as faulty. net/http's parser ignores the field (the
		// body then ends at once) where the application's may not.
		return &SmugglingError{"Transfer-Encoding in an HTTP/1.0 request"}
	case len(g.te) > 0:
		// Only "chunked" alone frames a request body; the server refuses
		// other codings with 501 before reading further.
		g.state = guardChunkSize
	case len(g.contentLength) > 0:
		first := g.contentLength[0]
		for _, v := range g.contentLength[1:] {
			if v != first {
				return &SmugglingError{"conflicting Content-Length values"}
			}
		}
		n, err := strconv.ParseInt(first, 10, 64)
		if err != nil || n < 0 || first[0] == '+' {
			return &SmugglingError{fmt.Sprintf("invalid Content-Length %q", first)}
		}
		if n == 0 {
			g.resetHead()
			return nil
		}
		g.remaining = n
		g.state = guardBodyLength
	default:
		g.resetHead()
	}
	return nil
}

func (g *h1Guard) chunkSizeLine(l []byte) error {
	size, _, _ := bytes.Cut(l, []byte(";"))
	size = bytes.TrimRight(size, " \t")
	if len(size) == 0 || len(size) > 16 {
		return &SmugglingError{"invalid chunk size"}
	}
	n, err := strconv.ParseUint(string(size), 16, 63)
	if err != nil {
		return &SmugglingError{fmt.Sprintf("invalid chunk size %q", size)}
	}
	if n == 0 {
		g.state = guardTrailers
		return nil
	}
	g.remaining = int64(n)
	g.state = guardChunkData
	return nil
}

// isSmuggling reports whether err comes from the framing guard.
func isSmuggling(err error) bool {
	var se *SmugglingError
	return errors.As(err, &se)
}
