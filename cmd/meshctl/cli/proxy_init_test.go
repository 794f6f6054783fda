package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/meshctl/meshctl/pkg/proxyinit"
)

func TestProxyInitDryRun(t *testing.T) {
	var want bytes.Buffer
	if err := proxyinit.DryRun(proxyinit.DefaultConfig(), &want); err != nil {
		t.Fatal(err)
	}
	r := run(t, "proxy init --dry-run")
	if r.code != 0 {
		t.Fatalf("code %d, stderr %q", r.code, r.stderr)
	}
	if r.stdout != want.String() {
		t.Fatalf("dry run with no flags differs from the library's default plan:\n%s", r.stdout)
	}
	if r.stderr != "" {
		t.Fatalf("dry run wrote to stderr: %q", r.stderr)
	}
}

func TestProxyInitFlagsAndEnv(t *testing.T) {
	env := map[string]string{
		"MESHCTL_PROXY_INIT_SKIP_OUTBOUND_PORTS": "25,587",
		"MESHCTL_PROXY_INIT_PROXY_UID":           "3000",
	}
	getenv := func(k string) string { return env[k] }
	tests := []struct {
		name, args string
		opts       []Option
		want       []string // substrings of stdout
		notWant    []string
	}{
		{
			name: "flags",
			args: "proxy init --dry-run --inbound-port 5143 --outbound-port 5140 --proxy-uid 1337 --proxy-gid 1338" +
				" --skip-inbound-ports 22,9000-9100 --skip-outbound-ports 25 --skip-outbound-subnets 10.96.0.0/12,fd00::/8 --ipv6",
			want: []string{
				"redirect to :5143", "redirect to :5140", "meta skuid 1337 return", "meta skgid 1338 return",
				"tcp dport 22 return", "tcp dport 9000-9100 return", "tcp dport 25 return",
				"ip daddr 10.96.0.0/12 return", "ip6 daddr fd00::/8 return", "table ip6 meshctl {",
			},
		},
		{
			name: "environment of the injected init container",
			args: "proxy init --dry-run",
			opts: []Option{WithGetenv(getenv)},
			want: []string{"tcp dport 25 return", "tcp dport 587 return", "meta skuid 3000 return"},
		},
		{
			name:    "flags win over the environment",
			args:    "proxy init --dry-run --skip-outbound-ports 8080 --proxy-uid 2102",
			opts:    []Option{WithGetenv(getenv)},
			want:    []string{"tcp dport 8080 return", "meta skuid 2102 return"},
			notWant: []string{"tcp dport 25 return", "skuid 3000"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.args, tt.opts...)
			if r.code != 0 {
				t.Fatalf("code %d, stderr %q", r.code, r.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("output lacks %q:\n%s", w, r.stdout)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(r.stdout, w) {
					t.Errorf("output has %q:\n%s", w, r.stdout)
				}
			}
		})
	}
}

// TestProxyInitBadInput: every rejected value is named and exits 2, before
// anything touches the kernel.
func TestProxyInitBadInput(t *testing.T) {
	tests := []struct {
		args string
		want string
	}{
		{"--skip-inbound-ports 70000", `invalid port "70000"`},
		{"--skip-outbound-ports 10-5", `invalid port range "10-5"`},
		{"--skip-outbound-ports abc", `invalid port "abc"`},
		{"--skip-outbound-subnets 10.0.0.0/33", `invalid subnet "10.0.0.0/33"`},
		{"--skip-outbound-subnets nope", `invalid subnet "nope"`},
		{"--skip-outbound-subnets fd00::/8", "fd00::/8 is an IPv6 subnet but IPv6 is off"},
		{"--inbound-port 70000", "--inbound-port 70000"},
		{"--outbound-port 0", "--outbound-port 0"},
		{"--inbound-port 4191", "inbound port 4191 conflicts with the admin port"},
		{"--inbound-port 4140", "inbound port 4140 conflicts with the outbound port"},
		{"--skip-outbound-ports 4100-4200", "4100-4200 includes the outbound port 4140"},
		{"--proxy-uid 0", "--proxy-uid 0"},
		{"--proxy-gid -5", "--proxy-gid -5"},
		{"--inbound-port abc", `invalid argument "abc"`},
		{"extra-arg", "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			for _, dry := range []string{"", " --dry-run"} {
				r := run(t, "proxy init "+tt.args+dry)
				if r.code != ExitUsage {
					t.Fatalf("code %d, want %d (stderr %q)", r.code, ExitUsage, r.stderr)
				}
				if !strings.Contains(r.stderr, tt.want) {
					t.Fatalf("stderr %q does not name %q", r.stderr, tt.want)
				}
				if r.stdout != "" {
					t.Fatalf("stdout %q, want nothing", r.stdout)
				}
			}
		})
	}
	env := func(k string) string {
		if k == "MESHCTL_PROXY_INIT_SKIP_INBOUND_PORTS" {
			return "1-2-3"
		}
		return ""
	}
	r := run(t, "proxy init --dry-run", WithGetenv(env))
	if r.code != ExitUsage || !strings.Contains(r.stderr, "1-2-3") {
		t.Fatalf("bad environment value: code %d, stderr %q", r.code, r.stderr)
	}
}
