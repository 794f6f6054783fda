//go:build !linux

package memtrim

// ReleaseExecutablePages does nothing outside Linux.
func ReleaseExecutablePages() (Released, error) { return Released{}, nil }
