package proxyinit

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// DryRun validates cfg and writes the ruleset Apply would program to w, in
// nft syntax, without touching the kernel. The text is a valid `nft -f`
// script that performs the same atomic replacement Apply does.
func DryRun(cfg Config, w io.Writer) error {
	p, err := newPlan(cfg)
	if err != nil {
		return err
	}
	return p.writeText(w)
}

func (p *plan) writeText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "# nftables rules of meshctl proxy init, applied as one atomic batch:")
	fmt.Fprintln(bw, "# each table is created if missing, deleted and created afresh.")
	for _, t := range p.tables {
		fmt.Fprintf(bw, "table %s %s\n", t.family.name, TableName)
		fmt.Fprintf(bw, "delete table %s %s\n", t.family.name, TableName)
		fmt.Fprintf(bw, "table %s %s {\n", t.family.name, TableName)
		for i, c := range t.chains {
			if i > 0 {
				fmt.Fprintln(bw)
			}
			fmt.Fprintf(bw, "\tchain %s {\n", c.name)
			if c.hook != "" {
				fmt.Fprintf(bw, "\t\ttype nat hook %s priority %d; policy accept;\n", c.hook, natPriority)
			}
			for _, r := range c.rules {
				fmt.Fprintf(bw, "\t\t%s\n", r.text(t.family))
			}
			fmt.Fprintln(bw, "\t}")
		}
		fmt.Fprintln(bw, "}")
	}
	if p.removeIPv6 {
		fmt.Fprintln(bw, "# IPv6 is off: remove the ip6 table of an earlier run, if any.")
		fmt.Fprintf(bw, "table ip6 %s\n", TableName)
		fmt.Fprintf(bw, "delete table ip6 %s\n", TableName)
	}
	return bw.Flush()
}

func (r rule) text(fam family) string {
	parts := make([]string, 0, len(r.matches)+2)
	for _, m := range r.matches {
		parts = append(parts, m.text(fam))
	}
	parts = append(parts, r.verdict.text())
	if r.comment != "" {
		parts = append(parts, "comment "+strconv.Quote(r.comment))
	}
	return strings.Join(parts, " ")
}

func (m match) text(fam family) string {
	switch m.kind {
	case matchTCP:
		return "meta l4proto tcp"
	case matchDport:
		return "tcp dport " + m.ports.String()
	case matchDaddr:
		op := ""
		if m.negate {
			op = "!= "
		}
		addr := m.prefix.String()
		if m.prefix.IsSingleIP() {
			addr = m.prefix.Addr().String()
		}
		return fam.addr + " daddr " + op + addr
	case matchOifname:
		return "oifname " + strconv.Quote(m.name)
	case matchSkuid:
		return fmt.Sprintf("meta skuid %d", m.id)
	case matchSkgid:
		return fmt.Sprintf("meta skgid %d", m.id)
	}
	panic(fmt.Sprintf("proxyinit: unknown match kind %d", m.kind))
}

func (v verdict) text() string {
	switch v.kind {
	case verdictReturn:
		return "return"
	case verdictJump:
		return "jump " + v.chain
	case verdictRedirect:
		return fmt.Sprintf("redirect to :%d", v.port)
	}
	panic(fmt.Sprintf("proxyinit: unknown verdict kind %d", v.kind))
}
