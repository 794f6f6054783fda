package inject

import (
	"fmt"
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

// BenchmarkInject10000 injects a 10,000-document manifest (issue 3's
// measure: <= 2 s). Run with -benchmem; peak RSS of the CLI is measured
// with /usr/bin/time -v (see docs/inject.md).
func BenchmarkInject10000(b *testing.B) {
	for _, manual := range []bool{false, true} {
		b.Run(fmt.Sprintf("manual=%v", manual), func(b *testing.B) {
			data := manifest(benchDocs)
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
