package viz

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestOfflineSnapshot(t *testing.T) {
	metrics := "# TYPE response_total counter\nresponse_total{direction=\"inbound\",classification=\"success\"} 1\n"
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	file := func(name, body string, mod time.Time) ScrapeFile {
		return ScrapeFile{Name: name, Data: []byte(body), ModTime: mod}
	}
	tests := []struct {
		name       string
		src        Offline
		wantErr    string // Snapshot's error
		wantPodErr string // the single scrape's error
		wantPod    string
		wantWindow time.Duration
	}{
		{
			name:       "named after the first file, window from modification times",
			src:        Offline{Files: []ScrapeFile{file("/tmp/web-1.a.prom", metrics, t0), file("/tmp/web-1.b.prom", metrics, t0.Add(7*time.Second))}},
			wantPod:    "default/web-1",
			wantWindow: 7 * time.Second,
		},
		{
			name: "scraped-at comments beat modification times, -t beats both",
			src: Offline{Window: 3 * time.Second, Files: []ScrapeFile{
				file("a", "# scraped-at: 2026-01-01T00:00:00Z\n"+metrics, t0), file("b", "# scraped-at: 2026-01-01T00:00:10Z\n"+metrics, t0)}},
			wantPod:    "default/a",
			wantWindow: 3 * time.Second,
		},
		{
			name: "middle files are ignored",
			src: Offline{Files: []ScrapeFile{
				file("a", "# scraped-at: 2026-01-01T00:00:00Z\n"+metrics, t0), file("b", metrics, t0), file("c", "# scraped-at: 2026-01-01T00:00:10Z\n"+metrics, t0)}},
			wantPod:    "default/a",
			wantWindow: 10 * time.Second,
		},
		{
			name: "a middle file that is no scrape",
			src: Offline{Files: []ScrapeFile{
				file("a", metrics, t0), file("b", "garbage{", t0), file("c", metrics, t0.Add(time.Second))}},
			wantErr: "b: parse metrics: text format parsing error in line 1",
		},
		{
			name:       "same time is not a window",
			src:        Offline{Files: []ScrapeFile{file("a", metrics, t0), file("b", metrics, t0)}},
			wantPod:    "default/a",
			wantPodErr: "not a window apart",
		},
		{
			name:    "unparsable scrape",
			src:     Offline{Window: time.Second, Files: []ScrapeFile{file("a", metrics, t0), file("b", "response_total{ 1\n", t0)}},
			wantErr: "b: parse metrics",
		},
		{
			name: "a scrape of another pod that is no scrape",
			src: Offline{Window: time.Second, Files: []ScrapeFile{file("a", metrics, t0), file("b", metrics, t0),
				file("c", "# pod: other/c-1\n\x00\xff", t0), file("d", "# pod: other/c-1\n"+metrics, t0)}},
			wantErr: "c: parse metrics",
		},
		{
			name:    "one file",
			src:     Offline{Files: []ScrapeFile{file("a", metrics, t0)}},
			wantErr: "two or more --metrics-file",
		},
		{
			name:    "bad pod comment",
			src:     Offline{Files: []ScrapeFile{file("a", "# pod: web-1\n", t0), file("b", metrics, t0)}},
			wantErr: "namespace/name",
		},
		{
			name:    "bad scraped-at",
			src:     Offline{Files: []ScrapeFile{file("a", "# scraped-at: yesterday\n", t0), file("b", metrics, t0)}},
			wantErr: "RFC 3339",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap, err := tt.src.Snapshot(context.Background(), everything())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(snap.Scrapes) != 1 {
				t.Fatalf("scrapes = %+v, want one pod", snap.Scrapes)
			}
			sc := snap.Scrapes[0]
			if got := sc.Pod.Namespace + "/" + sc.Pod.Name; got != tt.wantPod {
				t.Errorf("pod = %s, want %s", got, tt.wantPod)
			}
			if tt.wantPodErr != "" {
				if sc.Err == nil || !strings.Contains(sc.Err.Error(), tt.wantPodErr) {
					t.Fatalf("pod error = %v, want %q", sc.Err, tt.wantPodErr)
				}
				return
			}
			if sc.Err != nil || sc.Window() != tt.wantWindow {
				t.Errorf("window %s, err %v; want %s", sc.Window(), sc.Err, tt.wantWindow)
			}
		})
	}
}

func TestParseKind(t *testing.T) {
	for in, want := range map[string]Kind{
		"deploy": KindDeployment, "Deployments": KindDeployment, "sts": KindStatefulSet, "ds": KindDaemonSet,
		"jobs": KindJob, "cj": KindCronJob, "rs": KindReplicaSet, "rc": KindReplicationController,
		"po": KindPod, "ns": KindNamespace, "all": KindAll, "svc": KindService, "services": KindService,
	} {
		if got, err := ParseKind(in); err != nil || got != want {
			t.Errorf("ParseKind(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, msg := range map[string]string{"authority": "use svc", "pizza": "unknown resource type"} {
		if _, err := ParseKind(in); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseKind(%q) error = %v, want %q", in, err, msg)
		}
	}
}
