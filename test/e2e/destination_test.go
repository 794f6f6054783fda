//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	destinationv1 "github.com/meshctl/meshctl/pkg/api/destination/v1"
	"github.com/meshctl/meshctl/pkg/controller/destination"
	"github.com/meshctl/meshctl/pkg/meshapi"
)

// destinationAnswersForDemo asks the installed destination controller,
// through a port-forward, about every port of the demo Services'
// ClusterIPs: each answer must list exactly the demo pods behind the
// Service, each with the identity of its ServiceAccount, and mark echo's
// Redis port opaque. It is a stage of the journey, after the demo is meshed.
func destinationAnswersForDemo(t *testing.T) {
	mesh := meshapi.DefaultNamespace
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(clientcmd.NewDefaultClientConfigLoadingRules(), nil).ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	dep, err := cs.AppsV1().Deployments(mesh).Get(ctx, "meshctl-destination", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the control plane is not installed in %s: %v", mesh, err)
	}
	trustDomain := meshapi.DefaultTrustDomain
	for _, c := range dep.Spec.Template.Spec.Containers {
		for _, e := range c.Env {
			if e.Name == destination.EnvTrustDomain && e.Value != "" {
				trustDomain = e.Value
			}
		}
	}
	waitControlPlane(t, mesh, 3*time.Minute)
	if pods, err := cs.CoreV1().Pods(demoNamespace).List(ctx, metav1.ListOptions{}); err != nil || len(pods.Items) == 0 {
		meshDemo(t)
	}

	client := destinationv1.NewDestinationClient(portForward(t, ctx, mesh, "deploy/meshctl-destination", meshapi.DestinationGRPCPort))
	svcs, err := cs.CoreV1().Services(demoNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	asked := 0
	for _, svc := range svcs.Items {
		if svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP == corev1.ClusterIPNone {
			continue
		}
		for _, port := range svc.Spec.Ports {
			target := fmt.Sprintf("%s:%d", svc.Spec.ClusterIP, port.Port)
			t.Run(svc.Name+"/"+port.Name, func(t *testing.T) {
				want := expectedEndpoints(t, ctx, cs, &svc, mesh, trustDomain)
				if len(want) == 0 {
					t.Fatalf("service %s has no running pods to expect", svc.Name)
				}
				// Endpoints converge after a rollout: ask until the answer
				// matches or a minute has passed.
				var got map[string]string
				var last *destinationv1.Update
				deadline := time.Now().Add(time.Minute)
				for {
					last = getOnce(t, ctx, client, target)
					got = map[string]string{}
					for _, ep := range last.GetEndpoints() {
						ip, _, _ := strings.Cut(ep.GetAddr(), ":")
						got[ip] = ep.GetTlsIdentity()
						if ep.GetMetricLabels()["dst_service"] != svc.Name {
							t.Errorf("%s: endpoint %s has dst_service %q", target, ep.GetAddr(), ep.GetMetricLabels()["dst_service"])
						}
						// Every demo pod is meshed: echo's port is opaque, and
						// the others take HTTP/1 carried over HTTP/2.
						wantHint := destinationv1.ProtocolHint_PROTOCOL_HINT_H2
						if port.Port == 6379 {
							wantHint = destinationv1.ProtocolHint_PROTOCOL_HINT_OPAQUE
						}
						if ep.GetTlsIdentity() != "" && ep.GetProtocolHint() != wantHint {
							t.Errorf("%s: endpoint %s protocol hint %s, want %s", target, ep.GetAddr(), ep.GetProtocolHint(), wantHint)
						}
					}
					if last.GetExists() && last.GetKind() == destinationv1.Kind_KIND_SERVICE && mapsEqual(got, want) {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("%s (%s/%s): got %v (exists %v, kind %s), want endpoints→identities %v",
							target, demoNamespace, svc.Name, got, last.GetExists(), last.GetKind(), want)
					}
					time.Sleep(2 * time.Second)
				}
			})
			asked++
		}
	}
	if asked == 0 {
		t.Fatalf("no ClusterIP Services in %s", demoNamespace)
	}

	// A pod IP answers as that pod; an address nobody owns as unknown.
	pods, err := cs.CoreV1().Pods(demoNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" {
			continue
		}
		upd := getOnce(t, ctx, client, p.Status.PodIP+":8080")
		wantID := meshapi.IdentityName(serviceAccount(&p), demoNamespace, mesh, trustDomain)
		if upd.GetKind() != destinationv1.Kind_KIND_POD || len(upd.GetEndpoints()) != 1 || upd.GetEndpoints()[0].GetTlsIdentity() != wantID {
			t.Errorf("pod %s (%s): got %v, want one endpoint with identity %s", p.Name, p.Status.PodIP, upd, wantID)
		}
		break
	}
	if upd := getOnce(t, ctx, client, "192.0.2.1:80"); upd.GetExists() || upd.GetKind() != destinationv1.Kind_KIND_UNKNOWN {
		t.Errorf("TEST-NET address: got %v, want exists false, kind unknown", upd)
	}
}

// expectedEndpoints maps the IPs of svc's running, ready pods to the
// identity each must prove.
func expectedEndpoints(t *testing.T, ctx context.Context, cs kubernetes.Interface, svc *corev1.Service, mesh, trustDomain string) map[string]string {
	t.Helper()
	pods, err := cs.CoreV1().Pods(svc.Namespace).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(svc.Spec.Selector).String()})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil || !podReady(&p) {
			continue
		}
		want[p.Status.PodIP] = meshapi.IdentityName(serviceAccount(&p), p.Namespace, mesh, trustDomain)
	}
	return want
}

func podReady(p *corev1.Pod) bool {
	return slices.ContainsFunc(p.Status.Conditions, func(c corev1.PodCondition) bool {
		return c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue
	})
}

func serviceAccount(p *corev1.Pod) string {
	if p.Spec.ServiceAccountName == "" {
		return "default"
	}
	return p.Spec.ServiceAccountName
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// getOnce opens a Get stream for target and returns its first snapshot.
func getOnce(t *testing.T, ctx context.Context, client destinationv1.DestinationClient, target string) *destinationv1.Update {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	stream, err := client.Get(sctx, &destinationv1.GetRequest{Target: target, Context: &destinationv1.ProxyContext{Namespace: demoNamespace}}, grpc.WaitForReady(true))
	if err != nil {
		t.Fatalf("Get %s: %v", target, err)
	}
	upd, err := stream.Recv()
	if err != nil {
		t.Fatalf("Get %s: %v", target, err)
	}
	return upd
}

// portForward forwards a free local port to port of resource in ns until
// the test ends and returns a plaintext gRPC connection through it (the
// forward enters the pod's network namespace on loopback, below its proxy).
func portForward(t *testing.T, ctx context.Context, ns, resource string, port int) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(forwardPort(t, ctx, ns, resource, port), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// forwardPort runs kubectl port-forward from a free local port to port of
// resource in ns until the test ends, and returns the local address.
func forwardPort(t *testing.T, ctx context.Context, ns, resource string, port int) string {
	t.Helper()
	pctx, cancel := context.WithCancel(ctx)
	cmd := exec.CommandContext(pctx, "kubectl", "-n", ns, "port-forward", resource, fmt.Sprintf(":%d", port))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	forwarding := regexp.MustCompile(`Forwarding from 127\.0\.0\.1:(\d+)`)
	local := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := forwarding.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case local <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case lport := <-local:
		return "127.0.0.1:" + lport
	case <-time.After(30 * time.Second):
		t.Fatalf("kubectl port-forward %s %d did not start within 30s", resource, port)
		return ""
	}
}
