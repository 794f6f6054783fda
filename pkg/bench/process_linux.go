package bench

import "syscall"

// childAttr kills a child when the benchmark dies, so that no proxy outlives it.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
