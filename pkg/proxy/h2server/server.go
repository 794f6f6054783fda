package h2server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server serves HTTP/2 connections to Handler. Its zero limits take the
// defaults below; set the fields before the first ServeConn.
type Server struct {
	// Handler serves every request.
	Handler http.Handler
	// MaxConcurrentStreams is advertised to clients and enforced (default
	// 250); it also bounds the handlers running at once.
	MaxConcurrentStreams uint32
	// MaxHeaderBytes bounds a request's header list (default 64 KiB);
	// a larger one is answered 431.
	MaxHeaderBytes int
	// PrefaceTimeout bounds the wait for the client's preface and first
	// SETTINGS (default 10 s).
	PrefaceTimeout time.Duration
	// IdleTimeout closes a connection without streams this long (default
	// 90 s).
	IdleTimeout time.Duration
	// WriteTimeout bounds each flush to the connection (default 30 s): a
	// client that stops reading loses the connection, not the server's
	// goroutines.
	WriteTimeout time.Duration
	// Log receives protocol errors at debug level (nil: discarded).
	Log *slog.Logger

	// workerIdle is how long a handler goroutine waits for another stream
	// (workerIdleTimeout unless a test sets it).
	workerIdle time.Duration

	mu           sync.Mutex
	conns        map[*conn]struct{}
	shuttingDown bool
}

const (
	defaultMaxStreams     = 250
	defaultMaxHeaderBytes = 64 << 10
	defaultPrefaceTimeout = 10 * time.Second
	defaultIdleTimeout    = 90 * time.Second
	defaultWriteTimeout   = 30 * time.Second

	// streamWindow and connWindow are the receive windows this server
	// grants: the most a client may send on a stream before its handler
	// reads, and over all streams of a connection, so a connection never
	// buffers more than connWindow of request bodies.
	streamWindow = 1 << 20
	connWindow   = 1 << 20
	// maxFrameSize is the largest frame this server reads (the protocol's
	// default, so no setting announces it).
	maxFrameSize = 16 << 10
)

// ErrServerClosed is returned by ServeConn for a connection that arrived
// after Shutdown or Close.
var ErrServerClosed = errors.New("h2server: server closed")

// ServeConn serves nc, whose next bytes are the client's connection
// preface, until the connection ends; it closes nc. Requests carry ctx's
// values and end with it.
func (s *Server) ServeConn(ctx context.Context, nc net.Conn) error {
	c := newConn(ctx, s, nc)
	if !s.track(c) {
		_ = nc.Close()
		return ErrServerClosed
	}
	defer s.untrack(c)
	return c.serve()
}

func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shuttingDown {
		return false
	}
	if s.conns == nil {
		s.conns = map[*conn]struct{}{}
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
}

// Shutdown sends every connection a GOAWAY, lets the streams it names
// finish, and closes each connection once it has none; it returns when
// all are closed, or closes the rest when ctx ends and returns its error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shuttingDown = true
	conns := s.snapshot()
	s.mu.Unlock()
	for _, c := range conns {
		c.startGracefulShutdown()
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		s.mu.Lock()
		n := len(s.conns)
		s.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			s.Close()
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// Close closes every connection at once, in-flight streams included.
func (s *Server) Close() {
	s.mu.Lock()
	s.shuttingDown = true
	conns := s.snapshot()
	s.mu.Unlock()
	for _, c := range conns {
		c.closeConn()
	}
}

// snapshot lists the tracked connections; s.mu is held.
func (s *Server) snapshot() []*conn {
	out := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	return out
}

func (s *Server) maxStreams() uint32 {
	if s.MaxConcurrentStreams == 0 {
		return defaultMaxStreams
	}
	return s.MaxConcurrentStreams
}

func (s *Server) maxHeaderBytes() uint32 {
	if s.MaxHeaderBytes <= 0 {
		return defaultMaxHeaderBytes
	}
	return uint32(s.MaxHeaderBytes)
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func (s *Server) debug(msg string, args ...any) {
	if s.Log != nil {
		s.Log.Debug(msg, args...)
	}
}
