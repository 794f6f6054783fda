package cli

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/meshctl/meshctl/pkg/meshapi"
	"github.com/meshctl/meshctl/pkg/sidecar"
)

// defaultInboundPolicies are the values of --default-inbound-policy.
func defaultInboundPolicies() []string {
	return []string{"all-authenticated", "all-unauthenticated", "cluster-authenticated", "cluster-unauthenticated", "deny", "audit"}
}

// valueOverride sets one chart value (dotted path) from a flag.
type valueOverride struct {
	path  string
	value any
}

// proxyFlags are the proxy settings shared by install, upgrade and inject.
// Only flags the user set become overrides, so that values files and the
// stored values of an upgrade keep what the flags do not mention.
type proxyFlags struct {
	image                string
	imagePullPolicy      string
	inboundPort          int
	outboundPort         int
	controlPort          int
	adminPort            int
	uid                  int64
	logLevel             string
	cpuRequest           string
	cpuLimit             string
	memoryRequest        string
	memoryLimit          string
	skipInboundPorts     []string
	skipOutboundPorts    []string
	opaquePorts          []string
	defaultInboundPolicy string
	waitBeforeExit       int
}

func (p *proxyFlags) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&p.image, "proxy-image", "", "Full reference of the proxy image (default: the controllers' image)")
	fs.StringVar(&p.imagePullPolicy, "image-pull-policy", "IfNotPresent", "Image pull policy: Always, IfNotPresent or Never")
	fs.IntVar(&p.inboundPort, "inbound-port", meshapi.ProxyInboundPort, "Proxy port for inbound traffic")
	fs.IntVar(&p.outboundPort, "outbound-port", meshapi.ProxyOutboundPort, "Proxy port for outbound traffic (loopback only)")
	fs.IntVar(&p.controlPort, "control-port", meshapi.ProxyControlPort, "Proxy port for control and tap")
	fs.IntVar(&p.adminPort, "admin-port", meshapi.ProxyAdminPort, "Proxy admin port (/metrics, /ready, /live)")
	fs.Int64Var(&p.uid, "proxy-uid", meshapi.ProxyUID, "User id the proxy runs as")
	fs.StringVar(&p.logLevel, "proxy-log-level", "warn,meshctl=info", "Proxy log filter, a level or target=level directives")
	fs.StringVar(&p.cpuRequest, "proxy-cpu-request", "100m", "CPU request of the proxy")
	fs.StringVar(&p.cpuLimit, "proxy-cpu-limit", "", "CPU limit of the proxy (default none)")
	fs.StringVar(&p.memoryRequest, "proxy-memory-request", "20Mi", "Memory request of the proxy")
	fs.StringVar(&p.memoryLimit, "proxy-memory-limit", "250Mi", "Memory limit of the proxy")
	fs.StringSliceVar(&p.skipInboundPorts, "skip-inbound-ports", nil, "Inbound ports or ranges that bypass the proxy (e.g. 25,8000-8100)")
	fs.StringSliceVar(&p.skipOutboundPorts, "skip-outbound-ports", nil, "Outbound ports or ranges that bypass the proxy")
	fs.StringSliceVar(&p.opaquePorts, "opaque-ports", strings.Split(meshapi.DefaultOpaquePorts, ","), "Ports or ranges whose traffic is never protocol-detected")
	fs.StringVar(&p.defaultInboundPolicy, "default-inbound-policy", "all-unauthenticated", "Inbound policy where no Server applies: "+strings.Join(defaultInboundPolicies(), "|"))
	fs.IntVar(&p.waitBeforeExit, "wait-before-exit-seconds", 0, "Seconds the proxy keeps serving after SIGTERM before it drains (for a proxy run as a plain container; keep it below terminationGracePeriodSeconds)")
}

// validate checks what the flags alone can tell.
func (p *proxyFlags) validate(fs *pflag.FlagSet) error {
	if explicit(fs, "default-inbound-policy") && !slices.Contains(defaultInboundPolicies(), p.defaultInboundPolicy) {
		return fmt.Errorf("invalid --default-inbound-policy %q: use one of %s", p.defaultInboundPolicy, strings.Join(defaultInboundPolicies(), ", "))
	}
	if explicit(fs, "image-pull-policy") && !slices.Contains([]string{"Always", "IfNotPresent", "Never"}, p.imagePullPolicy) {
		return fmt.Errorf("invalid --image-pull-policy %q: use Always, IfNotPresent or Never", p.imagePullPolicy)
	}
	if explicit(fs, "wait-before-exit-seconds") && (p.waitBeforeExit < 0 || p.waitBeforeExit > sidecar.MaxWaitBeforeExitSeconds) {
		return fmt.Errorf("invalid --wait-before-exit-seconds %d: use whole seconds from 0 to %d", p.waitBeforeExit, sidecar.MaxWaitBeforeExitSeconds)
	}
	for _, f := range []struct {
		name string
		port int
	}{{"inbound-port", p.inboundPort}, {"outbound-port", p.outboundPort}, {"control-port", p.controlPort}, {"admin-port", p.adminPort}} {
		if explicit(fs, f.name) && (f.port < 1 || f.port > 65535) {
			return fmt.Errorf("invalid --%s %d: use a port from 1 to 65535", f.name, f.port)
		}
	}
	return nil
}

// explicit reports whether the user set a flag, on the command line or
// through the environment or config file (applyConfig sets the value of a
// flag without marking it changed).
func explicit(fs *pflag.FlagSet, name string) bool {
	f := fs.Lookup(name)
	return f != nil && (f.Changed || f.Value.String() != f.DefValue)
}

// overrides turns the flags the user set into chart values.
func (p *proxyFlags) overrides(fs *pflag.FlagSet) []valueOverride {
	var out []valueOverride
	set := func(flag, path string, v any) {
		if explicit(fs, flag) {
			out = append(out, valueOverride{path, v})
		}
	}
	set("proxy-image", "proxy.image", p.image)
	set("image-pull-policy", "proxy.imagePullPolicy", p.imagePullPolicy)
	set("inbound-port", "proxy.ports.inbound", p.inboundPort)
	set("outbound-port", "proxy.ports.outbound", p.outboundPort)
	set("control-port", "proxy.ports.control", p.controlPort)
	set("admin-port", "proxy.ports.admin", p.adminPort)
	set("proxy-uid", "proxy.uid", p.uid)
	set("proxy-log-level", "proxy.logLevel", p.logLevel)
	set("proxy-cpu-request", "proxy.resources.cpu.request", p.cpuRequest)
	set("proxy-cpu-limit", "proxy.resources.cpu.limit", p.cpuLimit)
	set("proxy-memory-request", "proxy.resources.memory.request", p.memoryRequest)
	set("proxy-memory-limit", "proxy.resources.memory.limit", p.memoryLimit)
	set("skip-inbound-ports", "proxy.skipInboundPorts", strings.Join(p.skipInboundPorts, ","))
	set("skip-outbound-ports", "proxy.skipOutboundPorts", strings.Join(p.skipOutboundPorts, ","))
	set("opaque-ports", "proxy.opaquePorts", strings.Join(p.opaquePorts, ","))
	set("default-inbound-policy", "proxy.defaultInboundPolicy", p.defaultInboundPolicy)
	set("wait-before-exit-seconds", "proxy.waitBeforeExitSeconds", p.waitBeforeExit)
	return out
}
