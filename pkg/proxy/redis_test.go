package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRedisThroughOpaquePort runs a real redis-server (Debian package
// redis-server) behind the proxy pair on an opaque port and speaks RESP to
// it through the proxies: SET, GET and a pipelined burst.
func TestRedisThroughOpaquePort(t *testing.T) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed (apt-get install redis-server); .ci/run installs it")
	}
	addr := freeAddr(t)
	ap := netip.MustParseAddrPort(addr)
	port := ap.Port()
	cmd := exec.Command(bin, "--port", strconv.Itoa(int(port)), "--bind", ap.Addr().String(), "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	eventually(t, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, "redis-server listens")

	p := newPair(t, addr, func(c *Config) { c.OpaquePorts = PortSet{port: {}} })
	c, err := net.Dial("tcp", p.outbound)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	do := func(args ...string) string {
		t.Helper()
		var b strings.Builder
		fmt.Fprintf(&b, "*%d\r\n", len(args))
		for _, a := range args {
			fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
		}
		if _, err := c.Write([]byte(b.String())); err != nil {
			t.Fatal(err)
		}
		return readReply(t, r)
	}
	if got := do("SET", "mesh", "ctl"); got != "OK" {
		t.Fatalf("SET = %q", got)
	}
	if got := do("GET", "mesh"); got != "ctl" {
		t.Fatalf("GET = %q", got)
	}
	// A pipelined burst: 1,000 INCRs written at once, then read back.
	var burst strings.Builder
	for i := 0; i < 1000; i++ {
		burst.WriteString("*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n")
	}
	if _, err := c.Write([]byte(burst.String())); err != nil {
		t.Fatal(err)
	}
	var last string
	for i := 0; i < 1000; i++ {
		last = readReply(t, r)
	}
	if last != "1000" {
		t.Fatalf("last INCR = %q, want 1000", last)
	}
}

// readReply reads one RESP reply: simple string, integer or bulk string.
func readReply(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("read reply: %v", err)
	}
	line = strings.TrimSuffix(line, "\r\n")
	switch line[0] {
	case '+', ':':
		return line[1:]
	case '$':
		n, _ := strconv.Atoi(line[1:])
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			t.Fatalf("read bulk: %v", err)
		}
		return string(buf[:n])
	default:
		t.Fatalf("unexpected reply %q", line)
	}
	return ""
}
