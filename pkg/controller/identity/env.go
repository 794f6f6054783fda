package identity

import (
	"errors"
	"fmt"
	"time"
)

// Environment variables the control-plane chart sets on the identity
// controller (templates/control-plane/templates/identity.yaml).
const (
	EnvTrustDomain = "MESHCTL_IDENTITY_TRUST_DOMAIN"
	EnvLifetime    = "MESHCTL_IDENTITY_ISSUANCE_LIFETIME"
	EnvClockSkew   = "MESHCTL_IDENTITY_CLOCK_SKEW_ALLOWANCE"
)

// FromEnv overlays the MESHCTL_IDENTITY_* variables read with getenv onto
// c. Every malformed value is reported, naming the variable.
func FromEnv(c Config, getenv func(string) string) (Config, error) {
	var errs []error
	if v := getenv(EnvTrustDomain); v != "" {
		c.TrustDomain = v
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{EnvLifetime, &c.Lifetime}, {EnvClockSkew, &c.ClockSkew}} {
		v := getenv(d.name)
		if v == "" {
			continue
		}
		dur, err := time.ParseDuration(v)
		if err != nil || dur <= 0 {
			errs = append(errs, fmt.Errorf("%s=%q: want a positive duration like 24h", d.name, v))
			continue
		}
		*d.dst = dur
	}
	return c, errors.Join(errs...)
}
