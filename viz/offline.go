package viz

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// ScrapeFile is one saved scrape of a proxy's /metrics.
type ScrapeFile struct {
	// Name is the file's path; it names the pod when the file has no
	// "# pod:" comment.
	Name string
	// Data is the file's content.
	Data []byte
	// ModTime is the file's modification time, the scrape time of last
	// resort.
	ModTime time.Time
}

// Offline is a Source over saved scrapes, for use without a cluster.
//
// Files are grouped by pod: by their "# pod: ns/name [kind/name] [ip]"
// comment, or, for files without one, into a single pod named after the
// first such file. Within a pod the first file is the start of the window
// and the last file its end; files in between are ignored.
type Offline struct {
	Files []ScrapeFile
	// Window, when positive, is the time between a pod's first and last
	// scrape. Otherwise it is taken from the files' "# scraped-at:"
	// comments, else from their modification times.
	Window time.Duration
}

type offlineGroup struct {
	pod    Pod
	files  []ScrapeFile
	heads  []fileHeader
	parsed []Families
}

// Snapshot parses the files. Any file that is not a scrape (its comments
// or its metrics do not parse) makes Snapshot fail, naming the file and
// the line: the files are the user's input, not a pod that may answer
// later. A pod with a single file, or whose first and last scrapes are not
// a window apart, is returned as a failed scrape.
func (o *Offline) Snapshot(_ context.Context, q Query) (*Snapshot, error) {
	if len(o.Files) < 2 {
		return nil, fmt.Errorf("offline stats need two or more --metrics-file scrapes taken a window apart (%d given)", len(o.Files))
	}
	var groups []*offlineGroup
	byKey := map[string]*offlineGroup{}
	for _, f := range o.Files {
		h, err := parseFileHeader(f.Data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		fams, err := ParseMetrics(f.Data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w: is it a proxy's /metrics, saved by meshctl diagnostics proxy-metrics?", f.Name, err)
		}
		pod := Pod{Namespace: "default", Name: podNameFromFile(f.Name), Meshed: true}
		key := "\x00unnamed"
		if h.pod != nil {
			pod = *h.pod
			key = pod.Namespace + "/" + pod.Name
		}
		g, ok := byKey[key]
		if !ok {
			g = &offlineGroup{pod: pod}
			byKey[key] = g
			groups = append(groups, g)
		}
		g.files = append(g.files, f)
		g.heads = append(g.heads, h)
		g.parsed = append(g.parsed, fams)
	}
	snap := &Snapshot{}
	for _, g := range groups {
		snap.Pods = append(snap.Pods, g.pod)
		if !q.wants(g.pod) {
			continue
		}
		snap.Scrapes = append(snap.Scrapes, o.scrape(g))
	}
	return snap, nil
}

func (o *Offline) scrape(g *offlineGroup) Scrape {
	sc := Scrape{Pod: g.pod}
	if len(g.files) < 2 {
		sc.Err = fmt.Errorf("only one scrape file (%s): give a second one taken later", g.files[0].Name)
		return sc
	}
	first, last := 0, len(g.files)-1
	sc.Start, sc.End = g.parsed[first], g.parsed[last]
	switch {
	case o.Window > 0:
		sc.EndTime = g.files[last].ModTime
		sc.StartTime = sc.EndTime.Add(-o.Window)
	case !g.heads[first].scrapedAt.IsZero() && !g.heads[last].scrapedAt.IsZero():
		sc.StartTime, sc.EndTime = g.heads[first].scrapedAt, g.heads[last].scrapedAt
	default:
		sc.StartTime, sc.EndTime = g.files[first].ModTime, g.files[last].ModTime
	}
	if sc.Window() <= 0 {
		sc.Start, sc.End = nil, nil
		sc.Err = fmt.Errorf("the scrapes %s and %s are not a window apart (%s): pass the time between them with --time-window", g.files[first].Name, g.files[last].Name, sc.Window())
	}
	return sc
}

// podNameFromFile turns "/tmp/web-1.start.prom" into "web-1".
func podNameFromFile(name string) string {
	base := filepath.Base(name)
	if i := strings.IndexByte(base, '.'); i > 0 {
		base = base[:i]
	}
	return base
}
