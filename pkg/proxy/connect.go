package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// serveConnect tunnels an HTTP/1 CONNECT request (RFC 9110 section 9.3.6),
// as sent to a forward proxy running in a pod. The request goes to an
// endpoint of the connection's destination as it came; when that answers
// 2xx, the two connections are joined and carry bytes both ways, as an
// opaque connection does, half-closes included. Any other answer is sent
// back as the response it is. The reverse proxy cannot do this: it knows
// only Upgrade's 101 as the start of a tunnel.
func (hp *httpProxy) serveConnect(w http.ResponseWriter, r *http.Request, ex *exchange) {
	// The connect below picks again, with retries over the candidates.
	ex.tracker.Release()
	ex.tracker = nil
	ex.sent = time.Now()
	up, err := hp.s.connect(r.Context(), ex.candidates)
	if err != nil {
		hp.s.log.Debug("CONNECT: connect failed", "target", ex.target.Addr, "error", err)
		hp.fail(w, ex, http.StatusBadGateway, "connect_error")
		return
	}
	defer up.tracker.Release()
	ex.endpoint = up.ep
	upInfo := connInfo{direction: hp.s.direction, tls: up.labels, target: up.ep.Addr}
	if hp.s.direction == Outbound {
		upInfo.dst = dstValues(up.ep.Labels)
	}
	upMeter := hp.s.metrics.openConn(upInfo.labelValues(), "dst")
	untrack := hp.s.track(up.Conn)
	defer untrack()
	closeUp := func(err error) {
		_ = up.Close()
		upMeter.close(err)
	}

	out := connectRequest(r)
	_ = up.SetDeadline(time.Now().Add(hp.s.cfg.ReadHeaderTimeout))
	ub := bufio.NewReader(up)
	resp, err := writeAndRead(out, up, ub)
	if err != nil {
		closeUp(err)
		hp.s.log.Debug("CONNECT: no answer", "endpoint", up.ep.Addr, "error", err)
		hp.fail(w, ex, http.StatusBadGateway, "upstream_error")
		return
	}
	up.tracker.Observe(time.Since(ex.sent))
	ex.series.latencyOf(hp.s.metrics, ex.labelsWith(statusLabel(resp.StatusCode))).Observe(float64(time.Since(ex.start).Microseconds()) / 1000)
	ex.tap.response(resp)
	ex.mu.Lock()
	ex.status = resp.StatusCode
	ex.mu.Unlock()
	if resp.StatusCode/100 != 2 {
		// Refused: an ordinary response, and the end of this upstream
		// connection (it may still hold the refused tunnel's bytes).
		defer closeUp(nil)
		copyHeader(w.Header(), resp.Header)
		w.WriteHeader(resp.StatusCode)
		if _, err := io.Copy(w, resp.Body); err != nil {
			ex.mu.Lock()
			ex.err = "stream_reset"
			ex.mu.Unlock()
		}
		return
	}

	client, cb, err := http.NewResponseController(w).Hijack()
	if err != nil {
		closeUp(err)
		hp.fail(w, ex, http.StatusInternalServerError, "connect_error")
		return
	}
	// The tunnel lives as long as its two ends want it, like an opaque
	// connection: the HTTP server's deadlines no longer apply.
	_ = client.SetDeadline(time.Time{})
	_ = up.SetDeadline(time.Time{})
	if _, err := fmt.Fprintf(client, "HTTP/1.1 %s\r\n", resp.Status); err == nil {
		err = resp.Header.Write(client)
		if err == nil {
			_, err = io.WriteString(client, "\r\n")
		}
	}
	// The client's connection counts its own bytes (it is the HTTP
	// server's metered connection); the upstream's are counted here.
	upMeter.close(join(client, up.Conn, cb.Reader, ub, nil, upMeter))
}

// connectRequest is the CONNECT request sent on: r's authority, headers
// without the hop-by-hop ones (which ReverseProxy removes from every other
// request), and no User-Agent of Go's own.
func connectRequest(r *http.Request) *http.Request {
	h := r.Header.Clone()
	for _, k := range []string{"Connection", "Proxy-Connection", "Keep-Alive", "Te", "Trailer", "Transfer-Encoding", "Upgrade", keyOrigProto, keyOrigExpect} {
		h.Del(k)
	}
	if _, ok := h["User-Agent"]; !ok {
		h["User-Agent"] = []string{""} // present and empty: Request.Write adds none
	}
	return &http.Request{
		Method:     http.MethodConnect,
		URL:        &url.URL{Host: r.Host},
		Host:       r.Host,
		Header:     h,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
	}
}

// writeAndRead sends req on c and reads the response head from br.
func writeAndRead(req *http.Request, c net.Conn, br *bufio.Reader) (*http.Response, error) {
	if err := req.Write(c); err != nil {
		return nil, fmt.Errorf("send CONNECT %s: %w", req.Host, err)
	}
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return nil, fmt.Errorf("read the answer to CONNECT %s: %w", req.Host, err)
	}
	return resp, nil
}

// copyHeader adds every value of src to dst.
func copyHeader(dst, src http.Header) {
	for k, vs := range src {
		for _, v := range vs {
			dst.Add(k, v)
		}
	}
}

// fail answers the exchange with the proxy's own error response.
func (hp *httpProxy) fail(w http.ResponseWriter, ex *exchange, status int, reason string) {
	ex.mu.Lock()
	ex.status, ex.err = status, reason
	ex.mu.Unlock()
	w.Header().Set("Connection", "close")
	writeProxyError(w, status, reason)
}

// writeProxyError answers with the proxy's own error: the reason in the
// meshctl-proxy-error header and in a one-line body.
func writeProxyError(w http.ResponseWriter, status int, reason string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("meshctl-proxy-error", reason)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, "proxy: "+reason+"\n")
}
