package memtrim

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// ReleaseExecutablePages drops this process's mappings of the clean pages
// of its own executable (read-only and executable segments) from its
// resident set. The next access to any of them maps the page back from the
// page cache. Call it once the process has finished starting.
func ReleaseExecutablePages() (Released, error) {
	var st syscall.Stat_t
	if err := syscall.Stat("/proc/self/exe", &st); err != nil {
		return Released{}, fmt.Errorf("stat the executable: %w", err)
	}
	maps, err := os.Open("/proc/self/maps")
	if err != nil {
		return Released{}, fmt.Errorf("read the memory map: %w", err)
	}
	defer func() { _ = maps.Close() }()
	ranges, err := cleanRanges(maps, unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino)
	if err != nil {
		return Released{}, fmt.Errorf("read the memory map: %w", err)
	}
	var r Released
	for _, m := range ranges {
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, m.start, m.end-m.start, syscall.MADV_DONTNEED); errno != 0 {
			return r, fmt.Errorf("release %#x-%#x: %w", m.start, m.end, errno)
		}
		r.Mappings++
		r.Bytes += uint64(m.end - m.start)
	}
	return r, nil
}

// addrRange is one mapping, [start, end).
type addrRange struct{ start, end uintptr }

// cleanRanges returns the private mappings of the file (major:minor, inode)
// that can never have been written: read-only or read-execute.
func cleanRanges(maps io.Reader, major, minor uint32, ino uint64) ([]addrRange, error) {
	dev := fmt.Sprintf("%02x:%02x", major, minor)
	inode := strconv.FormatUint(ino, 10)
	var out []addrRange
	sc := bufio.NewScanner(maps)
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	for sc.Scan() {
		// start-end perms offset dev inode [path]
		f := bytes.Fields(sc.Bytes())
		if len(f) < 5 || string(f[3]) != dev || string(f[4]) != inode {
			continue
		}
		if perms := string(f[1]); perms != "r--p" && perms != "r-xp" {
			continue
		}
		startS, endS, ok := bytes.Cut(f[0], []byte("-"))
		if !ok {
			return nil, fmt.Errorf("malformed range %q", f[0])
		}
		start, err := strconv.ParseUint(string(startS), 16, 64)
		if err != nil {
			return nil, fmt.Errorf("malformed range %q: %w", f[0], err)
		}
		end, err := strconv.ParseUint(string(endS), 16, 64)
		if err != nil || end <= start {
			return nil, fmt.Errorf("malformed range %q", f[0])
		}
		out = append(out, addrRange{uintptr(start), uintptr(end)})
	}
	return out, sc.Err()
}
