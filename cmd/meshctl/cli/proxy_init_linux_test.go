package cli

import (
	"os"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// inNewNetns runs fn on a locked OS thread inside a fresh network
// namespace; dropNetAdmin also removes CAP_NET_ADMIN from that thread. The
// thread is discarded afterwards.
func inNewNetns(t *testing.T, dropNetAdmin bool, fn func()) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root to create a network namespace")
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		if dropNetAdmin {
			hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
			var data [2]unix.CapUserData
			if err := unix.Capget(&hdr, &data[0]); err != nil {
				errc <- err
				return
			}
			data[0].Effective &^= 1 << unix.CAP_NET_ADMIN
			if err := unix.Capset(&hdr, &data[0]); err != nil {
				errc <- err
				return
			}
		}
		fn()
		errc <- nil
	}()
	if err := <-errc; err != nil {
		t.Skipf("skipping: cannot set up a network namespace: %v", err)
	}
}

func TestProxyInitApplyExitCodes(t *testing.T) {
	t.Run("applied", func(t *testing.T) {
		var r result
		inNewNetns(t, false, func() { r = run(t, "proxy init --ipv6 --no-color") })
		if r.code != ExitOK {
			t.Fatalf("code %d, stderr %q", r.code, r.stderr)
		}
		if !strings.Contains(r.stderr, "√ Traffic redirected to the proxy: 18 rules in ip meshctl, ip6 meshctl") {
			t.Fatalf("stderr %q", r.stderr)
		}
		if r.stdout != "" {
			t.Fatalf("stdout %q, want nothing", r.stdout)
		}
	})
	t.Run("failed apply exits 1", func(t *testing.T) {
		var r result
		inNewNetns(t, true, func() { r = run(t, "proxy init") })
		if r.code != ExitFailure {
			t.Fatalf("code %d, want 1 (stderr %q)", r.code, r.stderr)
		}
		if !strings.Contains(r.stderr, "CAP_NET_ADMIN") {
			t.Fatalf("stderr %q does not explain the missing capability", r.stderr)
		}
	})
}
