package viz

import (
	"fmt"
	"io"

	"github.com/meshctl/meshctl/pkg/output"
)

// WriteRoutesTable writes rows as Linkerd's routes table:
// [NAMESPACE] ROUTE SERVICE SUCCESS RPS LATENCY_P50 LATENCY_P95
// LATENCY_P99. With Wide, SUCCESS and RPS become EFFECTIVE_SUCCESS
// EFFECTIVE_RPS ACTUAL_SUCCESS ACTUAL_RPS (the attempts, retries
// included; "-" where the proxies count none). AllNamespaces adds the
// Service's NAMESPACE first; Kind is not used.
func WriteRoutesTable(w io.Writer, rows []RouteRow, o TableOptions) error {
	tw := newTable(w)
	header := []string{"ROUTE", "SERVICE", "SUCCESS", "RPS"}
	if o.Wide {
		header = []string{"ROUTE", "SERVICE", "EFFECTIVE_SUCCESS", "EFFECTIVE_RPS", "ACTUAL_SUCCESS", "ACTUAL_RPS"}
	}
	header = append(header, "LATENCY_P50", "LATENCY_P95", "LATENCY_P99")
	if o.AllNamespaces {
		header = append([]string{"NAMESPACE"}, header...)
	}
	writeRow(tw, header)
	for _, r := range rows {
		cells := []string{r.Name(), r.Service}
		cells = append(cells, countCells(&r.Effective)...)
		if o.Wide {
			cells = append(cells, countCells(r.Actual)...)
		}
		cells = append(cells, formatMs(r.LatencyP50), formatMs(r.LatencyP95), formatMs(r.LatencyP99))
		if o.AllNamespaces {
			cells = append([]string{orNoData(r.Namespace)}, cells...)
		}
		writeRow(tw, cells)
	}
	return tw.Flush()
}

// countCells are the SUCCESS and RPS cells of c, "-" when c is nil.
func countCells(c *RouteCounts) []string {
	if c == nil {
		return []string{noData, noData}
	}
	success := noData
	if sr, ok := c.SuccessRate(); ok {
		success = fmt.Sprintf("%.2f%%", sr*100)
	}
	return []string{success, fmt.Sprintf("%.1frps", c.RPS)}
}

// RouteJSON is one row of `viz routes -o json`; docs/viz.md documents the
// keys, which are stable. Numbers are null where the table shows "-".
type RouteJSON struct {
	// Route is the route's name, DefaultRoute for unmatched requests.
	Route string `json:"route"`
	// Default is true on the row of unmatched requests, so that it cannot
	// be mistaken for a route a ServiceProfile happens to name "[DEFAULT]".
	Default   bool   `json:"default"`
	Service   string `json:"service"`
	Namespace string `json:"namespace"`
	// Authority is the ServiceProfile's name, NAME.NAMESPACE.svc.DOMAIN.
	Authority      string   `json:"authority"`
	Requests       *float64 `json:"requests"`
	Success        *float64 `json:"success"`
	RPS            *float64 `json:"rps"`
	LatencyP50     *float64 `json:"latency_ms_p50"`
	LatencyP95     *float64 `json:"latency_ms_p95"`
	LatencyP99     *float64 `json:"latency_ms_p99"`
	ActualRequests *float64 `json:"actual_requests"`
	ActualSuccess  *float64 `json:"actual_success"`
	ActualRPS      *float64 `json:"actual_rps"`
}

// RoutesJSON converts rows to their JSON form.
func RoutesJSON(rows []RouteRow) []RouteJSON {
	out := make([]RouteJSON, 0, len(rows))
	for _, r := range rows {
		j := RouteJSON{
			Route: r.Name(), Default: r.Route == "", Service: r.Service, Namespace: r.Namespace, Authority: r.Authority,
			LatencyP50: roundMs(r.LatencyP50), LatencyP95: roundMs(r.LatencyP95), LatencyP99: roundMs(r.LatencyP99),
		}
		j.Requests, j.Success, j.RPS = countJSON(&r.Effective)
		j.ActualRequests, j.ActualSuccess, j.ActualRPS = countJSON(r.Actual)
		out = append(out, j)
	}
	return out
}

// countJSON is c's requests, success rate and RPS, nil where unknown.
func countJSON(c *RouteCounts) (requests, success, rps *float64) {
	if c == nil {
		return nil, nil, nil
	}
	if sr, ok := c.SuccessRate(); ok {
		success = ptr(sr)
	}
	return ptr(c.Requests), success, ptr(c.RPS)
}

// WriteRoutesJSON writes rows as a JSON array of RouteJSON.
func WriteRoutesJSON(w io.Writer, rows []RouteRow) error {
	return output.WriteJSON(w, RoutesJSON(rows))
}
