package proxy

import (
	"net/http"
	"slices"
	"strconv"
	"testing"
)

func TestStatusLabelIsTheDecimalCode(t *testing.T) {
	if got := statusLabel(0); got != "" {
		t.Errorf("statusLabel(0) = %q, want empty", got)
	}
	for code := 100; code < 1000; code++ {
		if got, want := statusLabel(code), strconv.Itoa(code); got != want {
			t.Errorf("statusLabel(%d) = %q, want %q", code, got, want)
		}
	}
}

func TestStatusLabelOfCommonCodesDoesNotAllocate(t *testing.T) {
	codes := []int{200, 204, 304, 404, 500, 503}
	if n := testing.AllocsPerRun(100, func() {
		for _, c := range codes {
			_ = statusLabel(c)
		}
	}); n != 0 {
		t.Errorf("statusLabel allocated %v times per run, want 0", n)
	}
}

// The proxies look their own fields up by map key: the keys must be what
// net/http's parsers and Header methods make of the wire names.
func TestOwnFieldKeysAreCanonical(t *testing.T) {
	for wire, key := range map[string]string{
		HeaderClientID:   keyClientID,
		HeaderOrigProto:  keyOrigProto,
		HeaderOrigExpect: keyOrigExpect,
	} {
		if got := http.CanonicalHeaderKey(wire); got != key {
			t.Errorf("canonical key of %q is %q, the proxy uses %q", wire, got, key)
		}
	}
}

func TestExchangeLabelsWith(t *testing.T) {
	info := &connInfo{direction: Outbound, targetStr: "10.0.0.1:80", tls: tlsLabels{tls: "true", serverID: "b"}, dst: []string{"ns"}}
	ex := &exchange{}
	ex.setLabels(info, "web:80")
	want := append(info.labelValues(), "web:80")
	if !slices.Equal(ex.labels, want) {
		t.Fatalf("labels %q, want %q", ex.labels, want)
	}
	var got []string
	allocs := testing.AllocsPerRun(10, func() {
		got = ex.labelsWith("200", "success", "", "")
	})
	if allocs != 0 {
		t.Errorf("labelsWith allocates %v times", allocs)
	}
	if !slices.Equal(got, append(slices.Clone(want), "200", "success", "", "")) {
		t.Errorf("labelsWith = %q", got)
	}
	_ = ex.labelsWith("503")
	if !slices.Equal(ex.labels, want) {
		t.Errorf("labels changed by labelsWith: %q", ex.labels)
	}
	if got := (&exchange{}).labelsWith("200"); !slices.Equal(got, []string{"200"}) {
		t.Errorf("labelsWith before any labels = %q, want just the extra value", got)
	}
}
