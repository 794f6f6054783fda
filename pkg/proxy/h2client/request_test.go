package h2client

import (
	"strings"
	"testing"
)

// TestCookieCrumbs: a Cookie value is cut at its "; " separators only
// where neither side is white space, so that joining the crumbs with "; "
// gives the value back byte for byte and no crumb has white space at its
// edge.
func TestCookieCrumbs(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"a=1", []string{"a=1"}},
		{"a=1; b=2; c=3", []string{"a=1", "b=2", "c=3"}},
		{"a=1;b=2", []string{"a=1;b=2"}},             // no "; ": one crumb
		{"b= ;0000", []string{"b= ;0000"}},           // found by FuzzPairTransparency
		{"a=1;  b=2", []string{"a=1;  b=2"}},         // the second space would lead a crumb
		{"a= ; b=2", []string{"a= ; b=2"}},           // the space before would end one
		{"a=1; ; b=2", []string{"a=1", "; b=2"}},     // an empty pair stays in the value
		{"a=1;", []string{"a=1;"}},                   // a trailing separator
		{"; a=1", []string{"; a=1"}},                 // a leading one
		{"a=1; b=2;", []string{"a=1", "b=2;"}},       //
		{"a=\t; b=2; c", []string{"a=\t; b=2", "c"}}, // a tab counts as space
	}
	for _, tc := range cases {
		var got []string
		cookieCrumbs(tc.in, func(c string) { got = append(got, c) })
		if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
			t.Errorf("%q: crumbs %q, want %q", tc.in, got, tc.want)
		}
		if joined := strings.Join(got, "; "); joined != tc.in {
			t.Errorf("%q: crumbs join to %q", tc.in, joined)
		}
		for _, c := range got {
			if c == "" || isSpaceOrTab(c[0]) || isSpaceOrTab(c[len(c)-1]) {
				t.Errorf("%q: crumb %q is empty or has white space at an edge", tc.in, c)
			}
		}
	}
}
