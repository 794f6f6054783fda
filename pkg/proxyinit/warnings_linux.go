package proxyinit

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"unsafe"

	"github.com/google/nftables"
	"golang.org/x/sys/unix"
)

const (
	// iptSOGetInfo is IPT_SO_GET_INFO (and IP6T_SO_GET_INFO) of the legacy
	// x_tables socket interface.
	iptSOGetInfo = 64
	// iptGetInfoSize is sizeof(struct ipt_getinfo): name[32], valid_hooks,
	// hook_entry[5], underflow[5], num_entries, size.
	iptGetInfoSize = 84
	// iptNumEntriesOffset is the offset of num_entries in struct ipt_getinfo.
	iptNumEntriesOffset = 76
	// legacyNATBuiltinEntries is the entry count of an empty legacy nat
	// table: the policies of its four chains plus the closing error entry.
	legacyNATBuiltinEntries = 5
)

// warnings inspects, best effort, what else rewrites destinations in this
// namespace: nat rules of legacy iptables (which nf_tables cannot see or
// replace) and nat base chains of other nftables tables, including those of
// iptables-nft. Failures to inspect are not errors.
func warnings(conn *nftables.Conn, p *plan) []string {
	var out []string
	for _, t := range p.tables {
		v6 := t.family.name == "ip6"
		if n, err := legacyNATRules(v6); err == nil && n > 0 {
			tool := "iptables"
			if v6 {
				tool = "ip6tables"
			}
			out = append(out, fmt.Sprintf("legacy %s nat table is not empty (%d entries beyond its built-in chains): "+
				"they run alongside meshctl's nftables rules and may redirect pod traffic first "+
				"(inspect them with %s-legacy-save -t nat)", tool, n, tool))
		}
		chains, err := conn.ListChainsOfTableFamily(t.family.tableFamily())
		if err != nil {
			continue
		}
		for _, c := range chains {
			if c.Table == nil || c.Table.Name == TableName || c.Type != nftables.ChainTypeNAT || c.Hooknum == nil {
				continue
			}
			if *c.Hooknum != *nftables.ChainHookPrerouting && *c.Hooknum != *nftables.ChainHookOutput {
				continue
			}
			out = append(out, fmt.Sprintf("nftables table %s %s has nat chain %q on the same hooks as meshctl's: "+
				"its rules also see pod traffic", t.family.name, c.Table.Name, c.Name))
		}
	}
	return out
}

// legacyNATRules returns how many entries the legacy (x_tables) nat table of
// the calling thread's namespace holds beyond the built-in ones, or 0 when
// that table does not exist.
func legacyNATRules(v6 bool) (int, error) {
	names, domain, level := "ip_tables_names", unix.AF_INET, unix.SOL_IP
	if v6 {
		names, domain, level = "ip6_tables_names", unix.AF_INET6, unix.SOL_IPV6
	}
	// thread-self: the namespace of this thread, which may differ from the
	// process's when the caller has entered another namespace.
	data, err := os.ReadFile("/proc/thread-self/net/" + names)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil // x_tables not loaded: no legacy tables at all
	}
	if err != nil {
		return 0, err
	}
	if !hasLine(string(data), "nat") {
		return 0, nil
	}
	fd, err := unix.Socket(domain, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
	if err != nil {
		return 0, fmt.Errorf("open raw socket: %w", err)
	}
	defer unix.Close(fd)
	var info [iptGetInfoSize]byte
	copy(info[:], "nat")
	size := uint32(len(info))
	_, _, errno := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), uintptr(level), iptSOGetInfo,
		uintptr(unsafe.Pointer(&info[0])), uintptr(unsafe.Pointer(&size)), 0)
	if errno != 0 {
		return 0, fmt.Errorf("read legacy nat table info: %w", errno)
	}
	n := int(binary.NativeEndian.Uint32(info[iptNumEntriesOffset:])) - legacyNATBuiltinEntries
	return max(n, 0), nil
}

func hasLine(s, want string) bool {
	for _, line := range strings.Split(s, "\n") {
		if strings.TrimSpace(line) == want {
			return true
		}
	}
	return false
}
