// Package version carries the build information of the meshctl binary.
//
// The values are set at link time with
//
//	-ldflags "-X github.com/meshctl/meshctl/pkg/version.version=v1.2.3 -X github.com/meshctl/meshctl/pkg/version.commit=abc"
//
// They are the only package-level variables in the project that are written,
// and only by the linker.
package version

import "runtime"

var (
	version = "dev"
	commit  = "unknown"
)

// Info describes one build of meshctl.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// Version returns the version string, "dev" for builds without -ldflags.
func Version() string { return version }

// Get returns the full build information.
func Get() Info {
	return Info{
		Version:   version,
		Commit:    commit,
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
}
