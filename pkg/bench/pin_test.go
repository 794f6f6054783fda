package bench

import (
	"runtime"
	"slices"
	"testing"
)

func TestPinningSplitsCPUs(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("CPU affinity is Linux only")
	}
	p, err := newPinning()
	if err != nil {
		t.Skip(err) // a one-CPU machine
	}
	if err := p.pinSelf(); err != nil {
		t.Fatal(err)
	}
	defer p.unpinSelf()
	runtime.LockOSThread()
	got := currentCPUs()
	runtime.UnlockOSThread()
	if !slices.Equal(got, p.self) {
		t.Errorf("pinned to %v, want %v", got, p.self)
	}
	p.unpinSelf()
	runtime.LockOSThread()
	got = currentCPUs()
	runtime.UnlockOSThread()
	if !slices.Equal(got, p.all) {
		t.Errorf("unpinned to %v, want %v", got, p.all)
	}
}
