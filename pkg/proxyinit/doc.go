// Package proxyinit programs the transparent redirect of a meshed pod, the
// work of `meshctl proxy init` in the meshctl-init container: inbound TCP to
// the proxy's inbound port (4143), outbound TCP to its outbound port (4140).
//
// # Backend: nftables over netlink, only
//
// The image is FROM scratch, with no shell and no iptables binary, so the
// rules are written from Go over netlink with github.com/google/nftables.
// meshctl supports the nf_tables backend only (Linux 3.13 or later, with
// nft_chain_nat and nft_redir): the legacy x_tables interface of
// iptables-legacy is a different kernel API that this library cannot drive,
// and every distribution that still ships iptables has defaulted to its
// nf_tables flavour for years. When nf_tables is unusable, Apply fails with
// an error wrapping ErrNFTablesUnavailable. Rules that legacy iptables or
// other nftables tables keep in the nat hooks are not touched; Apply reports
// them in Result.Warnings because they see the pod's traffic too.
//
// # Rules
//
// Apply owns the table "ip meshctl" (and "ip6 meshctl" with IPv6) and
// nothing else. It has a nat prerouting and a nat output chain at the dstnat
// priority (-100) and a regular chain inbound_redirect:
//
//   - inbound_redirect returns (does not redirect) connections to the
//     inbound port itself, the control port (4190), the admin port (4191)
//     and the skipped inbound ports, and redirects other TCP to the inbound
//     port;
//   - prerouting jumps to inbound_redirect for every TCP connection
//     arriving at the pod;
//   - output leaves the proxy's own connections alone (socket owner
//     ProxyUID, and ProxyGID when set), leaves traffic through loopback
//     alone, skips the configured outbound ports and subnets, and
//     redirects other TCP to the outbound port.
//
// Loopback follows Linkerd's proxy-init: app-to-app traffic inside the pod
// (through lo, to 127.0.0.0/8 or to the pod's own address) is not
// intercepted, with one exception. When the proxy itself connects to the
// pod's own, non-loopback address (a pod calling a service that resolves to
// itself), the connection jumps to inbound_redirect so that the pod's
// inbound proxy still serves it.
//
// # Idempotence
//
// Apply sends one netlink batch that, per family, creates the table if
// missing, deletes it and creates it afresh with its chains and rules. The
// kernel applies the batch atomically: after any number of runs exactly one
// copy of the rules exists, and a failed run leaves the previous one. With
// IPv6 off, an ip6 table left by an earlier run is removed in the same
// batch.
//
// DryRun renders the same plan as an `nft -f` script instead, without
// touching the kernel. OriginalDst in pkg/netutil recovers the original
// destination of a redirected connection.
package proxyinit
