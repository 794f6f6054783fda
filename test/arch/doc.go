// Package arch holds the tests that enforce the layering rules of
// docs/architecture.md: which package may import which, and which code may
// print, exit or register itself at init time.
package arch
