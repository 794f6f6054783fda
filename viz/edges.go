package viz

import "sort"

// Edge is a connection between a source and a destination seen in the
// window, with its TLS status.
type Edge struct {
	Src, SrcNamespace string
	// Dst is the destination resource's name when its address belongs to a
	// known pod, else the address itself (DstNamespace is then empty).
	Dst, DstNamespace string
	// Secured is true when the connection used mTLS (tls="true").
	Secured bool
	// NoTLSReason says why it did not (the proxy's no_tls_reason label).
	NoTLSReason        string
	ClientID, ServerID string
}

// EdgesOptions say what Edges reports.
type EdgesOptions struct {
	// Selection picks the source resources; its Kind also names the
	// destinations.
	Selection Selection
}

// Edges lists the connections each selected resource's proxies opened
// (outbound) in the window, or held open at its end, grouped by source,
// destination and TLS status.
//
// A destination is named by resource of the selection's kind when its
// address belongs to a known pod; a pod that has no owner of that kind is
// named by its top-level workload (kind/name); an unknown address stays an
// address.
func Edges(snap *Snapshot, opts EdgesOptions) []Edge {
	ips := podsByIP(snap.Pods)
	set := map[Edge]struct{}{}
	for _, sc := range snap.Scrapes {
		if sc.Err != nil {
			continue
		}
		src, ok := opts.Selection.ResourceOf(sc.Pod)
		if !ok {
			continue
		}
		srcName, srcNS := DisplayName(opts.Selection.Kind, src), src.Namespace
		if src.Kind == KindNamespace {
			srcNS = src.Name
		}
		for _, s := range activeOutbound(sc) {
			e := Edge{
				Src: srcName, SrcNamespace: srcNS,
				Secured:  s.labels["tls"] == "true",
				ClientID: s.labels["client_id"], ServerID: s.labels["server_id"],
			}
			if !e.Secured {
				e.NoTLSReason = s.labels["no_tls_reason"]
			}
			e.Dst, e.DstNamespace = destination(opts.Selection.Kind, ips, s.labels[labelTargetAddr])
			set[e] = struct{}{}
		}
	}
	out := make([]Edge, 0, len(set))
	for e := range set {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return lessEdge(out[i], out[j]) })
	return out
}

// activeOutbound returns the outbound connection series (peer="dst") that
// opened a connection in the window or had one open at its end.
func activeOutbound(sc Scrape) []sample {
	var out []sample
	for _, s := range counterIncreases(sc.Start, sc.End, metricTCPOpen) {
		if s.value > 0 && outboundFilter(s.labels, true) {
			out = append(out, s)
		}
	}
	for _, s := range gaugeValues(sc.End, metricTCPOpenConn) {
		if s.value > 0 && outboundFilter(s.labels, true) {
			out = append(out, s)
		}
	}
	return out
}

func destination(k Kind, ips podIPs, addr string) (name, namespace string) {
	p, ok := ips.resolve(addr)
	if !ok {
		return addr, ""
	}
	if r, ok := resourceOfKind(k, p); ok {
		if k == KindNamespace {
			return r.Name, r.Name
		}
		return DisplayName(k, r), p.Namespace
	}
	w := p.Workload()
	return w.Kind.ShortName() + "/" + w.Name, p.Namespace
}

func lessEdge(a, b Edge) bool {
	for _, c := range [][2]string{
		{a.SrcNamespace, b.SrcNamespace}, {a.Src, b.Src}, {a.DstNamespace, b.DstNamespace}, {a.Dst, b.Dst},
		{a.ClientID, b.ClientID}, {a.ServerID, b.ServerID}, {a.NoTLSReason, b.NoTLSReason},
	} {
		if c[0] != c[1] {
			return c[0] < c[1]
		}
	}
	return !a.Secured && b.Secured
}
