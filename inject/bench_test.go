package inject

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// benchDocs is the size of the benchmark manifest.
const benchDocs = 10000

// manifest returns n Deployment documents, each about 700 bytes.
func manifest(n int) []byte {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `---
# workload %d
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web-%d
  namespace: shop
  labels:
    app: web-%d
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web-%d
  template:
    metadata:
      labels:
        app: web-%d
    spec:
      containers:
        - name: web
          image: "nginx:1.27"
          ports:
            - containerPort: 80
          resources:
            requests: {cpu: 100m, memory: 64Mi}
          readinessProbe:
            httpGet: {path: /healthz, port: 80}
`, i, i, i, i, i)
	}
	return []byte(b.String())
}

// largeManifest returns n Deployment documents of about 2,300 bytes each,
// closer to what teams write: probes, resources, a dozen env vars, a
// config volume, annotations, comments.
func largeManifest(n int) []byte {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `---
# service %[1]d: owned by team-%[2]d
apiVersion: apps/v1
kind: Deployment
metadata:
  name: svc-%[1]d
  namespace: ns-%[3]d
  labels:
    app.kubernetes.io/name: svc-%[1]d
    app.kubernetes.io/part-of: shop
    team: team-%[2]d
spec:
  replicas: 3
  selector:
    matchLabels:
      app.kubernetes.io/name: svc-%[1]d
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 25%%, maxUnavailable: 0}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: svc-%[1]d
        team: team-%[2]d
      annotations:
        prometheus.io/scrape: "true"
        prometheus.io/port: "9090"
    spec:
      serviceAccountName: svc-%[1]d
      containers:
        - name: app
          image: registry.example.com/shop/svc-%[1]d:1.2.3
          args: ["--port=8080", "--metrics-port=9090", "--log-level=info"]
          ports:
            - {name: http, containerPort: 8080}
            - {name: metrics, containerPort: 9090}
          env:
`, i, i%17, i%50)
		for j := range 12 {
			fmt.Fprintf(&b, "            - name: VAR_%d\n              value: \"value-%d-%d\"\n", j, i, j)
		}
		fmt.Fprintf(&b, `          resources:
            requests: {cpu: 100m, memory: 128Mi}
            limits: {memory: 256Mi}
          readinessProbe:
            httpGet: {path: /ready, port: http}
            periodSeconds: 5
          volumeMounts:
            - name: config
              mountPath: /etc/svc
              readOnly: true
      volumes:
        - name: config
          configMap:
            name: svc-%d-config
`, i)
	}
	return []byte(b.String())
}

// BenchmarkInject10000 injects 10,000-document manifests (issue 3's
// measure: <= 2 s), of small (~530 bytes) and larger (~2,300 bytes)
// documents. Run with -benchmem; peak RSS of the CLI is measured with
// /usr/bin/time (see docs/inject.md).
func BenchmarkInject10000(b *testing.B) {
	for _, tc := range []struct {
		name   string
		data   []byte
		manual bool
	}{
		{"small", manifest(benchDocs), false},
		{"small/manual", manifest(benchDocs), true},
		{"large", largeManifest(benchDocs), false},
		{"large/manual", largeManifest(benchDocs), true},
	} {
		manual := tc.manual
		b.Run(tc.name, func(b *testing.B) {
			data := tc.data
			opts := testOptions(b)
			opts.Manual = manual
			b.SetBytes(int64(len(data)))
			var peak uint64
			for b.Loop() {
				res, err := Run([]Source{{Name: "bench", Data: data}}, opts)
				if err != nil {
					b.Fatal(err)
				}
				if len(res.Resources) != benchDocs {
					b.Fatalf("%d resources", len(res.Resources))
				}
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
			b.ReportMetric(float64(peak)/float64(len(data)), "heap/input")
		})
	}
}

// TestWriteBenchManifests writes the two 10,000-document manifests of
// BenchmarkInject10000 to the directory named by
// MESHCTL_BENCH_MANIFESTS, for measuring the CLI on them (docs/inject.md:
// `/usr/bin/time meshctl inject --ignore-cluster DIR/small.yaml`). Without
// it, it is skipped.
func TestWriteBenchManifests(t *testing.T) {
	dir := os.Getenv("MESHCTL_BENCH_MANIFESTS")
	if dir == "" {
		t.Skip("set MESHCTL_BENCH_MANIFESTS to a directory to write the manifests there")
	}
	for name, data := range map[string][]byte{"small.yaml": manifest(benchDocs), "large.yaml": largeManifest(benchDocs)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
