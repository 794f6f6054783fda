package destination

import (
	"slices"
	"testing"
)

func TestParsePortRanges(t *testing.T) {
	cases := []struct {
		in   string
		want PortRanges
	}{
		{"", nil},
		{"6379", PortRanges{{6379, 6379}}},
		{"25, 587,8000-8100", PortRanges{{25, 25}, {587, 587}, {8000, 8100}}},
		// Malformed parts are skipped, the rest kept.
		{"x,0,70000,9-3,443", PortRanges{{443, 443}}},
	}
	for _, tc := range cases {
		if got := parsePortRanges(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("parsePortRanges(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
	r := parsePortRanges("25,8000-8100")
	for port, want := range map[uint16]bool{25: true, 26: false, 8000: true, 8050: true, 8100: true, 8101: false} {
		if r.Contains(port) != want {
			t.Errorf("Contains(%d) = %v, want %v", port, !want, want)
		}
	}
}

func TestFromEnv(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"unset keeps the default", nil, ""},
		{"set", map[string]string{EnvTrustDomain: "example.org"}, "example.org"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := FromEnv(Config{}, func(k string) string { return tc.env[k] })
			if err != nil || c.TrustDomain != tc.want {
				t.Errorf("got %q, %v; want %q", c.TrustDomain, err, tc.want)
			}
		})
	}
}
