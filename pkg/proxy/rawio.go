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
	r, w rawOp

	// control runs a function on the socket (the RawConn's Control);
	// peek and peekBuf, bound once, let inputPending ask the socket
	// without allocating, and peeked holds its answer.
	control func(f func(fd uintptr)) error
	peek    func(fd uintptr)
	peekBuf [1]byte
	peeked  bool
}

// rawOp is one direction of a rawTCPConn: the state of the call in
// progress, kept here so that the callback handed to the RawConn is
// allocated once per connection, and guarded: net.Conn allows concurrent
// calls, and goroutines that take turns on a connection (net/http's
// Transport writes a request on one and, after a 101, the upgrade's copier
// writes on another) need an order between them.
type rawOp struct {
	mu    sync.Mutex
	name  string                              // "read" or "write"
	wait  func(f func(fd uintptr) bool) error // the RawConn's Read or Write
	fn    func(fd uintptr) bool               // readOnce or writeAll
	buf   []byte
	n     int
	errno syscall.Errno
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
	rc := &rawTCPConn{TCPConn: tc}
	rc.r.name, rc.r.wait, rc.r.fn = "read", sc.Read, rc.readOnce
	rc.w.name, rc.w.wait, rc.w.fn = "write", sc.Write, rc.writeAll
	rc.control, rc.peek = sc.Control, rc.peekOnce
	return rc
}

// inputPending reports whether the socket has anything to read, end of
// file and errors included, without waiting and without consuming it. A
// pooled HTTP/1 connection must have nothing: bytes there were sent after
// the last response, and would be read as the next one.
func (c *rawTCPConn) inputPending() bool {
	c.peeked = true
	if err := c.control(c.peek); err != nil {
		return true // closed
	}
	return c.peeked
}

func (c *rawTCPConn) peekOnce(fd uintptr) {
	for {
		_, _, errno := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&c.peekBuf[0])), 1, syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
		if errno == syscall.EINTR {
			continue
		}
		// Bytes (n > 0), end of file (n == 0) and errors all count.
		c.peeked = errno != syscall.EAGAIN
		return
	}
}

// Read reads once, as net.Conn's Read.
func (c *rawTCPConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, err := c.do(&c.r, p)
	if err == nil && n == 0 {
		return 0, io.EOF
	}
	return n, err
}

// Write writes all of p, waiting for the socket to drain as needed.
func (c *rawTCPConn) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return c.do(&c.w, p)
}

// do runs op on p and returns the bytes it moved and its error, named as
// the net package names them.
func (c *rawTCPConn) do(op *rawOp, p []byte) (int, error) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.buf, op.n, op.errno = p, 0, 0
	err := op.wait(op.fn)
	n, errno := op.n, op.errno
	op.buf = nil
	switch {
	case err != nil:
		return n, c.opError(op.name, err)
	case errno != 0:
		return n, c.opError(op.name, os.NewSyscallError(op.name, errno))
	}
	return n, nil
}

func (c *rawTCPConn) readOnce(fd uintptr) bool {
	for {
		n, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&c.r.buf[0])), uintptr(len(c.r.buf)))
		switch errno {
		case 0:
			c.r.n = int(n)
		case syscall.EAGAIN:
			return false // the poller waits for readiness, then calls again
		case syscall.EINTR:
			continue
		default:
			c.r.errno = errno
		}
		return true
	}
}

// writeAll sends with MSG_NOSIGNAL: a peer that went away is an EPIPE
// error, not a signal.
func (c *rawTCPConn) writeAll(fd uintptr) bool {
	for c.w.n < len(c.w.buf) {
		rest := c.w.buf[c.w.n:]
		n, _, errno := syscall.RawSyscall6(syscall.SYS_SENDTO, fd, uintptr(unsafe.Pointer(&rest[0])), uintptr(len(rest)), syscall.MSG_NOSIGNAL, 0, 0)
		switch errno {
		case 0:
			c.w.n += int(n)
		case syscall.EAGAIN:
			return false
		case syscall.EINTR:
		default:
			c.w.errno = errno
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
