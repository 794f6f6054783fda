//go:build e2e

package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/meshctl/meshctl/pkg/controller/identity"
	pkgidentity "github.com/meshctl/meshctl/pkg/identity"
	"github.com/meshctl/meshctl/pkg/meshapi"
)

// BenchmarkCertifyRealTokenReview measures certificate issuance with the
// real API server reviewing every token: certificates per second and the
// p99 of one certification, 8 at a time (a rollout's burst). The per-
// identity rate limit is lifted to measure capacity, not the limit. The
// gRPC hop adds what BenchmarkCertifyGRPC in pkg/controller/identity
// measures.
//
//	KUBECONFIG=$(hack/cluster/cluster.sh env | sed -n 's/^KUBECONFIG=//p') \
//	  go test -tags e2e -run '^$' -bench CertifyRealTokenReview -benchtime 2000x ./test/e2e/
func BenchmarkCertifyRealTokenReview(b *testing.B) {
	requireCluster(b)
	ns := fmt.Sprintf("meshctl-idbench-%d", time.Now().Unix()%100000)
	if out, err := kubectl(b, "", "create", "namespace", ns); err != nil {
		b.Fatalf("%v\n%s", err, out)
	}
	b.Cleanup(func() { _, _ = kubectl(b, "", "delete", "namespace", ns, "--wait=false") })
	if out, err := kubectl(b, "", "-n", ns, "create", "serviceaccount", "web"); err != nil {
		b.Fatalf("%v\n%s", err, out)
	}
	out, err := kubectl(b, "", "-n", ns, "create", "token", "web", "--duration=1h", "--audience", meshapi.TokenAudience)
	if err != nil {
		b.Fatalf("create token: %v\n%s", err, out)
	}
	token := strings.TrimSpace(out)
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(clientcmd.NewDefaultClientConfigLoadingRules(), nil).ClientConfig()
	if err != nil {
		b.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 1000, 1000 // client-go's default 5 QPS would measure itself
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	root, err := pkgidentity.GenerateRoot(pkgidentity.GenerateOptions{CommonName: "root", Lifetime: 24 * time.Hour, Now: time.Now()})
	if err != nil {
		b.Fatal(err)
	}
	c := &identity.Certifier{
		Issuer:        func() *pkgidentity.CA { return root },
		Reviewer:      identity.KubeTokenReviewer{Client: cs.AuthenticationV1()},
		MeshNamespace: meshapi.DefaultNamespace, TrustDomain: meshapi.DefaultTrustDomain,
		PerIdentity: rate.Inf, Burst: 1,
	}
	name := meshapi.IdentityName("web", ns, meshapi.DefaultNamespace, meshapi.DefaultTrustDomain)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{name}}, key)
	if err != nil {
		b.Fatal(err)
	}
	req := identity.Request{Identity: name, Token: token, CSR: csr}
	var mu sync.Mutex
	var lat []time.Duration
	b.SetParallelism(4) // 4 x GOMAXPROCS(2) = 8 in flight
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			t0 := time.Now()
			if _, err := c.Certify(context.Background(), req); err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(t0))
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "certs/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds())/1000, "p99-ms")
}
