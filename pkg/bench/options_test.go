package bench

import (
	"strings"
	"testing"
	"time"
)

func TestOptionsValidate(t *testing.T) {
	good := Options{Binary: "/bin/meshctl", WorkDir: "/tmp"}.Defaults()
	if err := good.Validate(); err != nil {
		t.Fatalf("defaults rejected: %v", err)
	}
	tests := []struct {
		name string
		mod  func(*Options)
		want string
	}{
		{"remote host", func(o *Options) { o.Host = "10.0.0.1" }, "not a loopback address"},
		{"hostname", func(o *Options) { o.Host = "localhost" }, "want an IP address"},
		{"unknown scenario", func(o *Options) { o.Scenarios = []Scenario{"h3"} }, `scenario "h3"`},
		{"unknown reference", func(o *Options) { o.References = []string{"envoy"} }, `reference "envoy"`},
		{"zero rate", func(o *Options) { o.Rate = -1 }, "rate -1"},
		{"more conns than rate", func(o *Options) { o.Rate, o.Conns = 10, 16 }, "exceed the rate"},
		{"more streams than rate", func(o *Options) { o.Rate, o.Conns, o.Streams = 100, 16, 10 }, "exceed the rate"},
		{"one round is fine, zero is not", func(o *Options) { o.Rounds = -1 }, "rounds -1"},
		{"closed loop without duration", func(o *Options) { o.ClosedLoop = ClosedLoop{Conns: 8} }, "closed loop"},
		{"no binary", func(o *Options) { o.Binary = "" }, "binary"},
		{"negative spin", func(o *Options) { o.Spin = -time.Microsecond }, "spin -1µs"},
		{"spin that keeps a CPU busy", func(o *Options) { o.Spin, o.Rate = 200*time.Microsecond, 5000 }, "lower the spin below 100µs"},
		{"build name with a slash", func(o *Options) { o.Builds = []Build{{Name: "a/b", Path: "/bin/true"}} }, `build name "a/b"`},
		{"build name upper case", func(o *Options) { o.Builds = []Build{{Name: "Old", Path: "/bin/true"}} }, `build name "Old"`},
		{"build twice", func(o *Options) { o.Builds = []Build{{Name: "old", Path: "/a"}, {Name: "old", Path: "/b"}} }, `"old" given twice`},
		{"build without path", func(o *Options) { o.Builds = []Build{{Name: "old"}} }, `build "old": the path`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := good
			tt.mod(&o)
			err := o.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	mtls := good
	mtls.MTLS, mtls.Scenarios = true, Scenarios()
	if err := mtls.Validate(); err != nil {
		t.Errorf("mtls refused: %v", err)
	}
	spin := good
	spin.Spin = 200 * time.Microsecond // the CLI's default, 20 % of a CPU at 1,000 rps
	if err := spin.Validate(); err != nil {
		t.Errorf("spin of 200µs at 1000 rps refused: %v", err)
	}
	builds := good
	builds.Builds = []Build{{Name: "before", Path: "/tmp/meshctl-before"}, {Name: "v0.9.1", Path: "/tmp/meshctl-0.9.1"}}
	if err := builds.Validate(); err != nil {
		t.Errorf("builds refused: %v", err)
	}
	ipv6 := good
	ipv6.Host = "::1"
	if err := ipv6.Validate(); err != nil {
		t.Errorf("::1 rejected: %v", err)
	}
}

func TestCheckLoopback(t *testing.T) {
	for _, ok := range []string{"127.0.0.1:80", "127.1.2.3:9", "[::1]:443"} {
		if err := CheckLoopback(ok); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"192.168.1.1:80", "[2001:db8::1]:80", "example.com:80", "127.0.0.1"} {
		if err := CheckLoopback(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestParseBuild(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Build
		err  string
	}{
		{"before=/tmp/meshctl-before", Build{Name: "before", Path: "/tmp/meshctl-before"}, ""},
		{"x=a=b", Build{Name: "x", Path: "a=b"}, ""},
		{"before", Build{}, "want NAME=PATH"},
		{"=/tmp/m", Build{}, "want NAME=PATH"},
		{"before=", Build{}, "want NAME=PATH"},
	} {
		got, err := ParseBuild(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseBuild(%q) = %v, %v; want an error containing %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseBuild(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
		if got.Config() != "meshctl@"+tc.want.Name {
			t.Errorf("config of %q: %s", tc.in, got.Config())
		}
	}
}
