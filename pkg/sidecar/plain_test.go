package sidecar

import (
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestPlainStringAgreesWithTheParser: the fast path never says plain where
// parsing v would not give back the string v.
func TestPlainStringAgreesWithTheParser(t *testing.T) {
	for _, v := range []string{
		"web", "web-42", "meshctl.io/proxy-deployment", "a_b.c/d-e", "Web1",
		"true", "True", "yes", "No", "ON", "off", "y", "N", "null", "Null", "NULL", "~",
		"1", "0x1f", "1e3", ".inf", "-", "-1", "2001-12-14", "12:30", "a: b", "a #b", "#a", "*a", "&a", "!a",
		"", " a", "a ", "é", "web:1", "a,b", "[a]", "{a}", "'a'", "\"a\"", "%a", "@a", "`a", "|", ">", "?a",
		"inf", "nan", "NaN", "Infinity", "yesno", "onion", "nullable", "n0", "y1",
	} {
		var x any
		slow := yaml.Unmarshal([]byte(v), &x) == nil
		if s, ok := x.(string); !ok || s != v {
			slow = false
		}
		if got := PlainString(v); got != slow {
			t.Errorf("PlainString(%q) = %v, parsing says %v", v, got, slow)
		}
	}
}
