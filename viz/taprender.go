package viz

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/grpc/codes"

	tapapi "github.com/meshctl/meshctl/pkg/api/tap"
)

// WriteTapLine writes ev as a Linkerd-style line:
//
//	req id=0:1 proxy=in  src=10.0.0.1:5230 dst=10.0.0.2:8080 tls=true :method=GET :authority=web:8080 :path=/
//	rsp id=0:1 proxy=in  src=10.0.0.1:5230 dst=10.0.0.2:8080 tls=true :status=200 latency=1234µs
//	end id=0:1 proxy=in  src=10.0.0.1:5230 dst=10.0.0.2:8080 tls=true duration=1466µs response-length=12B
//
// Every value that came from a request is escaped (EscapeValue), so that a
// tapped header can never move the cursor or forge a line.
func WriteTapLine(w io.Writer, ev TapEvent) error { return writeTapLine(w, ev, false) }

// WriteTapLineWide is WriteTapLine followed, as Linkerd's tap -o wide, by
// the workloads and namespaces at both ends where they are known:
//
//	... src_res=deployment/load src_ns=shop dst_res=deployment/web dst_ns=shop
func WriteTapLineWide(w io.Writer, ev TapEvent) error { return writeTapLine(w, ev, true) }

func writeTapLine(w io.Writer, ev TapEvent, wide bool) error {
	var b strings.Builder
	b.WriteString(ev.Type)
	fmt.Fprintf(&b, " id=%d:%d proxy=%s src=%s dst=%s tls=%s", ev.Stream, ev.ID, shortProxy(ev.Proxy),
		EscapeValue(ev.Source), EscapeValue(ev.Destination), EscapeValue(tlsValue(ev.Event)))
	switch ev.Type {
	case tapapi.TypeRequest:
		fmt.Fprintf(&b, " :method=%s :authority=%s :path=%s", EscapeValue(ev.Method), EscapeValue(ev.Authority), EscapeValue(ev.Path))
	case tapapi.TypeResponse:
		fmt.Fprintf(&b, " :status=%d latency=%dµs", ev.Status, ev.LatencyMicros)
	case tapapi.TypeEnd:
		if ev.GRPCStatus != "" {
			fmt.Fprintf(&b, " grpc-status=%s", EscapeValue(GRPCStatusName(ev.GRPCStatus)))
		} else if ev.Status != 0 {
			fmt.Fprintf(&b, " :status=%d", ev.Status)
		}
		if ev.Error != "" {
			fmt.Fprintf(&b, " error=%s", EscapeValue(ev.Error))
		}
		fmt.Fprintf(&b, " duration=%dµs response-length=%dB", ev.DurationMicros, ev.ResponseBytes)
	}
	if wide {
		for _, kv := range [][2]string{{"src_res", ev.SourceResource}, {"src_ns", ev.SourceNamespace}, {"dst_res", ev.DestinationResource}, {"dst_ns", ev.DestinationNamespace}} {
			if kv[1] != "" {
				fmt.Fprintf(&b, " %s=%s", kv[0], EscapeValue(kv[1]))
			}
		}
	}
	b.WriteByte('\n')
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteTapJSON writes ev as one line of JSON (the stream is NDJSON).
func WriteTapJSON(w io.Writer, ev TapEvent) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// shortProxy is Linkerd's "in " / "out" (padded so lines align).
func shortProxy(d string) string {
	switch d {
	case tapapi.DirectionInbound:
		return "in "
	case tapapi.DirectionOutbound:
		return "out"
	}
	return EscapeValue(d)
}

// tlsValue is "true" for mTLS, else why not.
func tlsValue(ev tapapi.Event) string {
	if ev.TLS == "true" || ev.NoTLSReason == "" {
		return ev.TLS
	}
	return ev.NoTLSReason
}

// GRPCStatusName names a numeric grpc-status (5 → NotFound); other
// values are returned as they are.
func GRPCStatusName(s string) string {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n > 16 {
		return s
	}
	return codes.Code(uint32(n)).String()
}

// EscapeValue makes a tapped value safe for a terminal and for a
// space-separated line: a value of printable ASCII without spaces, quotes
// or backslashes is returned as is, anything else is Go-quoted with
// non-ASCII and control characters escaped (\x1b, \n, \u00e9, ...).
func EscapeValue(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '"' || c == '\\' {
			return strconv.QuoteToASCII(s)
		}
	}
	return s
}

// escapeCell is EscapeValue for table cells, bounded to n runes.
func escapeCell(s string, n int) string {
	s = EscapeValue(s)
	if utf8.RuneCountInString(s) > n {
		s = string([]rune(s)[:n-1]) + "…"
	}
	return s
}

// FormatLatency renders a latency as top shows it: µs below 1 ms, ms with
// a decimal below 10 ms, whole ms below 10 s, else seconds.
func FormatLatency(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000)
	case d < 10*time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1fs", d.Seconds())
}
