package viz

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	tapapi "github.com/meshctl/meshctl/pkg/api/tap"
)

// Bounds of Top, so that a long session over many paths stays small.
const (
	// DefaultTopMaxRows bounds the distinct (source, destination, method,
	// path) rows; requests of further rows are counted in Top.Overflow.
	DefaultTopMaxRows = 10000
	// maxTopPending bounds the exchanges waiting for their rsp/end.
	maxTopPending = 100000
)

// TopKey is what top groups requests by.
type TopKey struct {
	Source      string `json:"source"`
	Destination string `json:"destination"`
	Method      string `json:"method"`
	Path        string `json:"path"`
}

// TopRow is one row of top.
type TopRow struct {
	TopKey
	// Count is the number of requests seen.
	Count int `json:"count"`
	// Best, Worst and Last are response latencies (request head to
	// response head); zero until a response was seen.
	Best  time.Duration `json:"best"`
	Worst time.Duration `json:"worst"`
	Last  time.Duration `json:"last"`
	// Ended and Succeeded count the finished exchanges and those that
	// succeeded (status below 500, no error, grpc-status 0 or none).
	Ended     int `json:"ended"`
	Succeeded int `json:"succeeded"`
}

// SuccessRate is Succeeded/Ended, and false before any exchange ended.
func (r TopRow) SuccessRate() (float64, bool) {
	if r.Ended == 0 {
		return 0, false
	}
	return float64(r.Succeeded) / float64(r.Ended), true
}

type topExchange struct {
	stream int
	id     uint64
}

// Top aggregates tap events into rows. It is not safe for concurrent use.
type Top struct {
	// MaxRows bounds the rows (default DefaultTopMaxRows).
	MaxRows int
	// Overflow counts the requests of rows past MaxRows.
	Overflow int

	rows    map[TopKey]*TopRow
	pending map[topExchange]*topPending
}

// topPending is an exchange whose end has not arrived yet.
type topPending struct {
	key       TopKey
	responded bool
}

// observe records one latency sample.
func (r *TopRow) observe(d time.Duration) {
	if r.Best == 0 || d < r.Best {
		r.Best = d
	}
	r.Worst = max(r.Worst, d)
	r.Last = d
}

// Add folds one event in.
func (t *Top) Add(ev TapEvent) {
	if t.rows == nil {
		t.rows, t.pending = map[TopKey]*TopRow{}, map[topExchange]*topPending{}
	}
	x := topExchange{ev.Stream, ev.ID}
	switch ev.Type {
	case tapapi.TypeRequest:
		k := TopKey{Source: peerName(ev.SourcePod, ev.Source), Destination: peerName(ev.DestinationPod, ev.Destination), Method: ev.Method, Path: ev.Path}
		if i := strings.IndexByte(k.Path, '?'); i >= 0 {
			k.Path = k.Path[:i]
		}
		row := t.rows[k]
		if row == nil {
			if len(t.rows) >= t.maxRows() {
				t.Overflow++
				return
			}
			row = &TopRow{TopKey: k}
			t.rows[k] = row
		}
		row.Count++
		if len(t.pending) < maxTopPending {
			t.pending[x] = &topPending{key: k}
		}
	case tapapi.TypeResponse:
		if p := t.pending[x]; p != nil {
			p.responded = true
			t.rows[p.key].observe(time.Duration(ev.LatencyMicros) * time.Microsecond)
		}
	case tapapi.TypeEnd:
		p := t.pending[x]
		if p == nil {
			return
		}
		delete(t.pending, x)
		row := t.rows[p.key]
		row.Ended++
		if ev.Status < 500 && ev.Error == "" && (ev.GRPCStatus == "" || ev.GRPCStatus == "0") {
			row.Succeeded++
		}
		if !p.responded { // no response head (an error): its duration stands in
			row.observe(time.Duration(ev.DurationMicros) * time.Microsecond)
		}
	}
}

func (t *Top) maxRows() int {
	if t.MaxRows > 0 {
		return t.MaxRows
	}
	return DefaultTopMaxRows
}

// Rows returns the rows, most requests first (then by key).
func (t *Top) Rows() []TopRow {
	out := make([]TopRow, 0, len(t.rows))
	for _, r := range t.rows {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		if a.Source != b.Source {
			return a.Source < b.Source
		}
		if a.Destination != b.Destination {
			return a.Destination < b.Destination
		}
		if a.Method != b.Method {
			return a.Method < b.Method
		}
		return a.Path < b.Path
	})
	return out
}

// peerName is the pod's name when known, else the address' IP.
func peerName(pod, addr string) string {
	if pod != "" {
		return pod
	}
	if host, _, ok := strings.Cut(addr, ":"); ok && strings.Count(addr, ":") == 1 {
		return host
	}
	if i := strings.LastIndex(addr, "]:"); strings.HasPrefix(addr, "[") && i > 0 {
		return addr[1:i]
	}
	return addr
}

// TopTableOptions shape WriteTopTable.
type TopTableOptions struct {
	// MaxRows cuts the table after this many rows (0: all), noting how
	// many were left out.
	MaxRows int
	// HideSources drops the Source column.
	HideSources bool
}

// WriteTopTable writes rows as top's table: Source, Destination, Method,
// Path, Count, Best, Worst, Last, Success Rate. Values are escaped.
func WriteTopTable(w io.Writer, rows []TopRow, opts TopTableOptions) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	header := []string{"Source", "Destination", "Method", "Path", "Count", "Best", "Worst", "Last", "Success Rate"}
	if opts.HideSources {
		header = header[1:]
	}
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	shown := rows
	if opts.MaxRows > 0 && len(shown) > opts.MaxRows {
		shown = shown[:opts.MaxRows]
	}
	for _, r := range shown {
		lat := func(d time.Duration) string {
			if d == 0 {
				return "-"
			}
			return FormatLatency(d)
		}
		sr := "-"
		if v, ok := r.SuccessRate(); ok {
			sr = fmt.Sprintf("%.2f%%", 100*v)
		}
		cells := []string{escapeCell(r.Source, 40), escapeCell(r.Destination, 40), escapeCell(r.Method, 10), escapeCell(r.Path, 60),
			fmt.Sprint(r.Count), lat(r.Best), lat(r.Worst), lat(r.Last), sr}
		if opts.HideSources {
			cells = cells[1:]
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if n := len(rows) - len(shown); n > 0 {
		_, err := fmt.Fprintf(w, "(%d more rows)\n", n)
		return err
	}
	return nil
}
