package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of /proc CPU times: 100 on every Linux
// architecture Go supports.
const clockTicks = 100

// procStat is what /proc/PID/stat says about CPU use and parentage.
type procStat struct {
	PPID int
	// CPUTicks is utime + stime (fields 14 and 15), in clock ticks.
	CPUTicks uint64
}

// parseProcStat parses /proc/PID/stat. The command name (field 2) may hold
// spaces and parentheses, so fields are counted after its last ')'.
func parseProcStat(b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("stat: no command name")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): field n is f[n-3].
	if len(f) < 13 {
		return procStat{}, fmt.Errorf("stat: %d fields after the command name, want at least 13", len(f))
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return procStat{}, fmt.Errorf("stat: ppid: %w", err)
	}
	ut, err := strconv.ParseUint(f[11], 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("stat: utime: %w", err)
	}
	st, err := strconv.ParseUint(f[12], 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("stat: stime: %w", err)
	}
	return procStat{PPID: ppid, CPUTicks: ut + st}, nil
}

// procMem is the memory of one process, in KiB.
type procMem struct {
	RSS, HWM, PSS uint64
	// Anon is RssAnon: the resident memory that is the process's own
	// (heap, stacks), without the executable's and libraries' file pages
	// that every process running the same binary shares.
	Anon uint64
}

// parseStatusMem reads VmRSS, VmHWM and RssAnon from /proc/PID/status.
func parseStatusMem(b []byte) (procMem, error) {
	var m procMem
	var foundRSS, foundHWM bool
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		var err error
		switch k {
		case "VmRSS":
			m.RSS, err = parseKB(v)
			foundRSS = true
		case "VmHWM":
			m.HWM, err = parseKB(v)
			foundHWM = true
		case "RssAnon":
			m.Anon, err = parseKB(v)
		}
		if err != nil {
			return procMem{}, fmt.Errorf("status %s: %w", k, err)
		}
	}
	if !foundRSS || !foundHWM {
		return procMem{}, fmt.Errorf("status: no VmRSS or VmHWM (kernel thread or zombie)")
	}
	return m, nil
}

// parseSmapsRollupPss reads Pss from /proc/PID/smaps_rollup.
func parseSmapsRollupPss(b []byte) (uint64, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Pss:"); ok {
			kb, err := parseKB(v)
			if err != nil {
				return 0, fmt.Errorf("smaps_rollup Pss: %w", err)
			}
			return kb, nil
		}
	}
	return 0, fmt.Errorf("smaps_rollup: no Pss line")
}

func parseKB(v string) (uint64, error) {
	v = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB"))
	return strconv.ParseUint(v, 10, 64)
}

// machineCPU is the machine's CPU time from the "cpu" line of /proc/stat, in ticks.
type machineCPU struct {
	Busy, Total uint64
}

// parseMachineStat reads the aggregate cpu line of /proc/stat: busy is
// everything but idle and iowait.
func parseMachineStat(b []byte) (machineCPU, error) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 5 || f[0] != "cpu" {
		return machineCPU{}, fmt.Errorf("/proc/stat: first line is not the cpu total")
	}
	var m machineCPU
	for i, s := range f[1:] {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return machineCPU{}, fmt.Errorf("/proc/stat field %d: %w", i+1, err)
		}
		if i == 8 || i == 9 { // guest and guest_nice are already in user and nice
			continue
		}
		m.Total += n
		if i != 3 && i != 4 { // idle, iowait
			m.Busy += n
		}
	}
	return m, nil
}

// procFS reads processes from a /proc mount (a directory of fixtures in tests).
type procFS struct{ root string }

func (p procFS) read(pid int, name string) ([]byte, error) {
	return os.ReadFile(filepath.Join(p.root, strconv.Itoa(pid), name))
}

func (p procFS) stat(pid int) (procStat, error) {
	b, err := p.read(pid, "stat")
	if err != nil {
		return procStat{}, err
	}
	return parseProcStat(b)
}

func (p procFS) mem(pid int) (procMem, error) {
	b, err := p.read(pid, "status")
	if err != nil {
		return procMem{}, err
	}
	m, err := parseStatusMem(b)
	if err != nil {
		return procMem{}, err
	}
	if b, err := p.read(pid, "smaps_rollup"); err == nil {
		m.PSS, _ = parseSmapsRollupPss(b)
	}
	return m, nil
}

func (p procFS) machine() (machineCPU, error) {
	b, err := os.ReadFile(filepath.Join(p.root, "stat"))
	if err != nil {
		return machineCPU{}, err
	}
	return parseMachineStat(b)
}

// tree returns root and all its descendants, found by scanning every
// process's parent.
func (p procFS) tree(root int) []int {
	ents, err := os.ReadDir(p.root)
	if err != nil {
		return []int{root}
	}
	children := map[int][]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := p.stat(pid); err == nil {
			children[st.PPID] = append(children[st.PPID], pid)
		}
	}
	out := []int{root}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}
