package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// client sends one request and waits for its whole response.
type client interface {
	do() error
	close()
}

// dialer opens client connections; it refuses anything off loopback.
type dialer struct {
	target   string
	scenario Scenario
	body     int
	deadline time.Time
}

func (d dialer) dial() (client, error) {
	if err := CheckLoopback(d.target); err != nil {
		return nil, err
	}
	switch d.scenario {
	case ScenarioS1:
		c, err := net.DialTimeout("tcp", d.target, 2*time.Second)
		if err != nil {
			return nil, fmt.Errorf("dial %s: %w", d.target, err)
		}
		_ = c.SetDeadline(d.deadline)
		req := fmt.Appendf(nil, "GET / HTTP/1.1\r\nHost: %s\r\nUser-Agent: meshctl-bench\r\n\r\n", d.target)
		return &h1Client{conn: c, br: bufio.NewReaderSize(c, 16<<10), req: req}, nil
	case ScenarioTCP:
		c, err := net.DialTimeout("tcp", d.target, 2*time.Second)
		if err != nil {
			return nil, fmt.Errorf("dial %s: %w", d.target, err)
		}
		_ = c.SetDeadline(d.deadline)
		return &tcpClient{conn: c, msg: bytes.Repeat([]byte("p"), d.body), buf: make([]byte, d.body)}, nil
	case ScenarioH2, ScenarioGRPC:
		return newH2Client(d)
	}
	return nil, fmt.Errorf("scenario %q has no client", d.scenario)
}

// h1Client is an HTTP/1.1 keep-alive client on one connection.
type h1Client struct {
	conn net.Conn
	br   *bufio.Reader
	req  []byte
}

func (c *h1Client) do() error {
	if _, err := c.conn.Write(c.req); err != nil {
		return fmt.Errorf("write request: %w", err)
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	if resp.StatusCode != http.StatusOK || resp.Close {
		return fmt.Errorf("status %d (close %t)", resp.StatusCode, resp.Close)
	}
	return nil
}

func (c *h1Client) close() { _ = c.conn.Close() }

// tcpClient plays ping-pong: it writes a message and reads it back.
type tcpClient struct {
	conn net.Conn
	msg  []byte
	buf  []byte
}

func (c *tcpClient) do() error {
	if _, err := c.conn.Write(c.msg); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if _, err := io.ReadFull(c.conn, c.buf); err != nil {
		return fmt.Errorf("read echo: %w", err)
	}
	return nil
}

func (c *tcpClient) close() { _ = c.conn.Close() }

// h2Client sends requests as streams of one HTTP/2 connection (prior
// knowledge, no TLS); for gRPC it calls the upstream's unary method.
type h2Client struct {
	tr     *http.Transport
	hc     *http.Client
	url    string
	grpc   bool
	reqMsg []byte
	ctx    context.Context
	cancel context.CancelFunc
}

func newH2Client(d dialer) (client, error) {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	target := d.target
	tr := &http.Transport{
		Protocols:       &p,
		MaxConnsPerHost: 1,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var nd net.Dialer
			return nd.DialContext(ctx, network, target)
		},
	}
	ctx, cancel := context.WithDeadline(context.Background(), d.deadline)
	c := &h2Client{tr: tr, hc: &http.Client{Transport: tr}, url: "http://" + d.target + "/", grpc: d.scenario == ScenarioGRPC, ctx: ctx, cancel: cancel}
	if c.grpc {
		c.url = "http://" + d.target + grpcMethod
		c.reqMsg = grpcFrame([]byte("ping"))
	}
	// Open the connection now, so that dial time is not a request's latency.
	if err := c.do(); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

func (c *h2Client) do() error {
	var req *http.Request
	var err error
	if c.grpc {
		req, err = http.NewRequestWithContext(c.ctx, http.MethodPost, c.url, bytes.NewReader(c.reqMsg))
		if err == nil {
			req.Header.Set("Content-Type", "application/grpc")
			req.Header.Set("Te", "trailers")
		}
	} else {
		req, err = http.NewRequestWithContext(c.ctx, http.MethodGet, c.url, nil)
	}
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("request: %w", err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
		return fmt.Errorf("status %d over %s", resp.StatusCode, resp.Proto)
	}
	if c.grpc && resp.Trailer.Get("Grpc-Status") != "0" {
		return errors.New("grpc-status " + resp.Trailer.Get("Grpc-Status") + ", want 0")
	}
	return nil
}

func (c *h2Client) close() {
	c.cancel()
	c.tr.CloseIdleConnections()
}
