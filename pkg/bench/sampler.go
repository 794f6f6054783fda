package bench

import (
	"os"
	"sync"
	"time"
)

// Usage is the resources of the proxies over one phase. Memory is per
// proxy (a proxy is a process tree: nginx's master and worker count
// together), listed A then B, in KiB.
type Usage struct {
	// CPUMillis is the CPU time of each proxy during the phase.
	CPUMillis []float64 `json:"cpuMillis"`
	// RSS and PSS are the peaks seen while sampling at 10 Hz and at the phase's end.
	RSS []uint64 `json:"rssKiB"`
	PSS []uint64 `json:"pssKiB"`
	// HWM is VmHWM (peak RSS since start) at the phase's end.
	HWM []uint64 `json:"hwmKiB"`
	// Anon is the peak of RssAnon, the part of RSS that is the proxy's
	// own: what one more proxy on a node costs, the binary's pages being
	// shared page cache.
	Anon []uint64 `json:"anonKiB"`
	// SelfCPUMillis is the benchmark process's own CPU (client and upstream).
	SelfCPUMillis float64 `json:"selfCpuMillis"`
	// ForeignCPUMillis is the machine's busy time not spent by the
	// benchmark or the proxies: the background load during the phase.
	ForeignCPUMillis float64 `json:"foreignCpuMillis"`
	// CapacityMillis is the phase's wall time times the number of CPUs.
	CapacityMillis float64 `json:"capacityMillis"`
}

// TotalCPUMillis is the CPU of all proxies together.
func (u Usage) TotalCPUMillis() float64 {
	var t float64
	for _, c := range u.CPUMillis {
		t += c
	}
	return t
}

// sampler watches the proxies' process trees.
type sampler struct {
	fs    procFS
	roots []int
	self  int
	ncpu  int

	mu    sync.Mutex
	trees [][]int
	peak  []procMem
	start []uint64
	self0 uint64
	mach0 machineCPU
	t0    time.Time
	stop  chan struct{}
	done  chan struct{}
}

func newSampler(fs procFS, roots []int, ncpu int) *sampler {
	s := &sampler{fs: fs, roots: roots, self: os.Getpid(), ncpu: ncpu}
	s.refreshTrees()
	return s
}

// refreshTrees finds each root's descendants again (nginx forks its worker
// after the master starts).
func (s *sampler) refreshTrees() {
	trees := make([][]int, len(s.roots))
	for i, r := range s.roots {
		trees[i] = s.fs.tree(r)
	}
	s.mu.Lock()
	s.trees = trees
	s.mu.Unlock()
}

func (s *sampler) cpu() []uint64 {
	out := make([]uint64, len(s.trees))
	for i, t := range s.trees {
		for _, pid := range t {
			if st, err := s.fs.stat(pid); err == nil {
				out[i] += st.CPUTicks
			}
		}
	}
	return out
}

func (s *sampler) mem() []procMem {
	out := make([]procMem, len(s.trees))
	for i, t := range s.trees {
		for _, pid := range t {
			if m, err := s.fs.mem(pid); err == nil {
				out[i].RSS += m.RSS
				out[i].HWM += m.HWM
				out[i].PSS += m.PSS
				out[i].Anon += m.Anon
			}
		}
	}
	return out
}

func (s *sampler) selfTicks() uint64 {
	st, _ := s.fs.stat(s.self)
	return st.CPUTicks
}

// begin starts a phase: CPU counters are read now and memory every 100 ms.
func (s *sampler) begin() {
	s.refreshTrees()
	s.mu.Lock()
	s.start = s.cpu()
	s.peak = s.mem()
	s.self0 = s.selfTicks()
	s.mach0, _ = s.fs.machine()
	s.t0 = time.Now()
	s.stop = make(chan struct{})
	s.done = make(chan struct{})
	s.mu.Unlock()
	go s.loop()
}

func (s *sampler) loop() {
	defer close(s.done)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.mu.Lock()
			s.observe(s.mem())
			s.mu.Unlock()
		}
	}
}

func (s *sampler) observe(m []procMem) {
	for i := range m {
		s.peak[i].RSS = max(s.peak[i].RSS, m[i].RSS)
		s.peak[i].PSS = max(s.peak[i].PSS, m[i].PSS)
		s.peak[i].HWM = m[i].HWM
		s.peak[i].Anon = max(s.peak[i].Anon, m[i].Anon)
	}
}

// end finishes the phase and returns its usage.
func (s *sampler) end() Usage {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	cpu := s.cpu()
	s.observe(s.mem())
	self := s.selfTicks()
	mach, _ := s.fs.machine()
	wall := time.Since(s.t0)
	u := Usage{CapacityMillis: float64(wall.Milliseconds()) * float64(s.ncpu)}
	var proxies float64
	for i := range cpu {
		ms := ticksToMillis(delta(cpu[i], s.start[i]))
		u.CPUMillis = append(u.CPUMillis, ms)
		proxies += ms
		u.RSS = append(u.RSS, s.peak[i].RSS)
		u.PSS = append(u.PSS, s.peak[i].PSS)
		u.HWM = append(u.HWM, s.peak[i].HWM)
		u.Anon = append(u.Anon, s.peak[i].Anon)
	}
	u.SelfCPUMillis = ticksToMillis(delta(self, s.self0))
	if mach.Busy >= s.mach0.Busy {
		u.ForeignCPUMillis = max(0, ticksToMillis(mach.Busy-s.mach0.Busy)-u.SelfCPUMillis-proxies)
	}
	return u
}

func ticksToMillis(t uint64) float64 { return float64(t) * 1000 / clockTicks }

// delta is a-b for counters that may go backwards when a process of a tree exits.
func delta(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}
