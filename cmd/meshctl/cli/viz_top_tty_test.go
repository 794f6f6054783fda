//go:build linux

package cli

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/meshctl/meshctl/pkg/testutil/syncbuf"
)

// TestVizTopTerminal runs viz top on a real pseudo-terminal: it switches
// to the alternate screen and raw input, redraws the table in place with
// the live requests, leaves on q, and restores the terminal's modes and
// screen, printing the last table on the main screen.
func TestVizTopTerminal(t *testing.T) {
	const token = "s3cret-tap-token"
	inbound, control := startTapTestProxy(t, tapBackend(t), token)
	kubeconfig := tapAPIServer(t, control, token)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())

	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 24, Cols: 100}); err != nil {
		t.Fatal(err)
	}
	before, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var screen strings.Builder
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			mu.Lock()
			screen.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	seen := func(want string) bool { mu.Lock(); defer mu.Unlock(); return strings.Contains(screen.String(), want) }

	errOut := &syncbuf.Buffer{}
	streams := genericiooptions.IOStreams{In: tty, Out: tty, ErrOut: errOut}
	code := make(chan int, 1)
	go func() {
		code <- Execute(context.Background(), streams, strings.Fields("viz top po/web-1 -n shop --refresh 100ms --kubeconfig "+kubeconfig))
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !seen("/fail") {
		if time.Now().After(deadline) {
			mu.Lock()
			t.Fatalf("no live row on the terminal within 10s:\n%q\nstderr: %s", screen.String(), errOut)
		}
		get(t, "http://"+inbound+"/fail", "web.shop")
		time.Sleep(50 * time.Millisecond)
	}
	// A frame every 100 ms: wait for the table to be drawn again.
	frames := func() int { mu.Lock(); defer mu.Unlock(); return strings.Count(screen.String(), "Source") }
	for n := frames(); frames() < n+2 && time.Now().Before(deadline.Add(5*time.Second)); {
		time.Sleep(20 * time.Millisecond)
	}
	raw, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if raw.Lflag&unix.ICANON != 0 || raw.Lflag&unix.ECHO != 0 {
		t.Error("viz top did not put the terminal in raw mode: q and Ctrl-C would wait for Enter")
	}
	if _, err := io.WriteString(ptmx, "q"); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("viz top exited %d after q: %s", c, errOut)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("viz top did not exit within 10s of q")
	}
	after, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if after.Lflag != before.Lflag || after.Iflag != before.Iflag || after.Oflag != before.Oflag {
		t.Errorf("terminal modes not restored: lflag %#x iflag %#x oflag %#x, were %#x %#x %#x",
			after.Lflag, after.Iflag, after.Oflag, before.Lflag, before.Iflag, before.Oflag)
	}
	// The command has returned; its last writes may still be on their way
	// through the pty.
	finalTable := func() bool {
		mu.Lock()
		defer mu.Unlock()
		got := screen.String()
		off := strings.LastIndex(got, ansiAltScreenOff)
		return off >= 0 && strings.Contains(got[off:], "/fail")
	}
	deadline = time.Now().Add(5 * time.Second)
	for !finalTable() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	got := screen.String()
	mu.Unlock()
	on, off := strings.Index(got, ansiAltScreenOn), strings.LastIndex(got, ansiAltScreenOff)
	if on < 0 || off < on {
		t.Fatalf("no alternate screen entered and left:\n%q", got)
	}
	if frames := strings.Count(got[on:off], "Source"); frames < 2 {
		t.Errorf("%d frames drawn on the alternate screen, want the table redrawn in place", frames)
	}
	// The last table stays on the main screen after the alternate one.
	if last := got[off:]; !strings.Contains(last, "/fail") || !strings.Contains(last, "Source") {
		t.Errorf("no final table after leaving the alternate screen:\n%q", last)
	}
}
