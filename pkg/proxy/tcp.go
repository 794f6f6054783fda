package proxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"time"
)

// spliceChunk is how many bytes one splice call may move before the byte
// counters are updated, so that long-lived connections report progress.
const spliceChunk = 1 << 20

// proxyTCP connects to the target (unless up is already connected) and
// copies bytes both ways until both sides have finished, forwarding
// half-closes (RFC 9293 FIN) in each direction. br holds bytes already read
// during detection.
func (s *side) proxyTCP(ctx context.Context, client net.Conn, br *bufio.Reader, clientMeter *connMeter, info *connInfo, up *upstreamConn) {
	if up == nil {
		var err error
		if up, err = s.connectTarget(ctx, info); err != nil {
			s.log.Debug("connect failed", "target", info.target, "error", err)
			clientMeter.close(err)
			_ = client.Close()
			return
		}
	}
	defer up.tracker.Release()
	var upstream net.Conn = up.Conn
	ep, labels := up.ep, up.labels
	upInfo := *info
	if s.direction == Outbound {
		// The connection to the server: its TLS and, like the HTTP
		// upstream series, the endpoint's address rather than the
		// Service address the application dialled.
		upInfo.tls = labels
		upInfo.setTarget(ep.Addr)
		upInfo.dst = dstValues(ep.Labels)
	}
	upMeter := s.metrics.openConn(upInfo.labelValues(), "dst")
	untrack := s.track(client, upstream)
	defer untrack()

	ended := join(client, upstream, br, nil, clientMeter, upMeter)
	clientMeter.close(ended)
	upMeter.close(ended)
}

// join copies bytes both ways between client and upstream until both
// directions have finished, half-closes forwarded, then closes both and
// returns the first error. clientBuf and upBuf hold bytes already read
// from each side; a nil meter counts nothing (the connection counts its
// own bytes).
func join(client, upstream net.Conn, clientBuf, upBuf *bufio.Reader, clientMeter, upMeter *connMeter) error {
	errc := make(chan error, 2)
	go func() { errc <- pipeTo(upstream, client, clientBuf, clientMeter, upMeter) }()
	go func() { errc <- pipeTo(client, upstream, upBuf, upMeter, clientMeter) }()
	first := <-errc
	if first != nil {
		// A reset or failed write on one side: the other direction cannot
		// complete either, so unblock it instead of waiting for the peer.
		_ = client.Close()
		_ = upstream.Close()
	}
	second := <-errc
	_ = client.Close()
	_ = upstream.Close()
	return firstErr(first, second)
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// pipeTo copies src to dst until src's EOF, then half-closes dst. Bytes
// buffered in br are sent first. A nil meter counts nothing (the
// connection counts its own bytes). On TCP connections the copy uses splice(2)
// in chunks, so the byte counters move as data flows.
func pipeTo(dst, src net.Conn, br *bufio.Reader, srcMeter, dstMeter *connMeter) error {
	if br != nil && br.Buffered() > 0 {
		b, _ := br.Peek(br.Buffered())
		n, err := dst.Write(b)
		srcMeter.addRead(len(b))
		dstMeter.addWrite(n)
		if err != nil {
			return err
		}
	}
	var err error
	if rf, ok := dst.(io.ReaderFrom); ok {
		for {
			var n int64
			n, err = rf.ReadFrom(&io.LimitedReader{R: src, N: spliceChunk})
			srcMeter.addRead(int(n))
			dstMeter.addWrite(int(n))
			if err != nil || n == 0 {
				break
			}
		}
	} else {
		buf := make([]byte, 32<<10)
		for {
			n, rerr := src.Read(buf)
			if n > 0 {
				srcMeter.addRead(n)
				w, werr := dst.Write(buf[:n])
				dstMeter.addWrite(w)
				if werr != nil {
					err = werr
					break
				}
			}
			if rerr != nil {
				if !errors.Is(rerr, io.EOF) {
					err = rerr
				}
				break
			}
		}
	}
	if cw, ok := dst.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	} else {
		_ = dst.SetReadDeadline(time.Now())
	}
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
