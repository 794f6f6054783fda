package proxy

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/meshctl/meshctl/pkg/logging"
)

// EffectiveLogLevel reduces a log directive to the proxy's level. Directives
// follow Linkerd's env_logger syntax so that config.meshctl.io/proxy-log-level
// values written for Linkerd keep working: a comma-separated list of
// "level" (the default) and "target=level" entries, where the "meshctl"
// target, when present, wins. "warn,meshctl=info" is therefore info.
func EffectiveLogLevel(directive string) (string, error) {
	level, err := effectiveLevel(directive)
	if err != nil {
		return "", err
	}
	return levelName(level), nil
}

// effectiveLevel is EffectiveLogLevel as the level itself.
func effectiveLevel(directive string) (slog.Level, error) {
	var def, own *slog.Level
	for _, part := range strings.Split(directive, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		target, name, hasTarget := strings.Cut(part, "=")
		if !hasTarget {
			name, target = target, ""
		}
		name = strings.ToLower(strings.TrimSpace(name))
		switch name {
		case "trace":
			name = "debug"
		case "off":
			name = "error"
		}
		level, err := logging.ParseLevel(name)
		if err != nil || name == "" {
			return 0, fmt.Errorf("log level %q in %q: use debug, info, warn or error, optionally as target=level", name, directive)
		}
		switch strings.TrimSpace(target) {
		case "":
			def = &level
		case "meshctl", "meshctl_proxy", "meshctl::proxy":
			own = &level
		}
	}
	switch {
	case own != nil:
		return *own, nil
	case def != nil:
		return *def, nil
	}
	return 0, fmt.Errorf("log level %q names no level", directive)
}
