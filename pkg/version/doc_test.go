package version

import "testing"

func TestGetDefaults(t *testing.T) {
	info := Get()
	if info.Version != Version() {
		t.Fatalf("Get().Version = %q, Version() = %q", info.Version, Version())
	}
	if info.GoVersion == "" || info.Platform == "" {
		t.Fatalf("Get() = %+v, want go version and platform set", info)
	}
}
