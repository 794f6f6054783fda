package viz

import (
	"bytes"
	"math"
	"path/filepath"
	"testing"

	"github.com/meshctl/meshctl/pkg/testutil/golden"
)

func TestStatNumbers(t *testing.T) {
	rows, err := Stat(shopSnapshot(t, everything()), StatOptions{Selection: Selection{Kind: KindDeployment, Names: []string{"web"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("rows = %+v, want deploy/web only", rows)
	}
	s := rows[0].Stats
	sr, _ := s.SuccessRate()
	checks := []struct {
		name      string
		got, want float64
	}{
		{"requests", s.Requests, 120},
		{"success", sr, 110.0 / 120},
		{"rps", s.RPS, 12},
		{"p50", *s.LatencyP50, 9},
		{"p95", *s.LatencyP95, 32},
		{"p99", *s.LatencyP99, 46.4},
		{"tcp_conn", s.TCPOpenConnections, 4},
		{"read", s.ReadBytesRate, 1024},
		{"write", s.WriteBytesRate, 2048},
	}
	for _, c := range checks {
		if math.Abs(c.got-c.want) > 1e-9 {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestStatGolden(t *testing.T) {
	web := Selection{Kind: KindDeployment, Namespace: "shop", Names: []string{"web"}}
	db := Selection{Kind: KindStatefulSet, Namespace: "shop", Names: []string{"db"}}
	tests := []struct {
		name  string
		opts  StatOptions
		table TableOptions
	}{
		{"deploy", StatOptions{Selection: Selection{Kind: KindDeployment, Namespace: "shop"}}, TableOptions{Kind: KindDeployment}},
		{"deploy_wide_all_namespaces", StatOptions{Selection: Selection{Kind: KindDeployment}}, TableOptions{Kind: KindDeployment, Wide: true, AllNamespaces: true}},
		{"sts", StatOptions{Selection: Selection{Kind: KindStatefulSet}}, TableOptions{Kind: KindStatefulSet, Wide: true}},
		{"pods", StatOptions{Selection: Selection{Kind: KindPod, Namespace: "shop"}}, TableOptions{Kind: KindPod}},
		{"all", StatOptions{Selection: Selection{Kind: KindAll, Namespace: "shop"}}, TableOptions{Kind: KindAll}},
		{"namespaces", StatOptions{Selection: Selection{Kind: KindNamespace}}, TableOptions{Kind: KindNamespace, AllNamespaces: true}},
		{"sts_from_web", StatOptions{Selection: Selection{Kind: KindStatefulSet, Namespace: "shop"}, From: &web}, TableOptions{Kind: KindStatefulSet, Wide: true}},
		{"deploy_to_db", StatOptions{Selection: Selection{Kind: KindDeployment, Namespace: "shop"}, To: &db}, TableOptions{Kind: KindDeployment, Wide: true}},
		{"label_selector_matches_nothing", StatOptions{Selection: Selection{Kind: KindDeployment, LabelSelector: "app=none"}}, TableOptions{Kind: KindDeployment}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := Stat(shopSnapshot(t, everything()), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			var table, js bytes.Buffer
			if err := WriteStatTable(&table, rows, tt.table); err != nil {
				t.Fatal(err)
			}
			if err := WriteStatJSON(&js, rows); err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, filepath.Join("testdata", "golden", "stat_"+tt.name+".txt"), table.Bytes())
			golden.Assert(t, filepath.Join("testdata", "golden", "stat_"+tt.name+".json"), js.Bytes())
		})
	}
}

func TestStatRejectsFromAndTo(t *testing.T) {
	s := &Selection{Kind: KindPod}
	if _, err := Stat(&Snapshot{}, StatOptions{Selection: *s, From: s, To: s}); err == nil {
		t.Fatal("Stat accepted --from with --to")
	}
}

func TestEdgesGolden(t *testing.T) {
	tests := []struct {
		name string
		kind Kind
		wide bool
	}{
		{"deploy", KindDeployment, false},
		{"pods_wide", KindPod, true},
		{"sts", KindStatefulSet, false}, // db opens no connections: no edges
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			edges := Edges(shopSnapshot(t, everything()), EdgesOptions{Selection: Selection{Kind: tt.kind}})
			var table, js bytes.Buffer
			if err := WriteEdgesTable(&table, edges, TableOptions{Kind: tt.kind, Wide: tt.wide}); err != nil {
				t.Fatal(err)
			}
			if err := WriteEdgesJSON(&js, edges); err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, filepath.Join("testdata", "golden", "edges_"+tt.name+".txt"), table.Bytes())
			golden.Assert(t, filepath.Join("testdata", "golden", "edges_"+tt.name+".json"), js.Bytes())
		})
	}
}
