package bench

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os/exec"
	"slices"
	"time"
)

// Scenario is the protocol a run speaks through the proxies.
type Scenario string

// The scenarios. S1 is perf.md's reference scenario (HTTP/1.1 keep-alive).
const (
	ScenarioS1   Scenario = "s1"
	ScenarioH2   Scenario = "h2"
	ScenarioGRPC Scenario = "grpc"
	ScenarioTCP  Scenario = "tcp"
)

// Scenarios lists every scenario in report order.
func Scenarios() []Scenario {
	return []Scenario{ScenarioS1, ScenarioH2, ScenarioGRPC, ScenarioTCP}
}

// The configurations a round can contain. Baseline is client → upstream
// directly; the others put a pair of proxies in between.
const (
	ConfigBaseline = "baseline"
	ConfigMeshctl  = "meshctl"
	ConfigFloor    = "floor"
	ConfigNginx    = "nginx"
	ConfigHAProxy  = "haproxy"
)

// References lists the comparison configurations --reference accepts.
func References() []string { return []string{ConfigNginx, ConfigHAProxy, ConfigFloor} }

// ClosedLoop describes the throughput phase: Conns connections sending as
// fast as responses come back, for Duration. Zero Conns disables it.
type ClosedLoop struct {
	Conns    int           `json:"conns"`
	Duration time.Duration `json:"duration"`
}

// maxSpinShare bounds the share of a CPU the generator may spend polling
// the clock (Options.Spin × Rate): past half, the spins of different
// connections overlap and take the CPUs the proxies need.
const maxSpinShare = 0.5

// spinShare is the share of a CPU the generator spends polling the clock
// in the fixed-rate phase.
func (o Options) spinShare() float64 { return o.Spin.Seconds() * float64(o.Rate) }

// Options configure a benchmark. Zero fields take the defaults of Defaults.
type Options struct {
	// Scenarios to run, in order (default s1).
	Scenarios []Scenario `json:"scenarios"`
	// Rate is the open-loop request rate per second over all connections (default 1000).
	Rate int `json:"rate"`
	// Conns is the number of open-loop connections (default 16).
	Conns int `json:"conns"`
	// Streams is the number of HTTP/2 or gRPC requests in flight per
	// connection, in both phases (default 1; other scenarios ignore it).
	Streams int `json:"streams"`
	// Duration of the measured fixed-rate phase (default 20s).
	Duration time.Duration `json:"duration"`
	// Warmup at the same rate before the measured phase (default 2s).
	Warmup time.Duration `json:"warmup"`
	// Spin is the last part of the generator's wait before each fixed-rate
	// send that it spends polling the clock instead of asleep (default 0:
	// asleep all the way). See Load.Spin.
	Spin time.Duration `json:"spin,omitempty"`
	// Rounds of interleaved configurations (default 3).
	Rounds int `json:"rounds"`
	// ClosedLoop is the throughput phase (default 64 connections for 10s).
	ClosedLoop ClosedLoop `json:"closedLoop"`
	// References are the comparison pairs besides meshctl (default nginx,
	// haproxy, floor); nginx and haproxy are skipped when not on PATH.
	References []string `json:"references"`
	// Builds are other meshctl executables whose pairs run in every round
	// beside this one's (none by default).
	Builds []Build `json:"builds,omitempty"`
	// BodySize is the upstream's response size in bytes (default 1024).
	BodySize int `json:"bodySize"`
	// Idle is how long a fresh pair rests before its idle memory is read (default 500ms).
	Idle time.Duration `json:"idle"`
	// NoisyRetries repeats a round up to this many times when its two
	// baselines' p50 differ by more than 15 % (default 0: keep every round).
	NoisyRetries int `json:"noisyRetries"`
	// Pin puts the generator and upstream on the first CPU and the proxies
	// on the others (Linux, at least 2 CPUs).
	Pin bool `json:"pin"`
	// MTLS runs the hop between the two proxies of every pair with mutual
	// TLS 1.3: the meshctl proxies with certificates from a Certify service
	// the benchmark starts on loopback, nginx, haproxy and the floor with
	// certificates from the same issuer (see Hop).
	MTLS bool `json:"mtls"`
	// Host is the loopback address every listener binds (default 127.0.0.1).
	Host string `json:"host"`

	// Binary is the meshctl executable started for the proxy and floor pairs.
	Binary string `json:"-"`
	// WorkDir holds generated configs and child logs; it must exist.
	WorkDir string `json:"-"`
	// LookPath finds nginx and haproxy (default exec.LookPath).
	LookPath func(string) (string, error) `json:"-"`
	// Progress receives one line per phase; nil discards.
	Progress io.Writer `json:"-"`
}

// Defaults returns o with every zero field set.
func (o Options) Defaults() Options {
	if len(o.Scenarios) == 0 {
		o.Scenarios = []Scenario{ScenarioS1}
	}
	if o.Rate == 0 {
		o.Rate = 1000
	}
	if o.Conns == 0 {
		o.Conns = 16
	}
	if o.Streams == 0 {
		o.Streams = 1
	}
	if o.Duration == 0 {
		o.Duration = 20 * time.Second
	}
	if o.Warmup == 0 {
		o.Warmup = 2 * time.Second
	}
	if o.Rounds == 0 {
		o.Rounds = 3
	}
	if o.References == nil {
		o.References = References()
	}
	if o.BodySize == 0 {
		o.BodySize = 1024
	}
	if o.Idle == 0 {
		o.Idle = 500 * time.Millisecond
	}
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if o.LookPath == nil {
		o.LookPath = exec.LookPath
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	return o
}

// Validate reports every invalid field of o (after Defaults).
func (o Options) Validate() error {
	var errs []error
	for _, s := range o.Scenarios {
		if !slices.Contains(Scenarios(), s) {
			errs = append(errs, fmt.Errorf("scenario %q: use s1, h2, grpc or tcp", s))
		}
	}
	for _, r := range o.References {
		if !slices.Contains(References(), r) {
			errs = append(errs, fmt.Errorf("reference %q: use nginx, haproxy or floor", r))
		}
	}
	if err := validateBuilds(o.Builds); err != nil {
		errs = append(errs, err)
	}
	if o.Rate <= 0 || o.Rate > 1_000_000 {
		errs = append(errs, fmt.Errorf("rate %d: want 1 to 1000000 requests per second", o.Rate))
	}
	if o.Conns <= 0 || o.Conns > 4096 {
		errs = append(errs, fmt.Errorf("conns %d: want 1 to 4096", o.Conns))
	}
	if o.Streams < 1 || o.Streams > 1000 {
		errs = append(errs, fmt.Errorf("streams %d: want 1 to 1000", o.Streams))
	}
	if o.Conns*o.Streams > o.Rate {
		errs = append(errs, fmt.Errorf("conns %d × streams %d exceed the rate %d: each stream needs at least one request per second", o.Conns, o.Streams, o.Rate))
	}
	if o.Duration < 100*time.Millisecond || o.Duration > time.Hour {
		errs = append(errs, fmt.Errorf("duration %s: want 100ms to 1h", o.Duration))
	}
	if o.Spin < 0 {
		errs = append(errs, fmt.Errorf("spin %s: want 0 or more", o.Spin))
	} else if share := o.spinShare(); share > maxSpinShare {
		errs = append(errs, fmt.Errorf("spin %s at %d requests per second would keep a CPU polling %.0f%% of the time: lower the spin below %s",
			o.Spin, o.Rate, share*100, time.Duration(maxSpinShare/float64(o.Rate)*float64(time.Second))))
	}
	if o.Warmup < 0 || o.Warmup > 10*time.Minute {
		errs = append(errs, fmt.Errorf("warmup %s: want 0 to 10m", o.Warmup))
	}
	if o.Rounds < 1 || o.Rounds > 100 {
		errs = append(errs, fmt.Errorf("rounds %d: want 1 to 100", o.Rounds))
	}
	if o.ClosedLoop.Conns < 0 || o.ClosedLoop.Conns > 4096 || (o.ClosedLoop.Conns > 0 && o.ClosedLoop.Duration <= 0) {
		errs = append(errs, fmt.Errorf("closed loop %d connections for %s: want 1 to 4096 connections for a positive duration, or 0 to disable", o.ClosedLoop.Conns, o.ClosedLoop.Duration))
	}
	if o.NoisyRetries < 0 || o.NoisyRetries > 10 {
		errs = append(errs, fmt.Errorf("noisy retries %d: want 0 to 10", o.NoisyRetries))
	}
	if o.BodySize < 1 || o.BodySize > 16<<20 {
		errs = append(errs, fmt.Errorf("body size %d: want 1 B to 16 MiB", o.BodySize))
	}
	if err := checkLoopbackHost(o.Host); err != nil {
		errs = append(errs, err)
	}
	if o.Binary == "" {
		errs = append(errs, errors.New("binary: the meshctl executable is required"))
	}
	if o.WorkDir == "" {
		errs = append(errs, errors.New("work dir is required"))
	}
	return errors.Join(errs...)
}

// checkLoopbackHost refuses any address outside 127.0.0.0/8 and ::1: the
// benchmark generates load and must never aim it at another machine.
func checkLoopbackHost(host string) error {
	a, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("host %q: want an IP address: %w", host, err)
	}
	if !a.Unmap().IsLoopback() {
		return fmt.Errorf("host %s is not a loopback address: meshctl bench only runs on 127.0.0.0/8 or ::1", host)
	}
	return nil
}

// CheckLoopback refuses a target ip:port that is not on loopback.
func CheckLoopback(addr string) error {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return fmt.Errorf("target %q: want ip:port: %w", addr, err)
	}
	return checkLoopbackHost(ap.Addr().String())
}
