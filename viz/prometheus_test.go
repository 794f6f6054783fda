package viz

import (
	"reflect"
	"testing"

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
