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
	listens []string   // where A and B accept connections
	admins  []string   // meshctl's admin addresses of A and B, else empty
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
	upstream string   // where B forwards
	dir      string   // per-run directory
	tool     string   // nginx's, haproxy's or a Build's executable
	pki      *meshPKI // the run's trust when the hop is mTLS, else nil
}

// sideSpec is one side of a pair: how to exec it and where it listens.
type sideSpec struct {
	name   string
	argv   []string
	listen string
	admin  string   // meshctl's admin address, polled for /ready
	env    []string // added to the child's environment
}

// startPair execs B then A without waiting in between (sidecars start
// together), then waits for both to listen and for a first response.
func startPair(ctx context.Context, env pairEnv, a, b sideSpec) (*pair, error) {
	p := &pair{entry: a.listen, listens: []string{a.listen, b.listen}}
	if a.admin != "" {
		p.admins = []string{a.admin, b.admin}
	}
	for _, s := range []sideSpec{b, a} {
		pr, err := startProcess(env.dir, s.name, s.argv, s.env...)
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

// startMeshctl starts two `meshctl proxy` processes (of this meshctl or of
// a Build) in explicit-target mode: A's outbound listener forwards to B's
// inbound, B's to the upstream.
//
// With mTLS each proxy gets its certificate from the run's Certify service
// with its own token, as in a pod; A must find B's identity on B's
// certificate (--outbound-target-identity) and B admits only clients that
// prove an identity (all-authenticated), which is what nginx's and
// haproxy's required client certificates do.
func startMeshctl(ctx context.Context, env pairEnv) (*pair, error) {
	ad, err := addrs(env.opts.Host, 6)
	if err != nil {
		return nil, err
	}
	binary := env.opts.Binary
	if env.tool != "" {
		binary = env.tool // a Build
	}
	side := func(name, in, out, admin string, target ...string) sideSpec {
		argv := []string{binary, "proxy", "--inbound-addr", in, "--outbound-addr", out, "--admin-addr", admin,
			"--log-level", "warn", "--shutdown-grace-period", "1s"}
		return sideSpec{name: name, argv: append(argv, target...), admin: admin}
	}
	aArgs := []string{"--outbound-target", ad[3]}
	bArgs := []string{"--inbound-target", env.upstream}
	if env.pki != nil {
		aArgs = append(aArgs, "--outbound-target-identity", ServerIdentity())
		bArgs = append(bArgs, "--default-inbound-policy", "all-authenticated")
	}
	a := side("meshctl-A", ad[0], ad[1], ad[2], aArgs...)
	a.listen = ad[1]
	b := side("meshctl-B", ad[3], ad[4], ad[5], bArgs...)
	b.listen = ad[3]
	if env.pki != nil {
		a.env = env.pki.proxyEnv(ClientIdentity())
		b.env = env.pki.proxyEnv(ServerIdentity())
	}
	return startPair(ctx, env, a, b)
}

// startFloor starts two `meshctl bench splice` processes. With mTLS, A
// opens TLS 1.3 to B with the client certificate and checks B's name, and B
// requires and verifies the client certificate: the Go L4 mTLS floor.
func startFloor(ctx context.Context, env pairEnv) (*pair, error) {
	ad, err := addrs(env.opts.Host, 2)
	if err != nil {
		return nil, err
	}
	side := func(name, listen, target string, tls ...string) sideSpec {
		argv := []string{env.opts.Binary, "bench", "splice", "--listen", listen, "--target", target}
		return sideSpec{name: name, listen: listen, argv: append(argv, tls...)}
	}
	var aTLS, bTLS []string
	if p := env.pki; p != nil {
		aTLS = []string{"--tls", "client", "--tls-cert", p.client.Chain, "--tls-key", p.client.Key, "--tls-ca", p.anchorsFile, "--tls-server-name", ServerIdentity()}
		bTLS = []string{"--tls", "server", "--tls-cert", p.server.Chain, "--tls-key", p.server.Key, "--tls-ca", p.anchorsFile}
	}
	return startPair(ctx, env, side("floor-A", ad[0], ad[1], aTLS...), side("floor-B", ad[1], env.upstream, bTLS...))
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
		data := refConfig{Side: s.side, Name: name, Scenario: env.scenario, Dir: env.dir, Listen: s.listen, Target: s.target}.hops(i == 0).withTLS(env.pki, i == 0)
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
