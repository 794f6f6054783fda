package proxyinit

import (
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/userdata"
)

// listed is what the kernel holds for meshctl: per table ("ip meshctl"),
// per chain, the comments of its rules in order.
type listed map[string]map[string][]string

// listKernel reads meshctl's tables back over netlink from inside ns and
// counts how many tables of each family carry meshctl's name.
func listKernel(t *testing.T, ns *os.File) (listed, map[string]int) {
	t.Helper()
	out := listed{}
	count := map[string]int{}
	err := in(ns, func() error {
		conn, err := nftables.New()
		if err != nil {
			return err
		}
		for _, fam := range []family{familyIPv4(), familyIPv6()} {
			tables, err := conn.ListTablesOfFamily(fam.tableFamily())
			if err != nil {
				return err
			}
			for _, tb := range tables {
				if tb.Name != TableName {
					continue
				}
				key := fam.name + " " + TableName
				count[key]++
				chains, err := conn.ListChainsOfTableFamily(fam.tableFamily())
				if err != nil {
					return err
				}
				out[key] = map[string][]string{}
				for _, c := range chains {
					if c.Table.Name != TableName {
						continue
					}
					rules, err := conn.GetRules(tb, c)
					if err != nil {
						return fmt.Errorf("list rules of %s: %w", c.Name, err)
					}
					comments := []string{}
					for _, r := range rules {
						s, _ := userdata.GetString(r.UserData, userdata.TypeComment)
						comments = append(comments, s)
					}
					out[key][c.Name] = comments
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("list nftables: %v", err)
	}
	return out, count
}

// planned is what cfg should leave in the kernel, in listKernel's shape.
func planned(t *testing.T, cfg Config) listed {
	t.Helper()
	p, err := newPlan(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out := listed{}
	for _, tb := range p.tables {
		key := tb.family.name + " " + TableName
		out[key] = map[string][]string{}
		for _, c := range tb.chains {
			comments := []string{}
			for _, r := range c.rules {
				comments = append(comments, r.comment)
			}
			out[key][c.name] = comments
		}
	}
	return out
}

// TestApplyIdempotent runs Apply repeatedly and with changed settings; the
// kernel must always hold exactly one copy of the latest plan.
func TestApplyIdempotent(t *testing.T) {
	topo := newTopology(t)
	cfg := testConfig(t)
	for i := range 3 {
		res, err := applyIn(topo.podNS, cfg)
		if err != nil {
			t.Fatalf("Apply #%d: %v", i+1, err)
		}
		if want := []string{"ip meshctl", "ip6 meshctl"}; !reflect.DeepEqual(res.Tables, want) {
			t.Fatalf("Apply #%d tables = %q, want %q", i+1, res.Tables, want)
		}
		got, count := listKernel(t, topo.podNS)
		if count["ip meshctl"] != 1 || count["ip6 meshctl"] != 1 {
			t.Fatalf("after Apply #%d: tables %v, want one of each", i+1, count)
		}
		if want := planned(t, cfg); !reflect.DeepEqual(got, want) {
			t.Fatalf("after Apply #%d the kernel holds\n%v\nwant\n%v", i+1, got, want)
		}
	}

	// A changed configuration replaces the rules, and turning IPv6 off
	// removes the ip6 table.
	cfg2 := Config{SkipOutboundPorts: mustPorts(t, "5432")}
	if _, err := applyIn(topo.podNS, cfg2); err != nil {
		t.Fatalf("Apply with new config: %v", err)
	}
	got, count := listKernel(t, topo.podNS)
	if count["ip meshctl"] != 1 || count["ip6 meshctl"] != 0 {
		t.Fatalf("after IPv6 off: tables %v, want only ip meshctl", count)
	}
	if want := planned(t, cfg2); !reflect.DeepEqual(got, want) {
		t.Fatalf("after reconfiguring the kernel holds\n%v\nwant\n%v", got, want)
	}
	// Once more with IPv6 off: nothing to remove, still one copy.
	if _, err := applyIn(topo.podNS, cfg2); err != nil {
		t.Fatalf("Apply again with IPv6 off: %v", err)
	}
	if _, count := listKernel(t, topo.podNS); count["ip meshctl"] != 1 || count["ip6 meshctl"] != 0 {
		t.Fatalf("after a second run with IPv6 off: tables %v", count)
	}
}

// TestApplyWarnsAboutOtherNATRules puts nat rules into the pod namespace
// with iptables-legacy and iptables-nft; Apply still succeeds and reports
// both, because they see the pod's traffic alongside meshctl's rules.
func TestApplyWarnsAboutOtherNATRules(t *testing.T) {
	topo := newTopology(t)
	tools := map[string]string{
		"iptables-legacy": "legacy iptables nat table is not empty (1 entries",
		"iptables-nft":    `nftables table ip nat has nat chain "OUTPUT"`,
	}
	for tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("skipping: %s is needed to create the competing rules", tool)
		}
		args := []string{"netns", "exec", topo.pod, tool, "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "--dport", "1", "-j", "RETURN"}
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Skipf("skipping: %s cannot add a nat rule here: %v: %s", tool, err, out)
		}
	}
	res, err := applyIn(topo.podNS, Config{})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	all := strings.Join(res.Warnings, "\n")
	t.Logf("warnings:\n%s", all)
	for tool, want := range tools {
		if !strings.Contains(all, want) {
			t.Errorf("warnings do not mention the %s rule (%q):\n%s", tool, want, all)
		}
	}
}
