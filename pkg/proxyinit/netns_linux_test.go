package proxyinit

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/meshctl/meshctl/pkg/netutil"
)

// topology is a "pod" network namespace joined by a veth pair to a "peer"
// namespace that stands for the rest of the cluster:
//
//	pod  a0 10.0.0.1/24 fd00::1/64  ── veth ──  b0 10.0.0.2/24 fd00::2/64  peer
//	     routes 10.1/16 10.2/16 fd00:1::/64 fd00:2::/64 via the peer
//	                                             lo 10.1.2.3 10.2.0.1 fd00:1::3 fd00:2::1
type topology struct {
	pod, peer     string // namespace names, under /run/netns
	podNS, peerNS *os.File
}

// newTopology builds the namespaces, or skips the test when this machine
// cannot: not root, no iproute2, or no network namespaces.
func newTopology(t *testing.T) *topology {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: creating network namespaces and nftables rules needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("skipping: the ip command (iproute2) is needed to build the test network namespaces")
	}
	base := fmt.Sprintf("meshctl-pi-%d-%s", os.Getpid(), strings.NewReplacer("/", "-", " ", "-").Replace(t.Name()))
	if len(base) > 40 {
		base = base[:40]
	}
	topo := &topology{pod: base + "-pod", peer: base + "-peer"}
	for _, ns := range []string{topo.pod, topo.peer} {
		if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
			t.Skipf("skipping: network namespaces are unavailable: ip netns add: %v: %s", err, out)
		}
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	}
	var err error
	if topo.podNS, err = os.Open(filepath.Join("/run/netns", topo.pod)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { topo.podNS.Close() })
	if topo.peerNS, err = os.Open(filepath.Join("/run/netns", topo.peer)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { topo.peerNS.Close() })
	for _, ns := range []*os.File{topo.podNS, topo.peerNS} {
		// No duplicate address detection: addresses are usable at once.
		if err := in(ns, func() error {
			return os.WriteFile("/proc/sys/net/ipv6/conf/default/accept_dad", []byte("0"), 0o644)
		}); err != nil {
			t.Logf("disable IPv6 DAD: %v", err)
		}
	}
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	p, q := topo.pod, topo.peer
	ip("-n", p, "link", "set", "lo", "up")
	ip("-n", q, "link", "set", "lo", "up")
	ip("-n", p, "link", "add", "a0", "type", "veth", "peer", "name", "b0", "netns", q)
	ip("-n", p, "addr", "add", "10.0.0.1/24", "dev", "a0")
	ip("-n", p, "addr", "add", "fd00::1/64", "dev", "a0", "nodad")
	ip("-n", q, "addr", "add", "10.0.0.2/24", "dev", "b0")
	ip("-n", q, "addr", "add", "fd00::2/64", "dev", "b0", "nodad")
	ip("-n", p, "link", "set", "a0", "up")
	ip("-n", q, "link", "set", "b0", "up")
	for _, a := range []string{"10.1.2.3/32", "10.2.0.1/32", "fd00:1::3/128", "fd00:2::1/128"} {
		ip("-n", q, "addr", "add", a, "dev", "lo")
	}
	ip("-n", p, "route", "add", "10.1.0.0/16", "via", "10.0.0.2")
	ip("-n", p, "route", "add", "10.2.0.0/16", "via", "10.0.0.2")
	ip("-n", p, "-6", "route", "add", "fd00:1::/64", "via", "fd00::2")
	ip("-n", p, "-6", "route", "add", "fd00:2::/64", "via", "fd00::2")
	topo.waitForIPv6(t)
	return topo
}

// waitForIPv6 returns once the pod reaches the peer over IPv6 (a refused
// connect is an answer): the first IPv6 packet over a fresh veth waits
// for neighbour discovery, which a loaded machine (CI, with builds
// beside it) has taken past a test's two-second dial.
func (topo *topology) waitForIPv6(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := in(topo.podNS, func() error {
			c, err := net.DialTimeout("tcp", "[fd00::2]:1", 500*time.Millisecond)
			if err == nil {
				_ = c.Close()
			}
			return err
		})
		if err == nil || errors.Is(err, unix.ECONNREFUSED) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pod namespace does not reach its peer over IPv6: %v", err)
		}
	}
}

// in runs fn on a fresh OS thread that has entered ns. The thread is never
// unlocked, so the runtime discards it afterwards instead of reusing a
// thread in the wrong namespace.
func in(ns *os.File, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns: %w", err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// serve listens on addr inside ns and answers every connection with one
// line: name and the connection's original destination ("-" when conntrack
// has none).
func serve(t *testing.T, ns *os.File, network, addr, name string) {
	t.Helper()
	var ln net.Listener
	if err := in(ns, func() (err error) {
		ln, err = net.Listen(network, addr)
		return err
	}); err != nil {
		t.Fatalf("listen %s %s: %v", network, addr, err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			dst := "-"
			od, err := netutil.OriginalDst(conn.(*net.TCPConn))
			if err == nil {
				dst = od.String()
			}
			if od2, err2 := netutil.OriginalDstOf(conn); od2 != od || (err == nil) != (err2 == nil) {
				dst = fmt.Sprintf("mismatch: OriginalDst %v %v, OriginalDstOf %v %v", od, err, od2, err2)
			}
			fmt.Fprintf(conn, "%s %s\n", name, dst)
			conn.Close()
		}
	}()
}

// dialFrom connects to addr from inside ns as root.
func dialFrom(ns *os.File, addr string) (line string, err error) {
	err = in(ns, func() error {
		line, err = dialAndRead(addr)
		return err
	})
	return line, err
}

// dialAsUser connects to addr from inside ns as uid, in a helper process
// forked from a thread inside ns.
func dialAsUser(ns *os.File, uid uint32, addr string) (line string, err error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	err = in(ns, func() error {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", helperEnv, uid), "MESHCTL_PROXYINIT_HELPER_ADDR="+addr)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("helper as uid %d: %w: %s", uid, err, strings.TrimSpace(stderr.String()))
		}
		line = strings.TrimSpace(stdout.String())
		return nil
	})
	return line, err
}

// applyIn runs Apply inside ns.
func applyIn(ns *os.File, cfg Config) (res *Result, err error) {
	err = in(ns, func() error {
		res, err = Apply(cfg)
		return err
	})
	return res, err
}

func mustPorts(t *testing.T, s string) []PortRange {
	t.Helper()
	r, err := ParsePorts(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustSubnets(t *testing.T, s string) []netip.Prefix {
	t.Helper()
	p, err := ParseSubnets(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
