package proxy

import (
	"time"
)

// Lingering close bounds: how long a closed client connection keeps
// reading after its half-close, how much it discards meanwhile, how many
// connections of a side linger at once (each holds a goroutine and a
// small buffer: under a flood of connections the proxy closes, such as a
// slowloris attack, the others close at once), and the drain's buffer.
const (
	lingerTimeout = 500 * time.Millisecond
	lingerBytes   = 256 << 10
	maxLingering  = 256
	lingerBufSize = 2 << 10
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
// half-close or every lingering slot is taken; the caller closes it then.
func (c *meteredConn) lingerClose() bool {
	select {
	case c.lingerSlots <- struct{}{}:
	default:
		return false
	}
	cw, ok := c.Conn.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		<-c.lingerSlots
		return false
	}
	go func() {
		defer func() { <-c.lingerSlots }()
		_ = c.Conn.SetReadDeadline(time.Now().Add(lingerTimeout))
		buf := make([]byte, lingerBufSize)
		for n := 0; n < lingerBytes; {
			m, err := c.Conn.Read(buf)
			n += m
			if err != nil {
				break
			}
		}
		_ = c.closeNow()
	}()
	return true
}
