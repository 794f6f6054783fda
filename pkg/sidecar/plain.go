package sidecar

import (
	"strings"

	"go.yaml.in/yaml/v3"
)

// PlainString reports whether v, written as a plain YAML scalar, reads
// back as the string v. Names and label values (a letter, then letters,
// digits, '.', '_', '/' or '-') are answered without parsing: none of them
// can be a number, a timestamp or an indicator, and the words that could be
// a boolean or null go the slow way. The slow way parses v, which cost a
// fresh parser for every label inject wrote.
func PlainString(v string) bool {
	if simpleWord(v) {
		return true
	}
	var x any
	if err := yaml.Unmarshal([]byte(v), &x); err != nil {
		return false
	}
	s, ok := x.(string)
	return ok && s == v
}

// simpleWord reports whether v starts with a letter, has only letters,
// digits, '.', '_', '/' and '-', and is no word YAML 1.1 or 1.2 reads as
// a boolean or null.
func simpleWord(v string) bool {
	if v == "" {
		return false
	}
	if c := v[0]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
		return false
	}
	for i := 1; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '/' || c == '-') {
			return false
		}
	}
	switch strings.ToLower(v) {
	case "y", "n", "yes", "no", "on", "off", "true", "false", "null":
		return false
	}
	return true
}
