package destinationv1

import (
	"fmt"
	"regexp"
)

// CompilePathRegex compiles a RequestMatch's path_regex as the proxy
// applies it: anchored at both ends, so "/api/.*" does not match
// "/v2/api/x". The destination controller uses it to refuse what the
// proxy could not apply.
func CompilePathRegex(re string) (*regexp.Regexp, error) {
	c, err := regexp.Compile(`^(?:` + re + `)$`)
	if err != nil {
		return nil, fmt.Errorf("pathRegex %q: %w", re, err)
	}
	return c, nil
}
