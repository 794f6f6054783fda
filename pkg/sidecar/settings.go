package sidecar

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/meshctl/meshctl/pkg/meshapi"
)

// Setting is one proxy setting a config.meshctl.io/<Name> annotation can
// override.
type Setting struct {
	// Name is the annotation key without meshapi.ConfigPrefix.
	Name string
	// Path is the dotted path of the value it overrides.
	Path string
	// parse checks an annotation value and returns the value to set.
	parse func(string) (any, error)
	// format renders a value the way the annotation spells it; nil means
	// formatValue.
	format func(any) string
}

// Annotation returns the full annotation key of s.
func (s Setting) Annotation() string { return meshapi.ConfigPrefix + s.Name }

// Format renders v, a value at s.Path, as s's annotation value.
func (s Setting) Format(v any) string {
	if s.format != nil {
		return s.format(v)
	}
	return formatValue(v)
}

// DefaultInboundPolicies are the values of default-inbound-policy.
func DefaultInboundPolicies() []string {
	return []string{"all-authenticated", "all-unauthenticated", "cluster-authenticated", "cluster-unauthenticated", "deny", "audit"}
}

// Settings lists the supported config.meshctl.io/* overrides, in the order
// annotation mode writes them.
func Settings() []Setting {
	return []Setting{
		{Name: "proxy-image", Path: "proxy.image", parse: parseString},
		{Name: "image-pull-policy", Path: "proxy.imagePullPolicy", parse: parseEnum("Always", "IfNotPresent", "Never")},
		{Name: "inbound-port", Path: "proxy.ports.inbound", parse: parsePort},
		{Name: "outbound-port", Path: "proxy.ports.outbound", parse: parsePort},
		{Name: "control-port", Path: "proxy.ports.control", parse: parsePort},
		{Name: "admin-port", Path: "proxy.ports.admin", parse: parsePort},
		{Name: "proxy-uid", Path: "proxy.uid", parse: parseUID},
		{Name: "proxy-log-level", Path: "proxy.logLevel", parse: parseString},
		{Name: "proxy-log-format", Path: "proxy.logFormat", parse: parseEnum("plain", "json")},
		{Name: "proxy-cpu-request", Path: "proxy.resources.cpu.request", parse: parseQuantity},
		{Name: "proxy-cpu-limit", Path: "proxy.resources.cpu.limit", parse: parseQuantity},
		{Name: "proxy-memory-request", Path: "proxy.resources.memory.request", parse: parseQuantity},
		{Name: "proxy-memory-limit", Path: "proxy.resources.memory.limit", parse: parseQuantity},
		{Name: "skip-inbound-ports", Path: "proxy.skipInboundPorts", parse: parsePortList},
		{Name: "skip-outbound-ports", Path: "proxy.skipOutboundPorts", parse: parsePortList},
		{Name: "opaque-ports", Path: "proxy.opaquePorts", parse: parsePortList},
		{Name: "default-inbound-policy", Path: "proxy.defaultInboundPolicy", parse: parseEnum(DefaultInboundPolicies()...)},
		{Name: "proxy-await", Path: "proxy.await", parse: parseEnabled, format: formatEnabled},
		{Name: "proxy-enable-native-sidecar", Path: "proxy.nativeSidecar", parse: parseBool},
		{Name: "proxy-wait-before-exit-seconds", Path: "proxy.waitBeforeExitSeconds", parse: parseSeconds},
		{Name: "proxy-enable-pprof", Path: "proxy.enablePprof", parse: parseBool},
	}
}

// SettingFor returns the setting of annotation key, if it is one.
func SettingFor(key string) (Setting, bool) {
	name, ok := strings.CutPrefix(key, meshapi.ConfigPrefix)
	if !ok {
		return Setting{}, false
	}
	for _, s := range Settings() {
		if s.Name == name {
			return s, true
		}
	}
	return Setting{}, false
}

// KV is one label or annotation, kept in order.
type KV struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// OverrideAnnotations returns the config.meshctl.io/* annotations that turn
// installed into desired: one per setting whose value differs, in Settings
// order. `meshctl inject` writes them in annotation mode.
func OverrideAnnotations(installed, desired map[string]any) []KV {
	var out []KV
	for _, s := range Settings() {
		iv, _ := GetValue(installed, s.Path)
		dv, ok := GetValue(desired, s.Path)
		if !ok {
			continue
		}
		if a, b := s.Format(iv), s.Format(dv); a != b {
			out = append(out, KV{s.Annotation(), b})
		}
	}
	return out
}

// ApplyOverrides returns values with the config.meshctl.io/* annotations of
// the namespace and then of the pod applied (the pod wins). Unknown
// config.meshctl.io keys are returned as warnings, invalid values as errors
// naming the annotation. Without overrides it returns values itself.
func ApplyOverrides(values map[string]any, nsAnnotations, podAnnotations map[string]string) (map[string]any, []string, error) {
	if !hasConfig(nsAnnotations) && !hasConfig(podAnnotations) {
		return values, nil, nil
	}
	out := CloneValues(values)
	var warnings []string
	for _, src := range []map[string]string{nsAnnotations, podAnnotations} {
		keys := make([]string, 0, len(src))
		for k := range src {
			if strings.HasPrefix(k, meshapi.ConfigPrefix) {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			s, ok := SettingFor(k)
			if !ok {
				warnings = append(warnings, fmt.Sprintf("unknown annotation %s ignored", k))
				continue
			}
			v, err := s.parse(src[k])
			if err != nil {
				return nil, warnings, fmt.Errorf("invalid annotation %s: %q: %w", k, src[k], err)
			}
			if err := SetValue(out, s.Path, v); err != nil {
				return nil, warnings, err
			}
		}
	}
	return out, warnings, nil
}

func hasConfig(annotations map[string]string) bool {
	for k := range annotations {
		if strings.HasPrefix(k, meshapi.ConfigPrefix) {
			return true
		}
	}
	return false
}

func parseString(s string) (any, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("the value is empty")
	}
	if strings.ContainsAny(s, "\n\r\"") {
		return nil, fmt.Errorf("the value contains a newline or a quote")
	}
	return s, nil
}

func parseEnum(allowed ...string) func(string) (any, error) {
	return func(s string) (any, error) {
		if !slices.Contains(allowed, s) {
			return nil, fmt.Errorf("use one of %s", strings.Join(allowed, ", "))
		}
		return s, nil
	}
}

func parsePort(s string) (any, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return nil, fmt.Errorf("use a port from 1 to 65535")
	}
	return float64(n), nil
}

// MaxWaitBeforeExitSeconds bounds proxy-wait-before-exit-seconds: an hour
// is already longer than any sensible terminationGracePeriodSeconds.
const MaxWaitBeforeExitSeconds = 3600

func parseSeconds(s string) (any, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > MaxWaitBeforeExitSeconds {
		return nil, fmt.Errorf("use whole seconds from 0 to %d", MaxWaitBeforeExitSeconds)
	}
	return float64(n), nil
}

func parseUID(s string) (any, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > 1<<31-1 {
		return nil, fmt.Errorf("use a user id from 0 to 2147483647")
	}
	return float64(n), nil
}

func parseQuantity(s string) (any, error) {
	if _, err := resource.ParseQuantity(s); err != nil {
		return nil, fmt.Errorf("use a Kubernetes quantity such as 100m or 64Mi")
	}
	return s, nil
}

// ValidatePortList checks a comma-separated list of ports or ranges
// (25,8000-8100); the empty list is valid.
func ValidatePortList(s string) error {
	_, err := parsePortList(s)
	return err
}

func parsePortList(s string) (any, error) {
	if s == "" {
		return "", nil
	}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 1 || a > 65535 {
			return nil, fmt.Errorf("%q is not a port: use ports from 1 to 65535 or ranges such as 8000-8100", part)
		}
		if isRange {
			b, err := strconv.Atoi(hi)
			if err != nil || b < a || b > 65535 {
				return nil, fmt.Errorf("%q is not a port range: use low-high with low <= high <= 65535", part)
			}
		}
	}
	return strings.ReplaceAll(s, " ", ""), nil
}

func parseBool(s string) (any, error) {
	switch s {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return nil, fmt.Errorf("use true or false")
}

func parseEnabled(s string) (any, error) {
	switch s {
	case "enabled":
		return true, nil
	case "disabled":
		return false, nil
	}
	return nil, fmt.Errorf("use enabled or disabled")
}

func formatEnabled(v any) string {
	if b, ok := v.(bool); ok && !b {
		return "disabled"
	}
	return "enabled"
}
