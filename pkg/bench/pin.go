package bench

import "fmt"

// pinning splits the CPUs this process may use: the generator and the
// upstream on the first, the proxies on the rest (perf.md R3). Closed-loop
// throughput then reads as "requests per proxy core".
type pinning struct {
	all, self, proxies []int
}

// newPinning plans the split; it needs at least two CPUs.
func newPinning() (*pinning, error) {
	cpus := currentCPUs()
	if len(cpus) < 2 {
		return nil, fmt.Errorf("pin: need at least 2 CPUs, this process may use %d", len(cpus))
	}
	return &pinning{all: cpus, self: cpus[:1], proxies: cpus[1:]}, nil
}

// pinSelf moves the benchmark's own threads to the first CPU.
func (p *pinning) pinSelf() error { return pinTasks(0, p.self) }

// unpinSelf gives the benchmark's threads every CPU back.
func (p *pinning) unpinSelf() { _ = pinTasks(0, p.all) }

// pinProxies moves every thread of the given process trees to the other CPUs.
func (p *pinning) pinProxies(fs procFS, roots []int) error {
	for _, r := range roots {
		for _, pid := range fs.tree(r) {
			if err := pinTasks(pid, p.proxies); err != nil {
				return err
			}
		}
	}
	return nil
}
