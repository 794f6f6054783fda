// Package meshapi holds the names every part of meshctl agrees on: the
// control-plane resource names, ports, labels, annotations and identity
// formats of docs/conventions (see ../shared/reference/conventions.md).
//
// Change a value here only together with everything that uses it.
package meshapi
