package proxyinit

import (
	"errors"
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

// Apply validates cfg and programs its rules into the network namespace of
// the calling thread, replacing meshctl's own tables ("ip meshctl" and, with
// IPv6, "ip6 meshctl") in a single atomic netlink batch: each table is
// created if missing, deleted and created afresh, so that running Apply any
// number of times leaves exactly one copy of the rules and a failure leaves
// the previous rules in place. No other table is touched.
//
// Callers that move between namespaces must lock the OS thread.
func Apply(cfg Config) (*Result, error) {
	p, err := newPlan(cfg)
	if err != nil {
		return nil, err
	}
	conn, err := nftables.New()
	if err != nil {
		return nil, explain(fmt.Errorf("open nftables netlink socket: %w", err))
	}
	res := &Result{Warnings: warnings(conn, p)}
	if p.removeIPv6 {
		if _, err := conn.ListTableOfFamily(TableName, nftables.TableFamilyIPv6); err == nil {
			t := &nftables.Table{Name: TableName, Family: nftables.TableFamilyIPv6}
			conn.AddTable(t)
			conn.DelTable(t)
		}
	}
	for _, t := range p.tables {
		n, err := queueTable(conn, t)
		if err != nil {
			return nil, fmt.Errorf("encode table %s %s: %w", t.family.name, TableName, err)
		}
		res.Tables = append(res.Tables, t.family.name+" "+TableName)
		res.Rules += n
	}
	if err := conn.Flush(); err != nil {
		return nil, explain(fmt.Errorf("program nftables rules: %w", err))
	}
	return res, nil
}

// queueTable adds the replacement of t to conn's batch and returns the
// number of rules queued.
func queueTable(conn *nftables.Conn, t table) (int, error) {
	nt := &nftables.Table{Name: TableName, Family: t.family.tableFamily()}
	conn.AddTable(nt)
	conn.DelTable(nt)
	conn.AddTable(nt)
	chains := make(map[string]*nftables.Chain, len(t.chains))
	for _, c := range t.chains {
		nc := &nftables.Chain{Name: c.name, Table: nt}
		if c.hook != "" {
			accept := nftables.ChainPolicyAccept
			nc.Type = nftables.ChainTypeNAT
			nc.Priority = nftables.ChainPriorityRef(natPriority)
			nc.Policy = &accept
			nc.Hooknum = nftables.ChainHookPrerouting
			if c.hook == "output" {
				nc.Hooknum = nftables.ChainHookOutput
			}
		}
		chains[c.name] = conn.AddChain(nc)
	}
	n := 0
	for _, c := range t.chains {
		for _, r := range c.rules {
			exprs, err := r.exprs(t.family)
			if err != nil {
				return 0, err
			}
			conn.AddRule(&nftables.Rule{
				Table:    nt,
				Chain:    chains[c.name],
				Exprs:    exprs,
				UserData: userdata.AppendString(nil, userdata.TypeComment, r.comment),
			})
			n++
		}
	}
	return n, nil
}

// explain adds the likely cause to errors whose errno says more than the
// kernel's one-word message.
func explain(err error) error {
	switch {
	case errors.Is(err, unix.EPERM):
		return fmt.Errorf("%w (meshctl proxy init needs CAP_NET_ADMIN in the pod's network namespace)", err)
	case errors.Is(err, unix.EPROTONOSUPPORT), errors.Is(err, unix.EAFNOSUPPORT), errors.Is(err, unix.EOPNOTSUPP):
		return fmt.Errorf("%w: %w (meshctl needs Linux 3.13 or later with nf_tables; legacy iptables is not supported)", ErrNFTablesUnavailable, err)
	case errors.Is(err, unix.ENOENT):
		return fmt.Errorf("%w: %w (a kernel module is probably missing: nft_chain_nat, nft_redir)", ErrNFTablesUnavailable, err)
	}
	return err
}
