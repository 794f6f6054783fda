package proxy

import (
	"io"
	"time"
)

// Lingering close bounds: how long a closed client connection keeps
// reading after its half-close, and how much it discards meanwhile.
const (
	lingerTimeout = 500 * time.Millisecond
	lingerBytes   = 256 << 10
)

// lingerClose closes a connection accepted from a client without
// destroying what was last written to it. Closing a socket whose receive
// buffer holds unread bytes makes the kernel answer with a reset rather
// than a FIN, and a reset can reach the client before it has read the
// final response: the GOAWAY of an HTTP/2 connection error, the 400 that
// refused a request whose body was still arriving. So the write side is
// shut first (the client reads everything, then end of stream), and the
// client's late bytes are read and dropped until it closes too, or for
// lingerTimeout, or up to lingerBytes, before the socket is closed, off
// the caller's goroutine (nginx's lingering_close, net/http's
// closeWriteAndWait). It reports false when the connection cannot
// half-close; the caller closes it then.
func (c *meteredConn) lingerClose() bool {
	cw, ok := c.Conn.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return false
	}
	go func() {
		_ = c.Conn.SetReadDeadline(time.Now().Add(lingerTimeout))
		_, _ = io.CopyN(io.Discard, c.Conn, lingerBytes)
		_ = c.closeNow()
	}()
	return true
}
