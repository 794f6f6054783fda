package install

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/meshctl/meshctl/pkg/sidecar"
)

// DefaultInboundPolicies are the accepted values of proxy.defaultInboundPolicy.
func DefaultInboundPolicies() []string {
	return []string{"all-authenticated", "all-unauthenticated", "cluster-authenticated", "cluster-unauthenticated", "deny", "audit"}
}

// proxyLogLevel matches env_logger-style filters: a level, or
// target=level directives, comma separated (warn,meshctl=info).
var proxyLogLevel = regexp.MustCompile(`^((trace|debug|info|warn|error|off)|[A-Za-z0-9_:\-]+=(trace|debug|info|warn|error|off))(,((trace|debug|info|warn|error|off)|[A-Za-z0-9_:\-]+=(trace|debug|info|warn|error|off)))*$`)

// Validate checks every value and returns all problems, each naming its key.
func (v *Values) Validate() error {
	var errs []error
	add := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("invalid value %q: %s", key, fmt.Sprintf(format, a...)))
	}
	dns := func(key, s string) {
		if msgs := validation.IsDNS1123Subdomain(s); len(msgs) > 0 {
			add(key, "%q is not a DNS name: %s", s, strings.Join(msgs, "; "))
		}
	}
	oneOf := func(key, s string, allowed ...string) {
		if !slices.Contains(allowed, s) {
			add(key, "%q is not one of %s", s, strings.Join(allowed, ", "))
		}
	}
	port := func(key string, p int) {
		if p < 1 || p > 65535 {
			add(key, "port %d is not between 1 and 65535", p)
		}
	}
	ports := func(key, s string) {
		if err := validatePortList(s); err != nil {
			add(key, "%v", err)
		}
	}

	dns("clusterDomain", v.ClusterDomain)
	if v.Image.Name == "" {
		add("image.name", "must not be empty")
	}
	oneOf("image.pullPolicy", v.Image.PullPolicy, "Always", "IfNotPresent", "Never")
	for i, s := range v.ImagePullSecrets {
		dns(fmt.Sprintf("imagePullSecrets[%d]", i), s)
	}

	c := v.Controller
	if c.Replicas < 1 || c.Replicas > 50 {
		add("controller.replicas", "%d is not between 1 and 50", c.Replicas)
	}
	oneOf("controller.logLevel", c.LogLevel, "debug", "info", "warn", "error")
	oneOf("controller.logFormat", c.LogFormat, "plain", "json")
	if c.UID < 1 {
		add("controller.uid", "%d must be a positive, non-root user id", c.UID)
	}
	if c.GID < 1 {
		add("controller.gid", "%d must be a positive group id", c.GID)
	}
	errs = append(errs, validateResources("controller.resources", c.Resources)...)

	oneOf("webhook.failurePolicy", v.Webhook.FailurePolicy, "Ignore", "Fail")
	if t := v.Webhook.TimeoutSeconds; t < 1 || t > 30 {
		add("webhook.timeoutSeconds", "%d is not between 1 and 30", t)
	}

	dns("identity.trustDomain", v.Identity.TrustDomain)
	if d, err := time.ParseDuration(v.Identity.Issuer.IssuanceLifetime); err != nil || d <= 0 {
		add("identity.issuer.issuanceLifetime", "%q is not a positive duration such as 24h", v.Identity.Issuer.IssuanceLifetime)
	}
	if d, err := time.ParseDuration(v.Identity.Issuer.ClockSkewAllowance); err != nil || d < 0 {
		add("identity.issuer.clockSkewAllowance", "%q is not a duration such as 20s", v.Identity.Issuer.ClockSkewAllowance)
	}

	p := v.Proxy
	if p.ImagePullPolicy != "" {
		oneOf("proxy.imagePullPolicy", p.ImagePullPolicy, "Always", "IfNotPresent", "Never")
	}
	port("proxy.ports.inbound", p.Ports.Inbound)
	port("proxy.ports.outbound", p.Ports.Outbound)
	port("proxy.ports.control", p.Ports.Control)
	port("proxy.ports.admin", p.Ports.Admin)
	seen := map[int]string{}
	for _, kp := range []struct {
		key string
		p   int
	}{{"proxy.ports.inbound", p.Ports.Inbound}, {"proxy.ports.outbound", p.Ports.Outbound}, {"proxy.ports.control", p.Ports.Control}, {"proxy.ports.admin", p.Ports.Admin}} {
		if other, dup := seen[kp.p]; dup {
			add(kp.key, "port %d is already used by %s", kp.p, other)
		}
		seen[kp.p] = kp.key
	}
	if p.UID < 1 {
		add("proxy.uid", "%d must be a positive, non-root user id", p.UID)
	}
	if !proxyLogLevel.MatchString(p.LogLevel) {
		add("proxy.logLevel", "%q is not a level (trace, debug, info, warn, error, off) or a list of target=level directives such as warn,meshctl=info", p.LogLevel)
	}
	oneOf("proxy.logFormat", p.LogFormat, "plain", "json")
	errs = append(errs, validateResources("proxy.resources", p.Resources)...)
	ports("proxy.skipInboundPorts", p.SkipInboundPorts)
	ports("proxy.skipOutboundPorts", p.SkipOutboundPorts)
	ports("proxy.opaquePorts", p.OpaquePorts)
	oneOf("proxy.defaultInboundPolicy", p.DefaultInboundPolicy, DefaultInboundPolicies()...)
	if p.TapTokenSHA256 != "" && !sha256Hex.MatchString(p.TapTokenSHA256) {
		add("proxy.tapTokenSHA256", "is not a SHA-256 in hex (64 digits): use the output of printf %%s \"$TOKEN\" | sha256sum")
	}
	if p.WaitBeforeExitSeconds < 0 || p.WaitBeforeExitSeconds > sidecar.MaxWaitBeforeExitSeconds {
		add("proxy.waitBeforeExitSeconds", "%d: use whole seconds from 0 to %d", p.WaitBeforeExitSeconds, sidecar.MaxWaitBeforeExitSeconds)
	}
	ports("proxyInit.kubeAPIServerPorts", v.ProxyInit.KubeAPIServerPorts)
	return errors.Join(errs...)
}

func validateResources(key string, r Resources) []error {
	var errs []error
	for _, q := range []struct {
		name string
		q    Quantities
	}{{"cpu", r.CPU}, {"memory", r.Memory}} {
		var req, lim *resource.Quantity
		for _, side := range []struct {
			name string
			s    string
			dst  **resource.Quantity
		}{{"request", q.q.Request, &req}, {"limit", q.q.Limit, &lim}} {
			if side.s == "" {
				continue
			}
			parsed, err := resource.ParseQuantity(side.s)
			if err != nil || parsed.Sign() < 0 {
				errs = append(errs, fmt.Errorf("invalid value %q: %q is not a quantity such as 100m or 64Mi", key+"."+q.name+"."+side.name, side.s))
				continue
			}
			*side.dst = &parsed
		}
		if req != nil && lim != nil && req.Cmp(*lim) > 0 {
			errs = append(errs, fmt.Errorf("invalid value %q: the request %s is above the limit %s", key+"."+q.name+".request", req, lim))
		}
	}
	return errs
}

// validatePortList checks a comma-separated list of ports and ranges (a-b).
func validatePortList(s string) error {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		lo, hi, isRange := strings.Cut(item, "-")
		a, errA := parsePort(lo)
		b := a
		var errB error
		if isRange {
			b, errB = parsePort(hi)
		}
		if errA != nil || errB != nil {
			return fmt.Errorf("%q is not a port or a port range such as 8000-8100", item)
		}
		if a > b {
			return fmt.Errorf("range %q ends before it starts", item)
		}
	}
	return nil
}

func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("bad port %q", s)
	}
	return p, nil
}

// sha256Hex matches a SHA-256 in lowercase or uppercase hex.
var sha256Hex = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
