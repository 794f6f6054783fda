package proxyinit

import (
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// ifNameSize is IFNAMSIZ: nft compares interface names as 16 NUL-padded bytes.
const ifNameSize = 16

func (f family) tableFamily() nftables.TableFamily {
	if f.name == "ip6" {
		return nftables.TableFamilyIPv6
	}
	return nftables.TableFamilyIPv4
}

// daddrField returns the offset and length of the destination address in
// the network header: 16/4 for IPv4 (RFC 791), 24/16 for IPv6 (RFC 8200).
func (f family) daddrField() (offset, length uint32) {
	if f.name == "ip6" {
		return 24, 16
	}
	return 16, 4
}

// exprs encodes r as nftables expressions, in the order nft itself would.
func (r rule) exprs(fam family) ([]expr.Any, error) {
	var out []expr.Any
	for _, m := range r.matches {
		e, err := m.exprs(fam)
		if err != nil {
			return nil, err
		}
		out = append(out, e...)
	}
	switch r.verdict.kind {
	case verdictReturn:
		out = append(out, &expr.Verdict{Kind: expr.VerdictReturn})
	case verdictJump:
		out = append(out, &expr.Verdict{Kind: expr.VerdictJump, Chain: r.verdict.chain})
	case verdictRedirect:
		out = append(out,
			&expr.Immediate{Register: 1, Data: binaryutil.BigEndian.PutUint16(r.verdict.port)},
			&expr.Redir{RegisterProtoMin: 1},
		)
	default:
		return nil, fmt.Errorf("unknown verdict kind %d", r.verdict.kind)
	}
	return out, nil
}

func (m match) exprs(fam family) ([]expr.Any, error) {
	tcp := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
	}
	switch m.kind {
	case matchTCP:
		return tcp, nil
	case matchDport:
		// The destination port is bytes 2-3 of the TCP header (RFC 9293).
		out := append(tcp, &expr.Payload{
			DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2,
		})
		if m.ports.First == m.ports.Last {
			return append(out, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(m.ports.First)}), nil
		}
		return append(out, &expr.Range{
			Op: expr.CmpOpEq, Register: 1,
			FromData: binaryutil.BigEndian.PutUint16(m.ports.First),
			ToData:   binaryutil.BigEndian.PutUint16(m.ports.Last),
		}), nil
	case matchDaddr:
		return daddrExprs(fam, m)
	case matchOifname:
		name := make([]byte, ifNameSize)
		copy(name, m.name)
		return []expr.Any{
			&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: name},
		}, nil
	case matchSkuid, matchSkgid:
		key := expr.MetaKeySKUID
		if m.kind == matchSkgid {
			key = expr.MetaKeySKGID
		}
		// Socket owner ids are compared in host byte order.
		return []expr.Any{
			&expr.Meta{Key: key, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(m.id)},
		}, nil
	}
	return nil, fmt.Errorf("unknown match kind %d", m.kind)
}

func daddrExprs(fam family, m match) ([]expr.Any, error) {
	offset, length := fam.daddrField()
	addr := m.prefix.Addr().AsSlice()
	if uint32(len(addr)) != length {
		return nil, fmt.Errorf("address %s does not belong to family %s", m.prefix, fam.name)
	}
	out := []expr.Any{&expr.Payload{
		DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: length,
	}}
	if bits := m.prefix.Bits(); bits < int(length)*8 {
		mask := make([]byte, length)
		for i := range bits {
			mask[i/8] |= 0x80 >> (i % 8)
		}
		out = append(out, &expr.Bitwise{
			SourceRegister: 1, DestRegister: 1, Len: length, Mask: mask, Xor: make([]byte, length),
		})
	}
	op := expr.CmpOpEq
	if m.negate {
		op = expr.CmpOpNeq
	}
	return append(out, &expr.Cmp{Op: op, Register: 1, Data: addr}), nil
}
