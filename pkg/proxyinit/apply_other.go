//go:build !linux

package proxyinit

import (
	"fmt"
	"runtime"
)

// Apply programs the redirect; it needs Linux nf_tables and fails on other
// platforms. DryRun works everywhere.
func Apply(cfg Config) (*Result, error) {
	if _, err := newPlan(cfg); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("%w: proxy init runs on Linux only, not %s", ErrNFTablesUnavailable, runtime.GOOS)
}
