package proxy

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Environment variables the injected pod spec sets (templates/partials/_proxy.tpl).
const (
	EnvInboundAddr         = "MESHCTL_PROXY_INBOUND_ADDR"
	EnvOutboundAddr        = "MESHCTL_PROXY_OUTBOUND_ADDR"
	EnvAdminAddr           = "MESHCTL_PROXY_ADMIN_ADDR"
	EnvControlAddr         = "MESHCTL_PROXY_CONTROL_ADDR"
	EnvTapTokenSHA256      = "MESHCTL_PROXY_TAP_TOKEN_SHA256"
	EnvTapMaxStreams       = "MESHCTL_PROXY_TAP_MAX_STREAMS"
	EnvInboundTarget       = "MESHCTL_PROXY_INBOUND_TARGET"
	EnvOutboundTarget      = "MESHCTL_PROXY_OUTBOUND_TARGET"
	EnvDetectTimeout       = "MESHCTL_PROXY_DETECT_TIMEOUT"
	EnvOpaquePorts         = "MESHCTL_PROXY_OPAQUE_PORTS"
	EnvConnectTimeout      = "MESHCTL_PROXY_CONNECT_TIMEOUT"
	EnvIdleTimeout         = "MESHCTL_PROXY_IDLE_TIMEOUT"
	EnvShutdownGracePeriod = "MESHCTL_PROXY_SHUTDOWN_GRACE_PERIOD"
	EnvShutdownEndpoint    = "MESHCTL_PROXY_SHUTDOWN_ENDPOINT_ENABLED"
	EnvPprofEndpoint       = "MESHCTL_PROXY_PPROF_ENABLED"
	EnvWaitBeforeExit      = "MESHCTL_PROXY_WAIT_BEFORE_EXIT"
	EnvLogLevel            = "MESHCTL_PROXY_LOG_LEVEL"
	EnvLogFormat           = "MESHCTL_PROXY_LOG_FORMAT"
	EnvOutboundTargetID    = "MESHCTL_PROXY_OUTBOUND_TARGET_IDENTITY"
	EnvDefaultPolicy       = "MESHCTL_PROXY_DEFAULT_INBOUND_POLICY"
	EnvRequireIdentity     = "MESHCTL_PROXY_INBOUND_PORTS_REQUIRE_IDENTITY"
	EnvClusterNetworks     = "MESHCTL_PROXY_CLUSTER_NETWORKS"
	EnvMetricsRetainIdle   = "MESHCTL_PROXY_METRICS_RETAIN_IDLE"
)

// FromEnv overlays the MESHCTL_PROXY_* variables read with getenv onto c.
// Every malformed value is reported, naming the variable.
func FromEnv(c Config, getenv func(string) string) (Config, error) {
	var errs []error
	str := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	dur := func(name string, dst *time.Duration) {
		v := getenv(name)
		if v == "" {
			return
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: want a duration like 10s: %w", name, v, err))
			return
		}
		*dst = d
	}
	str(EnvInboundAddr, &c.InboundAddr)
	str(EnvOutboundAddr, &c.OutboundAddr)
	str(EnvAdminAddr, &c.AdminAddr)
	str(EnvControlAddr, &c.ControlAddr)
	str(EnvTapTokenSHA256, &c.TapTokenSHA256)
	if v := getenv(EnvTapMaxStreams); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: want a number of streams", EnvTapMaxStreams, v))
		}
		c.TapMaxStreams = n
	}
	str(EnvInboundTarget, &c.InboundTarget)
	str(EnvOutboundTarget, &c.OutboundTarget)
	str(EnvLogLevel, &c.LogLevel)
	str(EnvLogFormat, &c.LogFormat)
	str(EnvOutboundTargetID, &c.OutboundTargetIdentity)
	str(EnvDefaultPolicy, &c.DefaultInboundPolicy)
	if v := getenv(EnvRequireIdentity); v != "" {
		ports, err := ParsePortSet(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", EnvRequireIdentity, err))
		} else {
			c.RequireIdentityPorts = ports
		}
	}
	if v := getenv(EnvClusterNetworks); v != "" {
		nets, err := ParseNetworks(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", EnvClusterNetworks, err))
		} else {
			c.ClusterNetworks = nets
		}
	}
	dur(EnvDetectTimeout, &c.DetectTimeout)
	dur(EnvConnectTimeout, &c.ConnectTimeout)
	dur(EnvIdleTimeout, &c.IdleTimeout)
	dur(EnvShutdownGracePeriod, &c.ShutdownGracePeriod)
	dur(EnvWaitBeforeExit, &c.WaitBeforeExit)
	dur(EnvMetricsRetainIdle, &c.MetricsRetainIdle)
	if v := getenv(EnvOpaquePorts); v != "" {
		ports, err := ParsePortSet(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", EnvOpaquePorts, err))
		} else {
			c.OpaquePorts = ports
		}
	}
	boolean := func(name string, dst *bool) {
		if v := getenv(name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: want true or false", name, v))
			}
			*dst = b
		}
	}
	boolean(EnvShutdownEndpoint, &c.ShutdownEndpoint)
	boolean(EnvPprofEndpoint, &c.PprofEndpoint)
	return c, errors.Join(errs...)
}
