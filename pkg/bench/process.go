package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// process is one child the benchmark started; it is stopped by its PID.
type process struct {
	name   string
	cmd    *exec.Cmd
	execAt time.Time
	log    *os.File
	waited chan struct{}
}

// startProcess execs argv with env (GOMAXPROCS=1 and nothing of the
// caller's MESHCTL_* settings), logging its output to dir/name.log.
func startProcess(dir, name string, argv []string, extraEnv ...string) (*process, error) {
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.Dir = dir
	cmd.Env = append(childEnv(os.Environ()), extraEnv...)
	cmd.SysProcAttr = childAttr()
	p := &process{name: name, cmd: cmd, log: logf, waited: make(chan struct{})}
	p.execAt = time.Now()
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { _ = cmd.Wait(); close(p.waited) }()
	return p, nil
}

// childEnv drops variables that would change how a child proxy behaves
// and pins each child to one core's worth of Go scheduler.
func childEnv(env []string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if strings.HasPrefix(kv, "MESHCTL_") || strings.HasPrefix(kv, "GOMAXPROCS=") || strings.HasPrefix(kv, "GODEBUG=") {
			continue
		}
		out = append(out, kv)
	}
	return append(out, "GOMAXPROCS=1")
}

func (p *process) pid() int { return p.cmd.Process.Pid }

// exited reports whether the child has ended.
func (p *process) exited() bool {
	select {
	case <-p.waited:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the child's PID and SIGKILL after grace.
func (p *process) stop(grace time.Duration) {
	defer p.log.Close()
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.waited:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.waited
	}
}

// tail returns the end of the child's log, for error messages.
func (p *process) tail() string {
	b, _ := os.ReadFile(p.log.Name())
	if len(b) > 600 {
		b = b[len(b)-600:]
	}
	return strings.TrimSpace(string(b))
}

// waitListening polls addr with TCP connects until one succeeds and returns
// the time since exec.
func (p *process) waitListening(ctx context.Context, addr string, limit time.Duration) (time.Duration, error) {
	deadline := time.Now().Add(limit)
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			at := time.Since(p.execAt)
			_ = c.Close()
			return at, nil
		}
		if p.exited() {
			return 0, fmt.Errorf("%s exited before listening on %s: %s", p.name, addr, p.tail())
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return 0, fmt.Errorf("%s not listening on %s after %s: %s", p.name, addr, limit, p.tail())
		}
		time.Sleep(time.Millisecond)
	}
}

// waitReady polls a meshctl proxy's /ready until it answers 200.
func waitReady(ctx context.Context, adminAddr string, limit time.Duration) error {
	hc := &http.Client{Timeout: 200 * time.Millisecond}
	deadline := time.Now().Add(limit)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+adminAddr+"/ready", nil)
		if resp, err := hc.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("proxy admin %s not ready after %s", adminAddr, limit)
		}
		time.Sleep(time.Millisecond)
	}
}

// scrapeMetrics fetches /metrics from each admin address once, asking for
// gzip and the formats Prometheus asks for, and reads the whole body.
func scrapeMetrics(ctx context.Context, adminAddrs []string) error {
	// DisableCompression: the request carries Accept-Encoding itself, and
	// the body is read as it comes.
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableCompression: true}}
	defer hc.CloseIdleConnections()
	for _, addr := range adminAddrs {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
		req.Header.Set("Accept-Encoding", "gzip")
		req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1")
		resp, err := hc.Do(req)
		if err != nil {
			return fmt.Errorf("scrape %s/metrics: %w", addr, err)
		}
		_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, 16<<20))
		_ = resp.Body.Close()
		if err != nil {
			return fmt.Errorf("scrape %s/metrics: %w", addr, err)
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("scrape %s/metrics: %s", addr, resp.Status)
		}
	}
	return nil
}

// freePort asks the kernel for an unused port on host. The port is free
// when this returns; a child binds it a few milliseconds later.
func freePort(host string) (string, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr, nil
}
