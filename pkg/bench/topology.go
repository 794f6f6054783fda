package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Startup is how fast a fresh pair came up.
type Startup struct {
	// ListeningMillis is exec → accepting connections, of the slower side.
	ListeningMillis float64 `json:"listeningMillis"`
	// FirstOKMillis is the first exec of the pair → the first successful
	// response through both proxies.
	FirstOKMillis float64 `json:"firstOkMillis"`
}

// pair is a running proxy pair: the client talks to A, A to B, B to the upstream.
type pair struct {
	entry   string
	procs   []*process // A, B
	startup Startup
}

// stop ends both sides by PID. Children of a side (nginx's worker) that
// outlive their parent are killed by PID too.
func (p *pair) stop() {
	fs := procFS{root: "/proc"}
	for _, pr := range p.procs {
		tree := fs.tree(pr.pid())
		pr.stop(3 * time.Second)
		for _, pid := range tree[1:] {
			if st, err := fs.stat(pid); err == nil && (st.PPID == 1 || st.PPID == pr.pid()) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
}

func (p *pair) pids() []int {
	var out []int
	for _, pr := range p.procs {
		out = append(out, pr.pid())
	}
	return out
}

// pairEnv is what a pair starter needs.
type pairEnv struct {
	opts     Options
	pin      *pinning // nil: no pinning
	scenario Scenario
	upstream string // where B forwards
	dir      string // per-run directory
	tool     string // nginx or haproxy executable
}

// sideSpec is one side of a pair: how to exec it and where it listens.
type sideSpec struct {
	name   string
	argv   []string
	listen string
	admin  string // meshctl's admin address, polled for /ready
}

// startPair execs B then A without waiting in between (sidecars start
// together), then waits for both to listen and for a first response.
func startPair(ctx context.Context, env pairEnv, a, b sideSpec) (*pair, error) {
	p := &pair{entry: a.listen}
	for _, s := range []sideSpec{b, a} {
		pr, err := startProcess(env.dir, s.name, s.argv)
		if err != nil {
			p.stop()
			return nil, err
		}
		p.procs = append([]*process{pr}, p.procs...)
	}
	first := p.procs[1].execAt // B's exec
	for i, s := range []sideSpec{a, b} {
		at, err := p.procs[i].waitListening(ctx, s.listen, 5*time.Second)
		if err != nil {
			p.stop()
			return nil, err
		}
		p.startup.ListeningMillis = max(p.startup.ListeningMillis, millis(at))
		if s.admin != "" {
			if err := waitReady(ctx, s.admin, 5*time.Second); err != nil {
				p.stop()
				return nil, err
			}
		}
	}
	if env.pin != nil {
		if err := env.pin.pinProxies(procFS{root: "/proc"}, p.pids()); err != nil {
			p.stop()
			return nil, err
		}
	}
	d := dialer{target: p.entry, scenario: env.scenario, body: env.opts.BodySize, deadline: time.Now().Add(10 * time.Second)}
	var lastErr error
	for time.Since(first) < 5*time.Second && ctx.Err() == nil {
		c, err := d.dial()
		if err == nil {
			err = c.do()
			c.close()
		}
		if err == nil {
			p.startup.FirstOKMillis = millis(time.Since(first))
			return p, nil
		}
		lastErr = err
		time.Sleep(time.Millisecond)
	}
	p.stop()
	return nil, fmt.Errorf("no response through the pair within 5s: %w", errors.Join(lastErr, ctx.Err()))
}

func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// addrs returns n free loopback addresses.
func addrs(host string, n int) ([]string, error) {
	out := make([]string, n)
	for i := range out {
		a, err := freePort(host)
		if err != nil {
			return nil, err
		}
		out[i] = a
	}
	return out, nil
}

// startMeshctl starts two `meshctl proxy` processes in explicit-target
// mode: A's outbound listener forwards to B's inbound, B's to the upstream.
func startMeshctl(ctx context.Context, env pairEnv) (*pair, error) {
	ad, err := addrs(env.opts.Host, 6)
	if err != nil {
		return nil, err
	}
	side := func(name, in, out, admin string, target ...string) sideSpec {
		argv := []string{env.opts.Binary, "proxy", "--inbound-addr", in, "--outbound-addr", out, "--admin-addr", admin,
			"--log-level", "warn", "--shutdown-grace-period", "1s"}
		return sideSpec{name: name, argv: append(argv, target...), admin: admin}
	}
	a := side("meshctl-A", ad[0], ad[1], ad[2], "--outbound-target", ad[3])
	a.listen = ad[1]
	b := side("meshctl-B", ad[3], ad[4], ad[5], "--inbound-target", env.upstream)
	b.listen = ad[3]
	return startPair(ctx, env, a, b)
}

// startFloor starts two `meshctl bench splice` processes.
func startFloor(ctx context.Context, env pairEnv) (*pair, error) {
	ad, err := addrs(env.opts.Host, 2)
	if err != nil {
		return nil, err
	}
	side := func(name, listen, target string) sideSpec {
		return sideSpec{name: name, listen: listen, argv: []string{env.opts.Binary, "bench", "splice", "--listen", listen, "--target", target}}
	}
	return startPair(ctx, env, side("floor-A", ad[0], ad[1]), side("floor-B", ad[1], env.upstream))
}

// startNginx renders the two nginx configurations and starts both masters.
func startNginx(ctx context.Context, env pairEnv) (*pair, error) {
	return startReference(ctx, env, "nginx", ".conf", func(name, conf string) []string {
		return []string{env.tool, "-e", filepath.Join(env.dir, name+".err"), "-p", env.dir, "-c", conf}
	})
}

// startHAProxy renders the two haproxy configurations and starts both.
func startHAProxy(ctx context.Context, env pairEnv) (*pair, error) {
	return startReference(ctx, env, "haproxy", ".cfg", func(_, conf string) []string {
		return []string{env.tool, "-db", "-f", conf}
	})
}

// startReference renders configs/<stem><ext>.tmpl for each side and starts both.
func startReference(ctx context.Context, env pairEnv, stem, ext string, argv func(name, conf string) []string) (*pair, error) {
	ad, err := addrs(env.opts.Host, 2)
	if err != nil {
		return nil, err
	}
	var specs []sideSpec
	for i, s := range []struct{ side, listen, target string }{
		{"A (outbound)", ad[0], ad[1]},
		{"B (inbound)", ad[1], env.upstream},
	} {
		name := fmt.Sprintf("%s-%c", stem, 'A'+i)
		data := refConfig{Side: s.side, Name: name, Scenario: env.scenario, Dir: env.dir, Listen: s.listen, Target: s.target}.hops(i == 0)
		if err := os.MkdirAll(filepath.Join(env.dir, name+"-tmp"), 0o777); err != nil {
			return nil, fmt.Errorf("create temp dir: %w", err)
		}
		conf, err := renderConfig(stem+ext+".tmpl", data, name+ext)
		if err != nil {
			return nil, err
		}
		specs = append(specs, sideSpec{name: name, listen: s.listen, argv: argv(name, conf)})
	}
	return startPair(ctx, env, specs[0], specs[1])
}
