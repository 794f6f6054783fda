package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/meshctl/meshctl/pkg/bench"
)

type benchOptions struct {
	*globalOptions
	scenarios  []string
	references []string
	builds     []string
	closedLoop string
	jsonPath   string
	mdPath     string
	pngPath    string
	gate       string
	workDir    string

	opts  bench.Options
	gates *bench.Gates
}

func newBenchCmd(g *globalOptions) *cobra.Command {
	o := &benchOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Benchmark the proxy against nginx, haproxy and a TCP splice floor on loopback",
		Long: `Benchmark meshctl's proxy on this machine, with nothing but this binary
(nginx and haproxy join the comparison when they are on PATH).

bench builds a loopback-only topology: a built-in upstream (HTTP/1.1, h2c,
gRPC unary, TCP echo; 1 KiB responses), a pair of real "meshctl proxy"
processes, a Go TCP splice pair as the floor and the reference pairs, each
proxy limited to one core. A built-in open-loop generator paces every
connection with clock_nanosleep and measures latency from the intended send
time; a closed-loop phase measures throughput. Configurations are
interleaved over rounds with a direct-to-upstream baseline at both ends of
each round, and each proxy's CPU and memory is read from /proc.

With --mtls the hop between the two proxies of every pair is mutual TLS
1.3. bench generates a trust anchor and an issuer for the run, serves the
identity controller's Certify service on loopback (tokens it wrote, mode
0600, in the work directory, stand in for ServiceAccount tokens) and the
meshctl proxies get their certificates from it as in a pod: A verifies B's
identity name and B admits only authenticated clients. The nginx and haproxy
pairs and the floor (a Go TLS splice) use certificates from the same issuer,
with client certificates required and B's name verified.

The markdown table goes to standard output, progress to standard error.
With --gate, the command fails when meshctl misses a threshold (defaults:
perf.md G1-G7; --gate=FILE reads YAML overrides), and a round whose two
baselines' p50 differ by more than 15% is run once more.`,
		Example: `  # The reference scenario: 1,000 rps over 16 connections, 3 rounds
  meshctl bench

  # A short comparison with every artefact written
  meshctl bench --rounds 3 --duration 10s --json bench.json --markdown bench.md --png bench.png

  # The same comparison with mutual TLS 1.3 between the proxies of every pair
  meshctl bench --mtls --rounds 3 --duration 10s

  # Gate CI on the default thresholds
  meshctl bench --scenario s1 --duration 10s --gate

  # A change against the build before it, in the same rounds (ratios per round)
  meshctl bench --build before=/tmp/meshctl-before --reference nginx`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.complete(); err != nil {
				return err
			}
			return o.run(cmd)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&o.scenarios, "scenario", []string{"s1"}, "Scenarios to run: s1 (HTTP/1.1), h2, grpc, tcp")
	f.IntVar(&o.opts.Rate, "rate", 1000, "Open-loop requests per second over all connections")
	f.IntVar(&o.opts.Conns, "conns", 16, "Open-loop connections")
	f.IntVar(&o.opts.Streams, "streams", 1, "HTTP/2 and gRPC requests in flight per connection")
	f.DurationVar(&o.opts.Duration, "duration", 20*time.Second, "Length of the measured fixed-rate phase")
	f.DurationVar(&o.opts.Warmup, "warmup", 2*time.Second, "Warm-up at the same rate before each measured phase")
	f.DurationVar(&o.opts.Spin, "spin", 200*time.Microsecond, "Last part of the generator's wait before each fixed-rate send spent polling the clock (at real-time priority where permitted) rather than asleep, so that late wake-ups do not count as latency; costs spin × rate of a CPU, 0 sleeps all the way")
	f.IntVar(&o.opts.Rounds, "rounds", 3, "Rounds of interleaved configurations")
	f.StringVar(&o.closedLoop, "closed-loop", "64x10s", "Throughput phase as CONNECTIONSxDURATION, or off")
	f.StringSliceVar(&o.references, "reference", bench.References(), "Comparison pairs: nginx, haproxy, floor")
	f.StringArrayVar(&o.builds, "build", nil, "Another meshctl executable as NAME=PATH (repeatable): its proxy pair runs in every round beside this one's and is reported against it, round by round")
	f.StringVar(&o.jsonPath, "json", "", "Write the raw runs, summary and gates as JSON to this file")
	f.StringVar(&o.mdPath, "markdown", "", "Also write the markdown report to this file")
	f.StringVar(&o.pngPath, "png", "", "Write a chart of the added latencies to this PNG file")
	f.StringVar(&o.gate, "gate", "", "Fail when a threshold is missed: --gate for perf.md's defaults, --gate=FILE for YAML overrides")
	f.Lookup("gate").NoOptDefVal = "default"
	f.BoolVar(&o.opts.MTLS, "mtls", false, "Mutual TLS 1.3 between the two proxies of every pair (certificates issued for the run)")
	f.BoolVar(&o.opts.Pin, "pin", false, "Pin the generator and upstream to the first CPU and the proxies to the others")
	f.StringVar(&o.workDir, "work-dir", "", "Keep generated configs and proxy logs here (default: a temporary directory, removed)")
	cmd.AddCommand(newBenchSpliceCmd(g))
	return cmd
}

func (o *benchOptions) complete() error {
	// The library reads zero as "default"; on the command line it is a mistake.
	for name, v := range map[string]int{"--rate": o.opts.Rate, "--conns": o.opts.Conns, "--streams": o.opts.Streams, "--rounds": o.opts.Rounds, "--duration": int(o.opts.Duration)} {
		if v <= 0 {
			return usageError(fmt.Errorf("%s must be positive", name))
		}
	}
	if o.opts.Warmup < 0 {
		return usageError(fmt.Errorf("--warmup must not be negative"))
	}
	for _, s := range o.scenarios {
		o.opts.Scenarios = append(o.opts.Scenarios, bench.Scenario(strings.TrimSpace(s)))
	}
	o.opts.References = []string{}
	for _, r := range o.references {
		if r = strings.TrimSpace(r); r != "" && r != "none" {
			o.opts.References = append(o.opts.References, r)
		}
	}
	for _, s := range o.builds {
		b, err := bench.ParseBuild(s)
		if err != nil {
			return usageError(fmt.Errorf("--build: %w", err))
		}
		if err := checkExecutable(b.Path); err != nil {
			return usageError(fmt.Errorf("--build %s: %w", s, err))
		}
		o.opts.Builds = append(o.opts.Builds, b)
	}
	cl, err := parseClosedLoop(o.closedLoop)
	if err != nil {
		return usageError(err)
	}
	o.opts.ClosedLoop = cl
	if o.gate != "" {
		g := bench.DefaultGates()
		if o.gate != "default" {
			b, err := os.ReadFile(o.gate)
			if err != nil {
				return usageError(fmt.Errorf("--gate: %w", err))
			}
			if g, err = bench.LoadGates(b); err != nil {
				return usageError(fmt.Errorf("--gate %s: %w", o.gate, err))
			}
		}
		o.gates = &g
		o.opts.NoisyRetries = 1 // perf.md §5.2: a gate should not fail on one disturbed round
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the meshctl executable: %w", err)
	}
	o.opts.Binary = exe
	o.opts.Progress = o.streams.ErrOut
	o.opts.WorkDir = "placeholder" // set in run, validated here
	if err := o.opts.Defaults().Validate(); err != nil {
		return usageError(err)
	}
	return nil
}

// checkExecutable fails unless path is a regular file someone may execute.
func checkExecutable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", path)
	}
	return nil
}

// parseClosedLoop reads "64x10s" or "off".
func parseClosedLoop(s string) (bench.ClosedLoop, error) {
	if s == "off" || s == "" {
		return bench.ClosedLoop{}, nil
	}
	n, d, ok := strings.Cut(s, "x")
	conns, err := strconv.Atoi(n)
	if !ok || err != nil || conns <= 0 {
		return bench.ClosedLoop{}, fmt.Errorf("--closed-loop %q: want CONNECTIONSxDURATION such as 64x10s, or off", s)
	}
	dur, err := time.ParseDuration(d)
	if err != nil || dur <= 0 {
		return bench.ClosedLoop{}, fmt.Errorf("--closed-loop %q: want CONNECTIONSxDURATION such as 64x10s, or off", s)
	}
	return bench.ClosedLoop{Conns: conns, Duration: dur}, nil
}

func (o *benchOptions) run(cmd *cobra.Command) error {
	dir := o.workDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "meshctl-bench-")
		if err != nil {
			return fmt.Errorf("create work dir: %w", err)
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create work dir: %w", err)
	}
	o.opts.WorkDir = dir
	res, err := bench.Bench(cmd.Context(), o.opts)
	if err != nil {
		return err
	}
	rep := bench.Summarize(res)
	var md bytes.Buffer
	if err := rep.WriteMarkdown(&md); err != nil {
		return err
	}
	var outcome *bench.GateOutcome
	if o.gates != nil {
		g := o.gates.Evaluate(rep)
		outcome = &g
		if err := g.WriteMarkdown(&md); err != nil {
			return err
		}
	}
	if _, err := o.streams.Out.Write(md.Bytes()); err != nil {
		return err
	}
	if err := o.writeArtefacts(res, rep, outcome, md.Bytes()); err != nil {
		return err
	}
	if outcome != nil && outcome.Failed > 0 {
		fmt.Fprintf(o.streams.ErrOut, "bench: %d gate checks failed\n", outcome.Failed)
		return silentFailure()
	}
	return nil
}

func (o *benchOptions) writeArtefacts(res *bench.Result, rep bench.Report, outcome *bench.GateOutcome, md []byte) error {
	write := func(path string, fn func(io.Writer) error) error {
		if path == "" {
			return nil
		}
		var b bytes.Buffer
		if err := fn(&b); err != nil {
			return err
		}
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		return nil
	}
	if err := write(o.mdPath, func(w io.Writer) error { _, err := w.Write(md); return err }); err != nil {
		return err
	}
	if err := write(o.jsonPath, func(w io.Writer) error { return bench.WriteJSON(w, res, rep, outcome) }); err != nil {
		return err
	}
	return write(o.pngPath, rep.WritePNG)
}
