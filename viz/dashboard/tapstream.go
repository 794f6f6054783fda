package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	tapapi "github.com/meshctl/meshctl/pkg/api/tap"
	"github.com/meshctl/meshctl/viz"
)

// Bounds of one tap stream's delivery to the page.
const (
	// tapWriteTimeout bounds each message written to the page; a page that
	// reads slower ends its tap.
	tapWriteTimeout = 10 * time.Second
	// tapQueue is the events waiting for the page; more are dropped and
	// counted, so that the proxies' streams never wait for the browser.
	tapQueue = 256
	// tapExchanges is how many shown exchanges are remembered, so that
	// their rsp and end follow their req.
	tapExchanges = 1024
	// tapNoteEvery is how often drop counts are reported.
	tapNoteEvery = time.Second
)

// tapMessage is one message of the /api/tap websocket, as JSON.
type tapMessage struct {
	// Kind is "event", "note" or "end" (the last message).
	Kind string `json:"kind"`
	// Event is a tap event as `viz tap -o json` prints it (kind event).
	Event *viz.TapEvent `json:"event,omitempty"`
	// Text is the note, or why the stream ended (kind end).
	Text string `json:"text,omitempty"`
	// Failed marks an end caused by an error.
	Failed bool `json:"failed,omitempty"`
}

func endMessage(text string, failed bool) tapMessage {
	return tapMessage{Kind: "end", Text: text, Failed: failed}
}

// exchangeKey names an exchange: its tapped pod's stream and its id there.
type exchangeKey struct {
	stream int
	id     uint64
}

// tapStream sits between a Tapper and the page: it admits at most
// MaxRPS new requests per second, passes the rsp and end events of the
// admitted ones, and queues them for the writer without ever blocking the
// Tapper.
type tapStream struct {
	limiter *rate.Limiter
	maxRPS  float64
	// shown are the admitted exchanges, the oldest forgotten first.
	shown map[exchangeKey]bool
	ring  []exchangeKey
	next  int

	out chan tapMessage
	// overRate counts requests not shown for the rate limit, overQueue
	// events dropped because the page read too slowly.
	overRate, overQueue atomic.Int64
}

func newTapStream(maxRPS float64) *tapStream {
	return &tapStream{
		limiter: rate.NewLimiter(rate.Limit(maxRPS), max(1, int(maxRPS))),
		maxRPS:  maxRPS,
		shown:   map[exchangeKey]bool{},
		out:     make(chan tapMessage, tapQueue),
	}
}

// emit takes one event from the Tapper, which calls it one at a time.
func (s *tapStream) emit(ev viz.TapEvent) {
	k := exchangeKey{ev.Stream, ev.ID}
	if ev.Type == tapapi.TypeRequest {
		if !s.limiter.Allow() {
			s.overRate.Add(1)
			return
		}
		s.admit(k)
	} else if !s.shown[k] {
		return // its request was not shown
	}
	select {
	case s.out <- tapMessage{Kind: "event", Event: &ev}:
	default:
		s.overQueue.Add(1)
	}
}

// note passes a note of the Tapper (a pod that could not be tapped, events
// a proxy dropped).
func (s *tapStream) note(text string) {
	select {
	case s.out <- tapMessage{Kind: "note", Text: text}:
	default:
		s.overQueue.Add(1)
	}
}

// admit remembers k, forgetting the oldest exchange when tapExchanges are
// remembered already.
func (s *tapStream) admit(k exchangeKey) {
	if len(s.ring) < tapExchanges {
		s.ring = append(s.ring, k)
	} else {
		delete(s.shown, s.ring[s.next])
		s.ring[s.next] = k
		s.next = (s.next + 1) % tapExchanges
	}
	s.shown[k] = true
}

// write sends the queued messages to conn until out is closed and drained
// or ctx ends, and reports the drop counts every tapNoteEvery. It fails
// when a write does.
func (s *tapStream) write(ctx context.Context, conn *websocket.Conn) error {
	tick := time.NewTicker(tapNoteEvery)
	defer tick.Stop()
	for {
		var m tapMessage
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			var ok bool
			if m, ok = s.dropNote(); !ok {
				continue
			}
		case msg, open := <-s.out:
			if !open {
				if m, open = s.dropNote(); !open {
					return nil
				}
				return writeMessage(ctx, conn, m)
			}
			m = msg
		}
		if err := writeMessage(ctx, conn, m); err != nil {
			return err
		}
	}
}

// dropNote reports and resets the drop counts, if any.
func (s *tapStream) dropNote() (tapMessage, bool) {
	over, queue := s.overRate.Swap(0), s.overQueue.Swap(0)
	switch {
	case over > 0 && queue > 0:
		return tapMessage{Kind: "note", Text: fmt.Sprintf("%d requests over the dashboard's limit of %g per second were not shown, and %d events were dropped: the page read too slowly", over, s.maxRPS, queue)}, true
	case over > 0:
		return tapMessage{Kind: "note", Text: fmt.Sprintf("%d requests over the dashboard's limit of %g per second were not shown", over, s.maxRPS)}, true
	case queue > 0:
		return tapMessage{Kind: "note", Text: fmt.Sprintf("%d events were dropped: the page read too slowly", queue)}, true
	}
	return tapMessage{}, false
}

// writeMessage writes m as one JSON text message within tapWriteTimeout.
func writeMessage(ctx context.Context, conn *websocket.Conn, m tapMessage) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode tap message: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, tapWriteTimeout)
	defer cancel()
	if err := conn.Write(ctx, websocket.MessageText, b); err != nil {
		return fmt.Errorf("write to the page: %w", err)
	}
	return nil
}
