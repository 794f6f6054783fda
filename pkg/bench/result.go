package bench

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/meshctl/meshctl/pkg/version"
)

// Run is one configuration measured once, in one round.
type Run struct {
	Scenario Scenario `json:"scenario"`
	Round    int      `json:"round"`
	// Position is the run's place in its round (baselines first and last).
	Position int    `json:"position"`
	Config   string `json:"config"`
	// Startup is missing for the baseline.
	Startup *Startup `json:"startup,omitempty"`
	// Idle is the pair's memory after resting, before any load.
	Idle *Usage `json:"idle,omitempty"`
	// Fixed is the open-loop phase at the configured rate.
	Fixed      *LoadResult `json:"fixed,omitempty"`
	FixedUsage *Usage      `json:"fixedUsage,omitempty"`
	// Closed is the closed-loop throughput phase.
	Closed      *LoadResult `json:"closed,omitempty"`
	ClosedUsage *Usage      `json:"closedUsage,omitempty"`
	// Invalid says why the run's latency cannot be trusted (the generator
	// was late by more than 10 % of the round's baseline p50).
	Invalid string `json:"invalid,omitempty"`
	// Err is why the run did not complete.
	Err string `json:"error,omitempty"`
}

// Machine describes where the benchmark ran.
type Machine struct {
	CPUModel  string `json:"cpuModel"`
	CPUs      int    `json:"cpus"`
	Kernel    string `json:"kernel"`
	GoVersion string `json:"goVersion"`
	// Meshctl is the version of the binary whose proxy was measured.
	Meshctl string `json:"meshctl"`
	// Tools maps reference proxies found to their executable.
	Tools map[string]string `json:"tools,omitempty"`
	// ToolVersions maps reference proxies to the first line of their version output.
	ToolVersions map[string]string `json:"toolVersions,omitempty"`
}

// toolVersion runs path with args and returns the version it prints.
func toolVersion(path string, args ...string) string {
	out, err := exec.Command(path, args...).CombinedOutput()
	if err != nil && len(out) == 0 {
		return ""
	}
	return versionLine(out)
}

// versionLine is the first line of a version command's output, without
// what nginx, haproxy and meshctl put around the version.
func versionLine(out []byte) string {
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if i := strings.Index(line, " - "); i > 0 { // haproxy appends its web site
		line = line[:i]
	}
	line = strings.TrimPrefix(line, "nginx version: ")
	return strings.TrimSpace(strings.TrimPrefix(line, "Client version: ")) // meshctl's
}

// Hop says how proxy A talks to proxy B in the pairs of a run.
type Hop struct {
	// MTLS is true when the hop is mutual TLS 1.3 in every pair.
	MTLS bool `json:"mtls"`
	// ClientIdentity is the name A proves, ServerIdentity the one B proves
	// and A checks (mTLS only).
	ClientIdentity string `json:"clientIdentity,omitempty"`
	ServerIdentity string `json:"serverIdentity,omitempty"`
	// Configs describes the hop of each configuration.
	Configs map[string]string `json:"configs"`
}

// HopOf describes the hop of a run with or without mTLS.
func HopOf(mtls bool) Hop {
	if !mtls {
		return Hop{Configs: map[string]string{
			ConfigMeshctl: "plaintext: the proxies run without identity",
			ConfigNginx:   "plaintext",
			ConfigHAProxy: "plaintext",
			ConfigFloor:   "plaintext TCP splice",
		}}
	}
	return Hop{
		MTLS:           true,
		ClientIdentity: ClientIdentity(),
		ServerIdentity: ServerIdentity(),
		Configs: map[string]string{
			ConfigMeshctl: "certificates from the identity controller's Certify service on loopback, with tokens the bench wrote and reviews; B admits authenticated clients only",
			ConfigNginx:   "certificates from the same issuer, client certificate required, " + refCipherSuite + " as Go picks it",
			ConfigHAProxy: "certificates from the same issuer, client certificate required, " + refCipherSuite + " as Go picks it",
			ConfigFloor:   "a Go crypto/tls splice (no HTTP parsing), certificates from the same issuer, client certificate required",
		},
	}
}

// Result is everything a benchmark measured.
type Result struct {
	Options Options   `json:"options"`
	Machine Machine   `json:"machine"`
	Started time.Time `json:"started"`
	// Hop says whether and how the proxy pairs' middle hop was encrypted.
	Hop  Hop   `json:"hop"`
	Runs []Run `json:"runs"`
	// Skipped maps a configuration (or configuration/scenario) to why it did not run.
	Skipped map[string]string `json:"skipped,omitempty"`
}

func machineFacts() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), Meshctl: version.Version(), Tools: map[string]string{}, ToolVersions: map[string]string{}}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}
