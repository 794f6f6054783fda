//go:build !linux

package bench

import "errors"

func pinTasks(int, []int) error { return errors.New("pin: CPU affinity needs Linux") }

func currentCPUs() []int { return nil }
