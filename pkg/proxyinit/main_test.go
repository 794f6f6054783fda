package proxyinit

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// helperEnv switches the test binary into a helper process that dials as
// another user: MESHCTL_PROXYINIT_HELPER=<uid> <addr>. The parent forks it
// from a thread inside the pod namespace, so the helper starts there.
const helperEnv = "MESHCTL_PROXYINIT_HELPER_UID"

func TestMain(m *testing.M) {
	if uid := os.Getenv(helperEnv); uid != "" {
		os.Exit(dialAsHelper(uid, os.Getenv("MESHCTL_PROXYINIT_HELPER_ADDR")))
	}
	os.Exit(m.Run())
}

// dialAsHelper drops to uid (all threads), dials addr and prints the
// server's one-line answer.
func dialAsHelper(uid, addr string) int {
	id, err := strconv.Atoi(uid)
	if err == nil {
		err = syscall.Setgid(id)
	}
	if err == nil {
		err = syscall.Setuid(id)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "helper: drop to uid %s: %v\n", uid, err)
		return 1
	}
	line, err := dialAndRead(addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "helper: %v\n", err)
		return 1
	}
	fmt.Println(line)
	return 0
}

// dialAndRead connects to addr from the calling thread's namespace and
// returns the first line the server sends.
func dialAndRead(addr string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("read from %s: %w", addr, err)
	}
	return line[:len(line)-1], nil
}
