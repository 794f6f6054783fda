package proxyinit

import "errors"

// ErrNFTablesUnavailable reports a kernel (or sandbox) where nf_tables
// cannot be used: meshctl needs Linux 3.13 or later with nf_tables,
// nft_chain_nat and nft_redir, and a platform that is Linux at all.
var ErrNFTablesUnavailable = errors.New("nf_tables is unavailable")

// Result is what Apply programmed.
type Result struct {
	// Tables lists the tables written, as "ip meshctl" / "ip6 meshctl".
	Tables []string
	// Rules is the number of rules written across all tables.
	Rules int
	// Warnings are conditions worth an operator's attention that did not
	// stop Apply, such as nat rules of legacy iptables that also see the
	// pod's traffic.
	Warnings []string
}
