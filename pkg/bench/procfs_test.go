package bench

import (
	"slices"
	"testing"
)

func TestParseProcStat(t *testing.T) {
	fs := procFS{root: "testdata/proc"}
	st, err := fs.stat(4242)
	if err != nil {
		t.Fatal(err)
	}
	if st != (procStat{PPID: 1, CPUTicks: 19}) {
		t.Errorf("master: %+v, want ppid 1, 12+7 ticks", st)
	}
	// A command name with spaces and parentheses must not shift the fields.
	st, err = fs.stat(4243)
	if err != nil {
		t.Fatal(err)
	}
	if st != (procStat{PPID: 4242, CPUTicks: 180}) {
		t.Errorf("worker: %+v, want ppid 4242, 150+30 ticks", st)
	}
	for _, bad := range []string{"", "12 (x", "12 (x) S 1 2", "12 (x) S one 1 1 0 -1 0 0 0 0 0 1 1 0 0"} {
		if _, err := parseProcStat([]byte(bad)); err == nil {
			t.Errorf("parseProcStat(%q) succeeded", bad)
		}
	}
}

func TestParseMemory(t *testing.T) {
	fs := procFS{root: "testdata/proc"}
	m, err := fs.mem(4242)
	if err != nil {
		t.Fatal(err)
	}
	if m != (procMem{RSS: 1536, HWM: 2048, PSS: 700, Anon: 512}) {
		t.Errorf("master memory %+v", m)
	}
	if _, err := parseStatusMem([]byte("Name:\tkthreadd\nPid:\t2\n")); err == nil {
		t.Error("status without VmRSS accepted (kernel threads have none)")
	}
	if _, err := parseSmapsRollupPss([]byte("Rss: 10 kB\n")); err == nil {
		t.Error("smaps_rollup without Pss accepted")
	}
}

func TestParseMachineStat(t *testing.T) {
	m, err := procFS{root: "testdata/proc"}.machine()
	if err != nil {
		t.Fatal(err)
	}
	// user nice system irq softirq steal; idle and iowait excluded; guest columns already in user.
	wantBusy := uint64(10132153 + 290696 + 3084719 + 0 + 25195 + 0)
	if m.Busy != wantBusy || m.Total != wantBusy+46828483+16683 {
		t.Errorf("machine %+v, want busy %d", m, wantBusy)
	}
	if _, err := parseMachineStat([]byte("intr 1 2\n")); err == nil {
		t.Error("a /proc/stat without the cpu line accepted")
	}
}

func TestProcessTree(t *testing.T) {
	got := procFS{root: "testdata/proc"}.tree(4242)
	if !slices.Equal(got, []int{4242, 4243}) {
		t.Errorf("tree of 4242 = %v", got)
	}
	if got := (procFS{root: "testdata/proc"}).tree(4243); !slices.Equal(got, []int{4243}) {
		t.Errorf("tree of 4243 = %v", got)
	}
}

func TestSamplerOnFixtures(t *testing.T) {
	s := newSampler(procFS{root: "testdata/proc"}, []int{4242}, 2)
	s.begin()
	u := s.end()
	if len(u.RSS) != 1 || u.RSS[0] != 1536+5120 || u.HWM[0] != 2048+6144 || u.PSS[0] != 700+3300 || u.Anon[0] != 512+2048 {
		t.Errorf("tree memory %+v, want master + worker", u)
	}
	if u.CPUMillis[0] != 0 {
		t.Errorf("CPU of unchanging fixtures %v, want 0", u.CPUMillis)
	}
}
