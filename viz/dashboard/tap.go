package dashboard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"

	tapapi "github.com/meshctl/meshctl/pkg/api/tap"
	"github.com/meshctl/meshctl/viz"
)

// Tapper streams the tap events of the proxies of a selection; *viz.Tapper
// is one. Run blocks until ctx ends or every stream has ended, calls emit
// and note one at a time, and never after it returned.
type Tapper interface {
	Run(ctx context.Context, q viz.TapQuery, emit func(viz.TapEvent), note func(string)) error
}

// Defaults of TapLimits.
const (
	// DefaultTapMaxDuration ends a tap stream; the page offers to start
	// it again.
	DefaultTapMaxDuration = 5 * time.Minute
	// DefaultTapMaxRPS is the most new requests per second a tap stream
	// shows.
	DefaultTapMaxRPS = 10
	// DefaultTapMaxStreams bounds the tap streams open at once.
	DefaultTapMaxStreams = 2
)

// TapLimits bound the tap streams of /api/tap.
type TapLimits struct {
	// MaxDuration ends a stream this long after it started (default
	// DefaultTapMaxDuration).
	MaxDuration time.Duration
	// MaxRPS is the most new requests per second a stream shows, all its
	// pods together, each with its events (req, rsp, end: at most three);
	// the others are counted and reported. It is also the sampling rate
	// asked of each proxy. Default DefaultTapMaxRPS, at most
	// tapapi.LimitMaxRPS.
	MaxRPS float64
	// MaxStreams bounds the streams open at once (default
	// DefaultTapMaxStreams); a page asking for more is told to close one.
	MaxStreams int
}

func (l TapLimits) withDefaults() TapLimits {
	if l.MaxDuration <= 0 {
		l.MaxDuration = DefaultTapMaxDuration
	}
	if l.MaxRPS <= 0 {
		l.MaxRPS = DefaultTapMaxRPS
	}
	l.MaxRPS = min(l.MaxRPS, tapapi.LimitMaxRPS)
	if l.MaxStreams <= 0 {
		l.MaxStreams = DefaultTapMaxStreams
	}
	return l
}

// tapRequest reads the query of /api/tap: resource (a workload kind or po,
// default deploy), namespace (empty: all), name (empty: every resource of
// the kind), and the filters of `viz tap`: method, path (a prefix) and
// authority.
func tapRequest(r *http.Request, maxRPS float64) (viz.TapQuery, error) {
	q := r.URL.Query()
	sel, err := selectionOf(q)
	if err != nil {
		return viz.TapQuery{}, err
	}
	if sel.Kind == viz.KindService {
		return viz.TapQuery{}, viz.ErrServiceNotSupported("the tap view")
	}
	if name := q.Get("name"); name != "" {
		sel.Names = []string{name}
	}
	if err := sel.Validate(); err != nil {
		return viz.TapQuery{}, err
	}
	path := q.Get("path")
	if path != "" && !strings.HasPrefix(path, "/") {
		return viz.TapQuery{}, fmt.Errorf("path %q: a path prefix starts with /", path)
	}
	filter := tapapi.Request{Method: strings.ToUpper(q.Get("method")), PathPrefix: path, Authority: q.Get("authority"), MaxRPS: maxRPS}
	return viz.TapQuery{Selection: sel, Filter: filter}, nil
}

// tap upgrades /api/tap to a websocket and streams the selection's tap
// events to it, bounded by TapLimits, until the page closes it. ServeHTTP
// has checked the Host and any Origin; a browser always sends an Origin
// with a websocket handshake, so one without is refused too.
func (h *Handler) tap(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Origin") == "" {
		http.Error(w, "the tap stream is served to the dashboard's page only: a websocket handshake without Origin is refused", http.StatusForbidden)
		return
	}
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		w.Header().Set("Upgrade", "websocket")
		http.Error(w, "the tap stream is a websocket", http.StatusUpgradeRequired)
		return
	}
	q, qerr := tapRequest(r, h.opts.TapLimits.MaxRPS)
	// The server's read and write timeouts would cut the stream, which has
	// bounds of its own.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	// Accept checks again that the Origin is the page's own.
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return // Accept has answered
	}
	defer conn.CloseNow() //nolint:errcheck // the connection may be gone already
	end := h.stream(conn, q, qerr)
	wctx, cancel := context.WithTimeout(h.streams, tapWriteTimeout)
	defer cancel()
	if writeMessage(wctx, conn, end) == nil {
		_ = conn.Close(websocket.StatusNormalClosure, "")
	}
}

// stream runs one tap for conn and returns the message that ends it.
func (h *Handler) stream(conn *websocket.Conn, q viz.TapQuery, qerr error) tapMessage {
	if qerr != nil {
		return endMessage(qerr.Error(), true)
	}
	if h.opts.Tap == nil {
		why := h.opts.TapOff
		if why == "" {
			why = "no tap source is configured"
		}
		return endMessage("tap is not available: "+why, true)
	}
	select {
	case h.tapSlots <- struct{}{}:
		defer func() { <-h.tapSlots }()
	default:
		return endMessage(fmt.Sprintf("the dashboard's limit of %d open taps is reached: stop one (or close its tab) first", cap(h.tapSlots)), true)
	}
	// closed ends when the page closes the socket or the dashboard stops.
	closed := conn.CloseRead(h.streams)
	ctx, cancel := context.WithTimeout(closed, h.opts.TapLimits.MaxDuration)
	defer cancel()
	s := newTapStream(h.opts.TapLimits.MaxRPS)
	written := make(chan struct{})
	go func() {
		defer close(written)
		if s.write(ctx, conn) != nil {
			cancel() // the page reads too slowly, or is gone
		}
	}()
	err := h.opts.Tap.Run(ctx, q, s.emit, s.note)
	close(s.out) // Run has returned: nothing is emitted any more
	<-written
	switch {
	case err != nil:
		return endMessage(err.Error(), true)
	case errors.Is(ctx.Err(), context.DeadlineExceeded) && closed.Err() == nil:
		return endMessage(fmt.Sprintf("the tap stopped after %s, the dashboard's limit: start it again to go on", h.opts.TapLimits.MaxDuration), false)
	case ctx.Err() != nil:
		return endMessage("the tap was stopped", false)
	}
	return endMessage("the proxies ended their tap streams", false)
}
