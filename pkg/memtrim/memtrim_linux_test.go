package memtrim

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

func TestCleanRanges(t *testing.T) {
	maps := strings.Join([]string{
		"00400000-02213000 r-xp 00000000 fe:00 9994289                            /tmp/meshctl",
		"02213000-04640000 r--p 01e13000 fe:00 9994289                            /tmp/meshctl",
		"04640000-04bcf000 rw-p 04240000 fe:00 9994289                            /tmp/meshctl",
		"04bcf000-06c27000 rw-p 00000000 00:00 0 ",
		"7f1019c00000-7f1019f00000 r--p 00000000 fe:00 9994290                    /tmp/other",
		"7f1019f00000-7f1019f01000 r--p 00000000 fe:01 9994289                    /mnt/same-inode-other-device",
		"7ffd1000-7ffd2000 r-xp 00000000 00:00 0                                  [vdso]",
		"0a000000-0a001000 r--s 00000000 fe:00 9994289                            /tmp/meshctl",
		"",
		"garbage",
	}, "\n")
	got, err := cleanRanges(strings.NewReader(maps), 0xfe, 0, 9994289)
	if err != nil {
		t.Fatal(err)
	}
	want := []addrRange{{0x00400000, 0x02213000}, {0x02213000, 0x04640000}}
	if len(got) != len(want) {
		t.Fatalf("got %#v, want %#v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("range %d: got %#x-%#x, want %#x-%#x", i, got[i].start, got[i].end, want[i].start, want[i].end)
		}
	}
}

func TestCleanRangesMalformed(t *testing.T) {
	for _, line := range []string{
		"zz-02213000 r-xp 00000000 fe:00 1 /x",
		"00400000 r-xp 00000000 fe:00 1 /x",
		"02213000-00400000 r-xp 00000000 fe:00 1 /x",
		"00400000-00400000 r--p 00000000 fe:00 1 /x",
	} {
		if _, err := cleanRanges(strings.NewReader(line), 0xfe, 0, 1); err == nil {
			t.Errorf("%q: no error", line)
		}
	}
}

// TestReleaseExecutablePages releases the test binary's own pages and
// checks that its resident file pages shrank and that it runs on.
func TestReleaseExecutablePages(t *testing.T) {
	before := rssFileKiB(t)
	r, err := ReleaseExecutablePages()
	if err != nil {
		t.Fatal(err)
	}
	after := rssFileKiB(t)
	if r.Mappings < 2 || r.Bytes == 0 {
		t.Errorf("released %d mappings, %d bytes; want the text and read-only data", r.Mappings, r.Bytes)
	}
	if after >= before {
		t.Errorf("RssFile %d KiB before, %d KiB after: nothing was released", before, after)
	}
	t.Logf("RssFile %d KiB -> %d KiB (%d mappings, %d MiB mapped)", before, after, r.Mappings, r.Bytes>>20)
	// The code and data come back on use: run something that touches
	// much of the runtime and the standard library.
	if s := strconv.Quote(strings.Repeat("é", 3)); s != `"ééé"` {
		t.Errorf("after release: %s", s)
	}
}

func rssFileKiB(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "RssFile:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				t.Fatalf("RssFile %q: %v", v, err)
			}
			return n
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}
