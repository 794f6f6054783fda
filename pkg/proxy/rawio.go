package proxy

import (
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// rawTCPConn is a TCP connection whose reads and writes are raw system
// calls on its non-blocking socket, made through syscall.RawConn: the
// runtime's poller still waits for readiness and enforces deadlines.
//
// Go's own socket I/O enters and leaves every read and write as a
// potentially blocking system call, and entering one wakes the runtime's
// monitor thread (sysmon) whenever every P was idle. A proxy at a modest
// request rate goes idle between requests, so each request woke sysmon
// (a futex wake), which then napped in 20 µs steps until the proxy was
// idle again: per request and proxy, 1.7 futex calls, 3.4 nanosleeps and
// 6-7 context switches of 15-16 system calls, measured with strace and
// perf stat at 1,000 rps. A read or write on a non-blocking socket never
// blocks, so it needs none of that.
type rawTCPConn struct {
	*net.TCPConn
	sc syscall.RawConn

	// State of the read and the write in progress, kept here so that the
	// callbacks handed to the RawConn are allocated once per connection,
	// and guarded: net.Conn allows concurrent calls, and goroutines that
	// take turns on a connection (net/http's Transport writes a request on
	// one and, after a 101, the upgrade's copier writes on another) need
	// an order between them.
	rmu, wmu       sync.Mutex
	rbuf, wbuf     []byte
	rn, wn         int
	rerrno, werrno syscall.Errno
	readFn         func(fd uintptr) bool
	writeFn        func(fd uintptr) bool
}

// withRawIO returns c reading and writing with raw system calls when it is
// a TCP connection, c itself otherwise.
func withRawIO(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	sc, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	rc := &rawTCPConn{TCPConn: tc, sc: sc}
	rc.readFn = rc.readOnce
	rc.writeFn = rc.writeAll
	return rc
}

// Read reads once, as net.Conn's Read.
func (c *rawTCPConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	c.rbuf, c.rn, c.rerrno = p, 0, 0
	err := c.sc.Read(c.readFn)
	n, errno := c.rn, c.rerrno
	c.rbuf = nil
	switch {
	case err != nil:
		return 0, c.opError("read", err)
	case errno != 0:
		return 0, c.opError("read", os.NewSyscallError("read", errno))
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

func (c *rawTCPConn) readOnce(fd uintptr) bool {
	for {
		n, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&c.rbuf[0])), uintptr(len(c.rbuf)))
		switch errno {
		case 0:
			c.rn = int(n)
		case syscall.EAGAIN:
			return false // the poller waits for readiness, then calls again
		case syscall.EINTR:
			continue
		default:
			c.rerrno = errno
		}
		return true
	}
}

// Write writes all of p, waiting for the socket to drain as needed.
func (c *rawTCPConn) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf, c.wn, c.werrno = p, 0, 0
	err := c.sc.Write(c.writeFn)
	n, errno := c.wn, c.werrno
	c.wbuf = nil
	switch {
	case err != nil:
		return n, c.opError("write", err)
	case errno != 0:
		return n, c.opError("write", os.NewSyscallError("write", errno))
	}
	return n, nil
}

// writeAll sends with MSG_NOSIGNAL: a peer that went away is an EPIPE
// error, not a signal.
func (c *rawTCPConn) writeAll(fd uintptr) bool {
	for c.wn < len(c.wbuf) {
		rest := c.wbuf[c.wn:]
		n, _, errno := syscall.RawSyscall6(syscall.SYS_SENDTO, fd, uintptr(unsafe.Pointer(&rest[0])), uintptr(len(rest)), syscall.MSG_NOSIGNAL, 0, 0)
		switch errno {
		case 0:
			c.wn += int(n)
		case syscall.EAGAIN:
			return false
		case syscall.EINTR:
		default:
			c.werrno = errno
			return true
		}
	}
	return true
}

func (c *rawTCPConn) opError(op string, err error) error {
	if oe, ok := err.(*net.OpError); ok {
		// The RawConn's own errors (closed, deadline) name its "raw-"
		// operation; the connection's callers expect read and write.
		oe.Op = op
		return oe
	}
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}
