package destination

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	destinationv1 "github.com/meshctl/meshctl/pkg/api/destination/v1"
)

// Defaults of ServerOptions.
const (
	DefaultDebounce    = 100 * time.Millisecond
	DefaultSendTimeout = 10 * time.Second
	DefaultMaxStreams  = 10000
	// DefaultUnknownGrace is how long a first answer of "unknown" is held
	// back in case the informers have not seen the object yet.
	DefaultUnknownGrace = time.Second
)

// errShuttingDown ends streams when the server closes; clients retry.
var errShuttingDown = status.Error(codes.Unavailable, "destination: shutting down")

// ServerOptions configure a Server. Zero fields take the defaults above.
type ServerOptions struct {
	// Resolver answers for targets.
	Resolver Resolver
	// Synced reports whether the source holds a full view; until it does,
	// Get answers Unavailable rather than a wrong "unknown". Nil means
	// always synced.
	Synced func() bool
	// Debounce is how long a stream waits after a change for more changes
	// before it resolves again: a rollout becomes a few snapshots, not one
	// per pod event.
	Debounce time.Duration
	// SendTimeout bounds how long one snapshot may wait for a slow client
	// before its stream is ended.
	SendTimeout time.Duration
	// MaxStreams bounds the Get streams open at once, all clients together.
	MaxStreams int
	// UnknownGrace holds back a stream's first "unknown" answer this long
	// while the source changes: a Service or pod created a moment ago may
	// not be in the informers' caches yet, and "unknown" makes the proxy
	// connect in plaintext. Negative disables the wait.
	UnknownGrace time.Duration
	// Registerer receives the metrics; nil means a private registry.
	Registerer prometheus.Registerer
	// Logger receives stream errors; nil discards them.
	Logger *slog.Logger
}

// Server is the gRPC face of a Resolver: the Destination service.
type Server struct {
	destinationv1.UnimplementedDestinationServer
	opts    ServerOptions
	slots   chan struct{}
	done    chan struct{}
	closing sync.Once
	metrics *metrics
	log     *slog.Logger
}

// NewServer builds the Destination service and registers its metrics.
func NewServer(opts ServerOptions) (*Server, error) {
	if opts.Resolver.Source == nil {
		return nil, errors.New("destination server: no source of truth")
	}
	if opts.Debounce <= 0 {
		opts.Debounce = DefaultDebounce
	}
	if opts.SendTimeout <= 0 {
		opts.SendTimeout = DefaultSendTimeout
	}
	if opts.UnknownGrace == 0 {
		opts.UnknownGrace = DefaultUnknownGrace
	}
	if opts.MaxStreams <= 0 {
		opts.MaxStreams = DefaultMaxStreams
	}
	if opts.Registerer == nil {
		opts.Registerer = prometheus.NewRegistry()
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("destination server: %w", err)
	}
	return &Server{opts: opts, slots: make(chan struct{}, opts.MaxStreams), done: make(chan struct{}), metrics: m, log: log}, nil
}

// Close ends every open stream with Unavailable, so a graceful stop of
// the gRPC server does not wait for clients that never leave; they
// reconnect to another replica. Later streams are refused.
func (s *Server) Close() {
	s.closing.Do(func() { close(s.done) })
}

// Get implements destinationv1.DestinationServer: it sends the target's
// snapshot, then a new one after every change that alters it, until the
// client goes away.
func (s *Server) Get(req *destinationv1.GetRequest, stream destinationv1.Destination_GetServer) error {
	target, err := netip.ParseAddrPort(req.GetTarget())
	if err != nil {
		s.metrics.refused.WithLabelValues(refusedBadTarget).Inc()
		return status.Errorf(codes.InvalidArgument, "destination: target %q: want ip:port", req.GetTarget())
	}
	select {
	case <-s.done:
		return errShuttingDown
	default:
	}
	if s.opts.Synced != nil && !s.opts.Synced() {
		s.metrics.refused.WithLabelValues(refusedNotSynced).Inc()
		return status.Error(codes.Unavailable, "destination: caches not synced yet")
	}
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	default:
		s.metrics.refused.WithLabelValues(refusedTooMany).Inc()
		return status.Errorf(codes.ResourceExhausted, "destination: %d streams open, the limit", s.opts.MaxStreams)
	}
	s.metrics.streams.Inc()
	defer s.metrics.streams.Dec()

	ctx := stream.Context()
	var last *destinationv1.Update
	graceUntil := time.Now().Add(s.opts.UnknownGrace)
	for {
		// Taken before resolving, so a change during resolution still
		// wakes this loop.
		changed := s.opts.Resolver.Source.Changed()
		upd := s.opts.Resolver.Resolve(target)
		if last == nil && upd.GetKind() == destinationv1.Kind_KIND_UNKNOWN {
			if wait := time.Until(graceUntil); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					t.Stop()
					return nil
				case <-s.done:
					t.Stop()
					return errShuttingDown
				case <-changed:
					t.Stop()
					continue
				case <-t.C:
					continue
				}
			}
		}
		if last == nil {
			s.metrics.lookups.WithLabelValues(kindLabel(upd.GetKind())).Inc()
		}
		if last == nil || !proto.Equal(upd, last) {
			if err := s.send(ctx, stream, upd); err != nil {
				return err
			}
			last = upd
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.done:
			return errShuttingDown
		case <-changed:
		}
		t := time.NewTimer(s.opts.Debounce)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-s.done:
			t.Stop()
			return errShuttingDown
		case <-t.C:
		}
	}
}

// send sends upd within the send timeout. SendMsg blocks while the
// client's flow-control window is full; on timeout the handler returns,
// which ends the stream and unblocks the abandoned send.
func (s *Server) send(ctx context.Context, stream destinationv1.Destination_GetServer, upd *destinationv1.Update) error {
	done := make(chan error, 1)
	go func() { done <- stream.Send(upd) }()
	t := time.NewTimer(s.opts.SendTimeout)
	defer t.Stop()
	select {
	case err := <-done:
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("destination snapshot not sent", "error", err)
			}
			return err
		}
		s.metrics.updates.Inc()
		return nil
	case <-t.C:
		s.metrics.timeouts.Inc()
		s.log.Warn("destination client too slow, stream ended", "send_timeout", s.opts.SendTimeout.String())
		return status.Errorf(codes.DeadlineExceeded, "destination: snapshot not taken within %s", s.opts.SendTimeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func kindLabel(k destinationv1.Kind) string {
	switch k {
	case destinationv1.Kind_KIND_POD:
		return kindPod
	case destinationv1.Kind_KIND_SERVICE:
		return kindService
	default:
		return kindUnknown
	}
}
