package viz

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// ParseMetrics parses a Prometheus text exposition (what the proxy's
// /metrics serves) with expfmt, the reference parser.
func ParseMetrics(b []byte) (Families, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("parse metrics: %w", err)
	}
	return Families(fams), nil
}

// fileHeader is the metadata a saved scrape may carry in comment lines,
// which the exposition format ignores:
//
//	# pod: <namespace>/<name> [<workload-kind>/<workload-name>] [<pod-ip>]
//	# scraped-at: <RFC 3339 time>
type fileHeader struct {
	pod       *Pod
	scrapedAt time.Time
}

// parseFileHeader reads the metadata comments of a saved scrape.
func parseFileHeader(b []byte) (fileHeader, error) {
	var h fileHeader
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "#") {
			continue
		}
		body := strings.TrimSpace(strings.TrimPrefix(line, "#"))
		switch {
		case strings.HasPrefix(body, "pod:"):
			p, err := parsePodComment(strings.TrimSpace(strings.TrimPrefix(body, "pod:")))
			if err != nil {
				return h, err
			}
			h.pod = &p
		case strings.HasPrefix(body, "scraped-at:"):
			v := strings.TrimSpace(strings.TrimPrefix(body, "scraped-at:"))
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return h, fmt.Errorf("# scraped-at: %q is not an RFC 3339 time: %w", v, err)
			}
			h.scrapedAt = t
		}
	}
	return h, sc.Err()
}

func parsePodComment(s string) (Pod, error) {
	fields := strings.Fields(s)
	if len(fields) == 0 || len(fields) > 3 {
		return Pod{}, fmt.Errorf("# pod: %q: write namespace/name, then optionally workload-kind/name and the pod IP", s)
	}
	ns, name, ok := strings.Cut(fields[0], "/")
	if !ok || ns == "" || name == "" {
		return Pod{}, fmt.Errorf("# pod: %q: the pod must be namespace/name", fields[0])
	}
	p := Pod{Namespace: ns, Name: name, Meshed: true}
	for _, f := range fields[1:] {
		kindName, wname, isWorkload := strings.Cut(f, "/")
		if !isWorkload {
			p.IP = f
			continue
		}
		k, err := ParseKind(kindName)
		if err != nil || k == KindAll || k == KindNamespace || k == KindService {
			return Pod{}, fmt.Errorf("# pod: workload %q: use a workload kind such as deployment/NAME", f)
		}
		if k != KindPod {
			p.Owners = []Workload{{Kind: k, Name: wname}}
		}
	}
	return p, nil
}
