package proxy

import (
	"fmt"
	"strings"
)

// EffectiveLogLevel reduces a log directive to the proxy's level. Directives
// follow Linkerd's env_logger syntax so that config.meshctl.io/proxy-log-level
// values written for Linkerd keep working: a comma-separated list of
// "level" (the default) and "target=level" entries, where the "meshctl"
// target, when present, wins. "warn,meshctl=info" is therefore info.
func EffectiveLogLevel(directive string) (string, error) {
	def, own := "", ""
	for _, part := range strings.Split(directive, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		target, level, hasTarget := strings.Cut(part, "=")
		if !hasTarget {
			level, target = target, ""
		}
		level = strings.ToLower(strings.TrimSpace(level))
		switch level {
		case "trace":
			level = "debug"
		case "warning":
			level = "warn"
		case "off":
			level = "error"
		}
		switch level {
		case "debug", "info", "warn", "error":
		default:
			return "", fmt.Errorf("log level %q in %q: use debug, info, warn or error, optionally as target=level", level, directive)
		}
		switch strings.TrimSpace(target) {
		case "":
			def = level
		case "meshctl", "meshctl_proxy", "meshctl::proxy":
			own = level
		}
	}
	switch {
	case own != "":
		return own, nil
	case def != "":
		return def, nil
	}
	return "", fmt.Errorf("log level %q names no level", directive)
}
