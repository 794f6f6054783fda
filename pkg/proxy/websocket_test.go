package proxy

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestWebSocketThroughMeshedPair: a real WebSocket client and server
// (github.com/coder/websocket) talk through a meshed pair whose client
// would carry plain HTTP/1 over HTTP/2: the Upgrade keeps its HTTP/1
// connection, and text, a 1 MiB binary message, a ping and the closing
// handshake all cross.
func TestWebSocketThroughMeshedPair(t *testing.T) {
	backend := newHTTP1Server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(HeaderClientID) != clientID {
			http.Error(w, "unverified client", http.StatusForbidden)
			return
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(2 << 20)
		ctx := r.Context()
		for {
			typ, msg, err := c.Read(ctx)
			if err != nil {
				return // the client's close ends the echo
			}
			if err := c.Write(ctx, typ, msg); err != nil {
				return
			}
		}
	}))
	client, _, outbound := meshedPair(t, backend, EndpointH2)

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws://"+outbound+"/chat", nil)
	if err != nil {
		t.Fatalf("dial through the pair: %v (response %v)", err, resp)
	}
	defer c.CloseNow()
	c.SetReadLimit(2 << 20)
	big := bytes.Repeat([]byte{0, 1, 2, 3, 254, 255}, (1<<20)/6)
	for _, m := range []struct {
		typ websocket.MessageType
		msg []byte
	}{
		{websocket.MessageText, []byte("hello through the mesh")},
		{websocket.MessageBinary, big},
		{websocket.MessageText, []byte("after the big one")},
	} {
		if err := c.Write(ctx, m.typ, m.msg); err != nil {
			t.Fatalf("write %d bytes: %v", len(m.msg), err)
		}
		typ, got, err := c.Read(ctx)
		if err != nil || typ != m.typ || !bytes.Equal(got, m.msg) {
			t.Fatalf("echo of %d bytes: got %d bytes of type %v, %v", len(m.msg), len(got), typ, err)
		}
	}
	// A ping needs a reader running to see its pong.
	readCtx := c.CloseRead(ctx)
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	if err := c.Close(websocket.StatusNormalClosure, "done"); err != nil {
		t.Fatalf("closing handshake: %v", err)
	}
	<-readCtx.Done()
	want := map[string]string{"direction": "outbound", "status_code": "101", "tls": "true"}
	eventually(t, func() bool { return counterSum(client, "response_total", want) == 1 }, "the WebSocket exchange is counted, over mTLS, as a 101")
}
