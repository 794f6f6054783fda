package bench

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Build is another meshctl executable whose proxy pair runs in every
// round beside this one's, as configuration "meshctl@" + Name: a change
// measured against the build before it in the same rounds, so that the
// machine's drift between two separate runs does not pass for the
// change's effect.
type Build struct {
	Name string `json:"name"`
	Path string `json:"path"`
}

// buildPrefix starts the configuration name of a Build.
const buildPrefix = ConfigMeshctl + "@"

// Config is the configuration name of b's pair.
func (b Build) Config() string { return buildPrefix + b.Name }

// isBuild reports whether cfg names a Build's pair.
func isBuild(cfg string) bool { return strings.HasPrefix(cfg, buildPrefix) }

// buildName is what a Build's name may be: it names a configuration, a
// work directory and an executable's copy.
var buildName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,31}$`)

// ParseBuild reads NAME=PATH.
func ParseBuild(s string) (Build, error) {
	name, path, ok := strings.Cut(s, "=")
	if !ok || name == "" || path == "" {
		return Build{}, fmt.Errorf("build %q: want NAME=PATH, such as before=/tmp/meshctl-before", s)
	}
	return Build{Name: name, Path: path}, nil
}

// validateBuilds reports every invalid or repeated build.
func validateBuilds(builds []Build) error {
	var errs []error
	seen := map[string]bool{}
	for _, b := range builds {
		switch {
		case !buildName.MatchString(b.Name):
			errs = append(errs, fmt.Errorf("build name %q: want 1 to 32 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit", b.Name))
		case seen[b.Name]:
			errs = append(errs, fmt.Errorf("build name %q given twice", b.Name))
		}
		seen[b.Name] = true
		if b.Path == "" {
			errs = append(errs, fmt.Errorf("build %q: the path of its meshctl executable is required", b.Name))
		}
	}
	return errors.Join(errs...)
}
