package viz

import (
	"bytes"
	"context"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// TestPromPodOwners checks that Prometheus' own job label never names a
// Job: the viz scrape config puts a Job's name in k8s_job.
func TestPromPodOwners(t *testing.T) {
	tests := []struct {
		name   string
		labels model.Metric
		want   []Workload
	}{
		{"deployment", model.Metric{"namespace": "shop", "pod": "web-1", "job": "meshctl-proxy", "replicaset": "web-7d9f", "deployment": "web"},
			[]Workload{{KindReplicaSet, "web-7d9f"}, {KindDeployment, "web"}}},
		{"job", model.Metric{"namespace": "shop", "pod": "migrate-x", "job": "meshctl-proxy", "k8s_job": "migrate"},
			[]Workload{{KindJob, "migrate"}}},
		{"cronjob", model.Metric{"namespace": "shop", "pod": "nightly-1-x", "job": "meshctl-proxy", "k8s_job": "nightly-1", "cronjob": "nightly"},
			[]Workload{{KindJob, "nightly-1"}, {KindCronJob, "nightly"}}},
		{"bare pod", model.Metric{"namespace": "shop", "pod": "debug", "job": "meshctl-proxy"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pp := podOf(map[string]*promPod{}, tc.labels)
			if !reflect.DeepEqual(pp.pod.Owners, tc.want) {
				t.Errorf("owners = %v, want %v", pp.pod.Owners, tc.want)
			}
			for _, l := range proxyLabels(tc.labels, false) {
				t.Errorf("target label %s=%s kept as a proxy label", l.GetName(), l.GetValue())
			}
		})
	}
}

// TestPromKeepsDestinationLabels: Prometheus' namespace and pod name the
// client; the proxy's dst_namespace and dst_service, which Service rows
// need, stay proxy labels.
func TestPromKeepsDestinationLabels(t *testing.T) {
	m := model.Metric{"namespace": "ops", "pod": "load-1", "job": "meshctl-proxy", "instance": "10.0.2.1:4191",
		"direction": "outbound", "dst_namespace": "shop", "dst_service": "api"}
	got := map[string]string{}
	for _, l := range proxyLabels(m, false) {
		got[l.GetName()] = l.GetValue()
	}
	want := map[string]string{"direction": "outbound", "dst_namespace": "shop", "dst_service": "api"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("proxy labels = %v, want %v", got, want)
	}
	if pp := podOf(map[string]*promPod{}, m); pp.pod.Namespace != "ops" || pp.pod.Name != "load-1" {
		t.Errorf("client pod = %+v, want ops/load-1", pp.pod)
	}
}

// fakePromAPI answers instant queries of increase(NAME[...]) with the
// samples of vectors[NAME] (for a histogram, NAME_bucket); the other
// methods of promv1.API are not used by the source.
type fakePromAPI struct {
	promv1.API
	vectors map[string]model.Vector
	queries []string
}

func (f *fakePromAPI) Query(_ context.Context, query string, _ time.Time, _ ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error) {
	f.queries = append(f.queries, query)
	name := strings.TrimPrefix(query, "increase(")
	name = name[:strings.IndexAny(name, "{[")]
	return f.vectors[name], nil, nil, nil
}

// TestPromRoutesRoundTrip turns the routes fixture's increases into what
// Prometheus answers (target labels added, the empty rt_route dropped as
// Prometheus drops empty labels, histograms as _bucket series with le)
// and checks that Routes over the Prometheus source gives the rows it
// gives over the saved scrapes.
func TestPromRoutesRoundTrip(t *testing.T) {
	offline := routesSnapshot(t)
	api := &fakePromAPI{vectors: map[string]model.Vector{}}
	for _, sc := range offline.Scrapes {
		target := model.Metric{"namespace": model.LabelValue(sc.Pod.Namespace), "pod": model.LabelValue(sc.Pod.Name),
			"job": "meshctl-proxy", "instance": model.LabelValue(sc.Pod.IP + ":4191"), "deployment": model.LabelValue(sc.Pod.Workload().Name)}
		series := func(name string, l map[string]string, extra model.LabelSet) model.Metric {
			m := target.Clone()
			m[model.MetricNameLabel] = model.LabelValue(name)
			for k, v := range l {
				if v != "" {
					m[model.LabelName(k)] = model.LabelValue(v)
				}
			}
			for k, v := range extra {
				m[k] = v
			}
			return m
		}
		for _, name := range []string{metricRouteResponses, metricRouteActualResponses} {
			for _, s := range counterIncreases(sc.Start, sc.End, name) {
				api.vectors[name] = append(api.vectors[name], &model.Sample{Metric: series(name, s.labels, nil), Value: model.SampleValue(s.value)})
			}
		}
		bucketName := metricRouteLatency + "_bucket"
		for _, s := range histogramIncreases(sc.Start, sc.End, metricRouteLatency) {
			for _, b := range s.buckets {
				le := model.LabelValue(strconv.FormatFloat(b.upper, 'g', -1, 64))
				api.vectors[bucketName] = append(api.vectors[bucketName], &model.Sample{
					Metric: series(bucketName, s.labels, model.LabelSet{model.BucketLabel: le}), Value: model.SampleValue(b.count)})
			}
		}
	}
	src := &Prometheus{API: api, Window: 10 * time.Second, Now: func() time.Time { return time.Unix(1e9, 0) }}
	for _, opts := range []RoutesOptions{
		{Selection: Selection{Kind: KindDeployment, Namespace: "demo", Names: []string{"backend"}}},
		{Selection: Selection{Kind: KindDeployment, Namespace: "demo", Names: []string{"web"}}, To: demoServices()},
	} {
		snap, err := src.Snapshot(context.Background(), Query{Namespace: "demo", Selections: []Selection{opts.Selection}, Routes: true})
		if err != nil {
			t.Fatal(err)
		}
		got, err := Routes(snap, opts)
		if err != nil {
			t.Fatal(err)
		}
		want, err := Routes(offline, opts)
		if err != nil {
			t.Fatal(err)
		}
		var gotJSON, wantJSON bytes.Buffer
		if err := WriteRoutesJSON(&gotJSON, got); err != nil {
			t.Fatal(err)
		}
		if err := WriteRoutesJSON(&wantJSON, want); err != nil {
			t.Fatal(err)
		}
		if len(want) == 0 || gotJSON.String() != wantJSON.String() {
			t.Errorf("%v: through Prometheus\n%s\nwant, as from the scrapes,\n%s", opts.Selection.Names, gotJSON.String(), wantJSON.String())
		}
	}
	for _, q := range api.queries {
		if !strings.HasPrefix(q, "increase(route_") || !strings.Contains(q, `{namespace="demo"}[10000ms]`) {
			t.Errorf("query %s: want only the route families' increase() in namespace demo", q)
		}
	}
}
