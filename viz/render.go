package viz

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/meshctl/meshctl/pkg/output"
)

// noData is shown in a cell without data, as Linkerd does.
const noData = "-"

// TableOptions shape a table.
type TableOptions struct {
	// Kind is the selection's kind: it decides how rows are named and
	// whether a NAMESPACE column makes sense.
	Kind Kind
	// AllNamespaces adds the NAMESPACE column first (-A).
	AllNamespaces bool
	// Wide adds the -o wide columns.
	Wide bool
}

// WriteStatTable writes rows as Linkerd's stat table:
// [NAMESPACE] NAME MESHED SUCCESS RPS LATENCY_P50 LATENCY_P95 LATENCY_P99
// TCP_CONN, and READ_BYTES/SEC WRITE_BYTES/SEC with Wide.
func WriteStatTable(w io.Writer, rows []StatRow, o TableOptions) error {
	tw := newTable(w)
	header := []string{"NAME", "MESHED", "SUCCESS", "RPS", "LATENCY_P50", "LATENCY_P95", "LATENCY_P99", "TCP_CONN"}
	if o.Wide {
		header = append(header, "READ_BYTES/SEC", "WRITE_BYTES/SEC")
	}
	nsColumn := o.AllNamespaces && o.Kind != KindNamespace
	if nsColumn {
		header = append([]string{"NAMESPACE"}, header...)
	}
	writeRow(tw, header)
	for _, r := range rows {
		cells := []string{DisplayName(o.Kind, r.Resource), r.meshedCell()}
		cells = append(cells, statCells(r.Stats, o.Wide)...)
		if nsColumn {
			cells = append([]string{r.Resource.Namespace}, cells...)
		}
		writeRow(tw, cells)
	}
	return tw.Flush()
}

func statCells(s *Stats, wide bool) []string {
	n := 6
	if wide {
		n += 2
	}
	cells := make([]string, 0, n)
	if s == nil {
		for range n {
			cells = append(cells, noData)
		}
		return cells
	}
	if sr, ok := s.SuccessRate(); ok {
		cells = append(cells, fmt.Sprintf("%.2f%%", sr*100))
	} else {
		cells = append(cells, noData)
	}
	cells = append(cells, fmt.Sprintf("%.1frps", s.RPS),
		formatMs(s.LatencyP50), formatMs(s.LatencyP95), formatMs(s.LatencyP99),
		strconv.FormatFloat(s.TCPOpenConnections, 'f', -1, 64))
	if wide {
		cells = append(cells, fmt.Sprintf("%.1fB/s", s.ReadBytesRate), fmt.Sprintf("%.1fB/s", s.WriteBytesRate))
	}
	return cells
}

// formatMs shows a latency to 0.1 ms below 10 ms and to the ms above:
// buckets are 1 ms wide at the bottom, so finer digits would be noise.
func formatMs(v *float64) string {
	if v == nil {
		return noData
	}
	x := *v
	if x < 10 {
		x = math.Round(x*10) / 10
	} else {
		x = math.Round(x)
	}
	return strconv.FormatFloat(x, 'f', -1, 64) + "ms"
}

// StatJSON is one row of `viz stat -o json`; docs/viz.md documents the
// keys, which are stable. Numbers are null where the table shows "-".
type StatJSON struct {
	Namespace          string   `json:"namespace"`
	Kind               string   `json:"kind"`
	Name               string   `json:"name"`
	Meshed             string   `json:"meshed"`
	MeshedPods         int      `json:"meshed_pods"`
	TotalPods          int      `json:"total_pods"`
	Requests           *float64 `json:"requests"`
	Success            *float64 `json:"success"`
	RPS                *float64 `json:"rps"`
	LatencyP50         *float64 `json:"latency_ms_p50"`
	LatencyP95         *float64 `json:"latency_ms_p95"`
	LatencyP99         *float64 `json:"latency_ms_p99"`
	TCPOpenConnections *float64 `json:"tcp_open_connections"`
	TCPReadBytesRate   *float64 `json:"tcp_read_bytes_rate"`
	TCPWriteBytesRate  *float64 `json:"tcp_write_bytes_rate"`
}

// StatRowsJSON converts rows to their JSON form.
func StatRowsJSON(rows []StatRow) []StatJSON {
	out := make([]StatJSON, 0, len(rows))
	for _, r := range rows {
		j := StatJSON{
			Namespace: r.Resource.Namespace, Kind: string(r.Resource.Kind), Name: r.Resource.Name,
			Meshed:     r.meshedCell(),
			MeshedPods: r.MeshedPods, TotalPods: r.TotalPods,
		}
		if r.Resource.Kind == KindNamespace {
			j.Namespace = r.Resource.Name
		}
		if s := r.Stats; s != nil {
			j.Requests, j.RPS = ptr(s.Requests), ptr(s.RPS)
			if sr, ok := s.SuccessRate(); ok {
				j.Success = ptr(sr)
			}
			j.LatencyP50, j.LatencyP95, j.LatencyP99 = roundMs(s.LatencyP50), roundMs(s.LatencyP95), roundMs(s.LatencyP99)
			j.TCPOpenConnections = ptr(s.TCPOpenConnections)
			j.TCPReadBytesRate, j.TCPWriteBytesRate = ptr(s.ReadBytesRate), ptr(s.WriteBytesRate)
		}
		out = append(out, j)
	}
	return out
}

// WriteStatJSON writes rows as a JSON array of StatJSON.
func WriteStatJSON(w io.Writer, rows []StatRow) error {
	return output.WriteJSON(w, StatRowsJSON(rows))
}

// WriteEdgesTable writes edges as Linkerd's edges table:
// SRC DST SRC_NS DST_NS [CLIENT_ID SERVER_ID] SECURED. SECURED is √ for
// mTLS, else the reason the connection was not secured.
func WriteEdgesTable(w io.Writer, edges []Edge, o TableOptions) error {
	tw := newTable(w)
	header := []string{"SRC", "DST", "SRC_NS", "DST_NS"}
	if o.Wide {
		header = append(header, "CLIENT_ID", "SERVER_ID")
	}
	writeRow(tw, append(header, "SECURED"))
	for _, e := range edges {
		cells := []string{e.Src, e.Dst, orNoData(e.SrcNamespace), orNoData(e.DstNamespace)}
		if o.Wide {
			cells = append(cells, orNoData(e.ClientID), orNoData(e.ServerID))
		}
		secured := output.GlyphOK
		if !e.Secured {
			secured = orNoData(e.NoTLSReason)
		}
		writeRow(tw, append(cells, secured))
	}
	return tw.Flush()
}

// EdgeJSON is one edge of `viz edges -o json`, with Linkerd's keys plus
// secured.
type EdgeJSON struct {
	Src          string `json:"src"`
	SrcNamespace string `json:"src_namespace"`
	Dst          string `json:"dst"`
	DstNamespace string `json:"dst_namespace"`
	ClientID     string `json:"client_id"`
	ServerID     string `json:"server_id"`
	Secured      bool   `json:"secured"`
	NoTLSReason  string `json:"no_tls_reason"`
}

// EdgesJSON converts edges to their JSON form.
func EdgesJSON(edges []Edge) []EdgeJSON {
	out := make([]EdgeJSON, 0, len(edges))
	for _, e := range edges {
		out = append(out, EdgeJSON{
			Src: e.Src, SrcNamespace: e.SrcNamespace, Dst: e.Dst, DstNamespace: e.DstNamespace,
			ClientID: e.ClientID, ServerID: e.ServerID, Secured: e.Secured, NoTLSReason: e.NoTLSReason,
		})
	}
	return out
}

// WriteEdgesJSON writes edges as a JSON array of EdgeJSON.
func WriteEdgesJSON(w io.Writer, edges []Edge) error {
	return output.WriteJSON(w, EdgesJSON(edges))
}

func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
}

func writeRow(tw io.Writer, cells []string) {
	_, _ = io.WriteString(tw, strings.Join(cells, "\t")+"\n")
}

func orNoData(s string) string {
	if s == "" {
		return noData
	}
	return s
}

func ptr(v float64) *float64 { return &v }

// roundMs rounds a latency to the microsecond: interpolation leaves float
// noise (46.39999999999999) that no bucket layout can justify.
func roundMs(v *float64) *float64 {
	if v == nil {
		return nil
	}
	return ptr(math.Round(*v*1000) / 1000)
}

// meshedCell is MESHED: meshed pods / pods, or "-" for a Service, which
// has no pods of its own in this view.
func (r StatRow) meshedCell() string {
	if r.Resource.Kind == KindService {
		return "-"
	}
	return fmt.Sprintf("%d/%d", r.MeshedPods, r.TotalPods)
}
