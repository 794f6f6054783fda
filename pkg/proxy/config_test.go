package proxy

import (
	"strings"
	"testing"
	"time"
)

// TestValidateNamesEveryFieldInOrder: every bad field is reported, always in
// the same order, so the same bad input gives the same message.
func TestValidateNamesEveryFieldInOrder(t *testing.T) {
	bad := Config{
		InboundAddr: "nope", OutboundAddr: "127.0.0.1:4140", AdminAddr: ":x",
		OutboundTarget: "host:80",
		DetectTimeout:  -time.Second, ConnectTimeout: time.Second, IdleTimeout: time.Second,
		ReadHeaderTimeout: time.Second, ShutdownGracePeriod: time.Second, WaitBeforeExit: -time.Second,
		LogLevel: "loud", LogFormat: "xml", MaxHeaderBytes: 10,
	}
	first := bad.Validate()
	if first == nil {
		t.Fatal("a bad config passed")
	}
	want := []string{`inbound address "nope"`, `admin address ":x"`, `outbound target "host:80"`, "detect timeout -1s", "wait before exit -1s", `log level "loud"`, `log format "xml"`, "max header bytes 10"}
	msg, last := first.Error(), -1
	for _, w := range want {
		i := strings.Index(msg, w)
		if i < 0 || i < last {
			t.Fatalf("%q missing or out of order in:\n%s", w, msg)
		}
		last = i
	}
	for range 20 {
		if got := bad.Validate().Error(); got != msg {
			t.Fatalf("message changed between runs:\n%s\n---\n%s", msg, got)
		}
	}
	if err := (Config{}).Defaults().Validate(); err != nil {
		t.Fatalf("defaults are invalid: %v", err)
	}
}

// TestFromEnvDurations: the duration variables the chart may set are
// read, and a malformed value names its variable.
func TestFromEnvDurations(t *testing.T) {
	for name, get := range map[string]func(Config) time.Duration{
		EnvWaitBeforeExit:    func(c Config) time.Duration { return c.WaitBeforeExit },
		EnvMetricsRetainIdle: func(c Config) time.Duration { return c.MetricsRetainIdle },
	} {
		env := func(v string) func(string) string {
			return func(k string) string {
				if k == name {
					return v
				}
				return ""
			}
		}
		c, err := FromEnv(Config{}, env("15s"))
		if err != nil || get(c) != 15*time.Second {
			t.Errorf("%s=15s: got %v, %v", name, get(c), err)
		}
		if _, err := FromEnv(Config{}, env("15")); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=15, a duration without unit: %v", name, err)
		}
	}
}

// TestFromEnvBooleans: the switches read true and false in strconv's
// spellings, and a malformed value names its variable.
func TestFromEnvBooleans(t *testing.T) {
	for name, get := range map[string]func(Config) bool{
		EnvShutdownEndpoint: func(c Config) bool { return c.ShutdownEndpoint },
		EnvPprofEndpoint:    func(c Config) bool { return c.PprofEndpoint },
	} {
		env := func(v string) func(string) string {
			return func(k string) string {
				if k == name {
					return v
				}
				return ""
			}
		}
		for v, want := range map[string]bool{"true": true, "1": true, "false": false, "": false} {
			c, err := FromEnv(Config{}, env(v))
			if err != nil || get(c) != want {
				t.Errorf("%s=%q: got %v, %v; want %v", name, v, get(c), err, want)
			}
		}
		if _, err := FromEnv(Config{}, env("yes please")); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%q: %v, want an error naming the variable", name, "yes please", err)
		}
	}
}
