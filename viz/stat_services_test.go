package viz

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/meshctl/meshctl/pkg/testutil/golden"
)

// servicesSnapshot is the offline snapshot of the "services" fixture
// (testdata/services/README.md), every client scraped.
func servicesSnapshot(t *testing.T) *Snapshot {
	t.Helper()
	var files []ScrapeFile
	for _, n := range []string{"web-1.start", "load-1.start", "web-1.end", "load-1.end"} {
		path := filepath.Join("testdata", "services", n+".prom")
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, ScrapeFile{Name: path, Data: b})
	}
	snap, err := (&Offline{Files: files}).Snapshot(context.Background(), Query{AllMeshed: true})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// TestStatServices: a Service's row is what its clients, in any
// namespace, sent it (their outbound series by dst_service), never what
// they served; --from narrows the clients; a Service named without
// traffic has a row of zeros.
func TestStatServices(t *testing.T) {
	web := Selection{Kind: KindDeployment, Namespace: "shop", Names: []string{"web"}}
	type want struct {
		requests, success, rps, p50, tcp float64
	}
	for _, tc := range []struct {
		name string
		opts StatOptions
		want map[string]want
	}{
		{"svc", StatOptions{Selection: Selection{Kind: KindService, Namespace: "shop"}}, map[string]want{
			"api": {100, 0.9, 10, 5 + 5*20.0/60, 5},
			"db":  {20, 1, 2, 2.5, 1},
		}},
		{"svc_from_web", StatOptions{Selection: Selection{Kind: KindService, Namespace: "shop", Names: []string{"api"}}, From: &web}, map[string]want{
			"api": {50, 0.8, 5, 5 * 25.0 / 30, 2},
		}},
		{"svc_named_without_traffic", StatOptions{Selection: Selection{Kind: KindService, Namespace: "shop", Names: []string{"db", "cart"}}}, map[string]want{
			"db":   {20, 1, 2, 2.5, 1},
			"cart": {0, -1, 0, -1, 0},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := Stat(servicesSnapshot(t), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != len(tc.want) {
				t.Fatalf("%d rows %+v, want %d", len(rows), rows, len(tc.want))
			}
			for _, r := range rows {
				w, ok := tc.want[r.Resource.Name]
				if !ok || r.Resource.Kind != KindService || r.Resource.Namespace != "shop" || r.Stats == nil {
					t.Fatalf("unexpected row %+v", r)
				}
				s := r.Stats
				sr, has := s.SuccessRate()
				if !has {
					sr = -1
				}
				p50 := -1.0
				if s.LatencyP50 != nil {
					p50 = *s.LatencyP50
				}
				for _, c := range []struct {
					what      string
					got, want float64
				}{{"requests", s.Requests, w.requests}, {"success", sr, w.success}, {"rps", s.RPS, w.rps}, {"p50", p50, w.p50}, {"tcp_conn", s.TCPOpenConnections, w.tcp}} {
					if math.Abs(c.got-c.want) > 1e-9 {
						t.Errorf("svc/%s %s = %v, want %v", r.Resource.Name, c.what, c.got, c.want)
					}
				}
			}
			var table, js bytes.Buffer
			if err := WriteStatTable(&table, rows, TableOptions{Kind: KindService}); err != nil {
				t.Fatal(err)
			}
			if err := WriteStatJSON(&js, rows); err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, filepath.Join("testdata", "golden", "stat_"+tc.name+".txt"), table.Bytes())
			golden.Assert(t, filepath.Join("testdata", "golden", "stat_"+tc.name+".json"), js.Bytes())
		})
	}
}

// TestStatToService: a workload's row with --to svc/NAME is its outbound
// traffic to that Service only.
func TestStatToService(t *testing.T) {
	api := Selection{Kind: KindService, Namespace: "shop", Names: []string{"api"}}
	rows, err := Stat(servicesSnapshot(t), StatOptions{Selection: Selection{Kind: KindDeployment}, To: &api})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, r := range rows {
		got[r.Resource.Namespace+"/"+r.Resource.Name] = r.Stats.Requests
	}
	if len(got) != 2 || got["shop/web"] != 50 || got["ops/load"] != 50 {
		t.Fatalf("requests to svc/api by workload = %v, want shop/web 50 and ops/load 50", got)
	}
}

// TestStatServiceRefusals: a Service sends nothing itself, and a Service
// row is already about traffic to it.
func TestStatServiceRefusals(t *testing.T) {
	svc := Selection{Kind: KindService, Namespace: "shop"}
	deploy := Selection{Kind: KindDeployment, Namespace: "shop"}
	for name, opts := range map[string]StatOptions{
		"from a service": {Selection: deploy, From: &svc},
		"svc --to":       {Selection: svc, To: &deploy},
	} {
		if _, err := Stat(servicesSnapshot(t), opts); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
