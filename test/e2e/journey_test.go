//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// journey is the user's path through meshctl on a real cluster, one stage
// after another. A stage whose feature has not landed yet is skipped with a
// message naming what is missing; a stage after a failed one is skipped
// because its ground is gone.
type journey struct {
	t      *testing.T
	failed string
}

func (j *journey) stage(name string, fn func(t *testing.T)) {
	j.t.Run(name, func(t *testing.T) {
		if j.failed != "" {
			t.Skipf("stage %q failed, so this one cannot run", j.failed)
		}
		// Fatal ends fn with runtime.Goexit: note the failure in a defer.
		defer func() {
			if t.Failed() {
				j.failed = name
			}
		}()
		fn(t)
	})
}

// requireCommand skips t when meshctl has no such command yet. Cobra
// answers `--help` for an unknown subcommand with its parent's help and
// exit 0, so the help must be the command's own: its usage line names it.
func requireCommand(t *testing.T, issue string, args ...string) {
	t.Helper()
	name := "meshctl " + strings.Join(args, " ")
	out, errOut, code := meshctl(t, append(args, "--help")...)
	if code != 0 {
		t.Skipf("`%s` has not landed yet (%s): %s", name, issue, firstLine(errOut))
	}
	if !strings.Contains(out, "\n  "+name+" ") && !strings.Contains(out, "\n  "+name+"\n") {
		t.Skipf("`%s` has not landed yet (%s): its help is another command's", name, issue)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// TestJourney installs the mesh, checks it, meshes a demo application,
// looks at its traffic and uninstalls, on the local cluster.
func TestJourney(t *testing.T) {
	requireCluster(t)
	j := &journey{t: t}
	const ns = "meshctl"

	removeLeftovers(t, ns)

	j.stage("install CRDs", func(t *testing.T) {
		crds, errOut, code := meshctl(t, "install", "--crds")
		if code != 0 {
			t.Fatalf("install --crds: %s", errOut)
		}
		if out, err := kubectl(t, crds, "apply", "-f", "-"); err != nil {
			t.Fatalf("kubectl apply: %v\n%s", err, out)
		}
		if out, err := kubectl(t, "", "wait", "--for=condition=Established", "--timeout=60s", "crd", "-l", "app.kubernetes.io/part-of=meshctl"); err != nil {
			t.Fatalf("CRDs not established: %v\n%s", err, out)
		}
	})

	var controlPlane string
	j.stage("install control plane", func(t *testing.T) {
		manifest, errOut, code := meshctl(t, "install")
		if code != 0 {
			t.Fatalf("install: %s", errOut)
		}
		controlPlane = manifest
		if out, err := kubectl(t, manifest, "apply", "-f", "-"); err != nil {
			t.Fatalf("kubectl apply: %v\n%s", err, out)
		}
		waitControlPlane(t, ns, 3*time.Minute)
	})

	j.stage("version reads the control plane", func(t *testing.T) {
		out, errOut, code := meshctl(t, "version", "--short")
		if code != 0 || len(strings.Fields(out)) != 2 || strings.Fields(out)[1] == "unavailable" {
			t.Fatalf("version --short: %q %q", out, errOut)
		}
	})

	j.stage("check", func(t *testing.T) {
		requireCommand(t, "issue 6", "check")
		out, errOut, code := meshctl(t, "check", "--wait", "2m")
		if code != 0 {
			t.Fatalf("check failed:\n%s\n%s", out, errOut)
		}
	})

	j.stage("check catches what breaks", func(t *testing.T) {
		requireCommand(t, "issue 6", "check")
		checkCatchesBreakage(t, ns, controlPlane)
		checkCatchesBadIssuer(t, ns)
		checkFixRecreatesWebhook(t, ns)
		t.Run("unknown token", checkRejectsUnknownToken)
		t.Run("ClusterRole deleted, --fix", checkFixRecreatesRBAC)
	})

	j.stage("mesh the demo application", func(t *testing.T) {
		requireCommand(t, "issue 3", "inject")
		meshDemo(t)
	})

	j.stage("destination names the demo's endpoints and identities", func(t *testing.T) {
		destinationAnswersForDemo(t)
	})

	j.stage("traffic flows through the proxies", func(t *testing.T) {
		requireCommand(t, "issue 3", "inject")
		demoTraffic(t)
	})

	j.stage("meshed pods talk mTLS", func(t *testing.T) {
		meshedPodsTalkMTLS(t)
	})

	j.stage("pprof is opt-in per pod and loopback-only", func(t *testing.T) {
		pprofIsOptInAndLoopbackOnly(t)
	})

	j.stage("the proxy's log level changes at runtime, from loopback only", func(t *testing.T) {
		proxyAdminIsLoopbackWhereItMatters(t)
	})

	j.stage("identity shows the proxies' certificates", func(t *testing.T) {
		identityShowsDemoCertificates(t)
	})

	j.stage("anchors rotated under load (0 failed requests)", func(t *testing.T) {
		requireCommand(t, "issue 5", "identity", "rotate", "anchors")
		rotateAnchorsUnderLoad(t)
	})

	j.stage("check --proxy sees healthy proxies", func(t *testing.T) {
		out, errOut, code := meshctl(t, "check", "--proxy", "-n", demoNamespace, "--wait", "2m")
		if code != 0 {
			t.Fatalf("check --proxy:\n%s\n%s", out, errOut)
		}
		if !strings.Contains(out, "data plane proxies are ready") {
			t.Fatalf("no data-plane checks in the output:\n%s", out)
		}
	})

	j.stage("check --proxy --fix meshes pods the webhook missed", func(t *testing.T) {
		checkFixMeshesSkippedPods(t)
	})

	// The reads from the proxies (no Prometheus installed) are independent
	// and mostly wait out their windows: they run in parallel.
	j.stage("viz reads the traffic from the proxies", func(t *testing.T) {
		requireCommand(t, "issue 7", "viz", "stat")
		requireCommand(t, "issue 7", "viz", "routes")
		t.Run("stat and edges", func(t *testing.T) { t.Parallel(); vizShowsDemoTraffic(t) })
		t.Run("routes", func(t *testing.T) { t.Parallel(); vizRoutesShowsDemoRoutes(t) })
		t.Run("tap shows live requests", func(t *testing.T) { t.Parallel(); vizTapShowsLiveRequests(t) })
		t.Run("stat from saved scrapes, offline", func(t *testing.T) { t.Parallel(); offlineStatFromSavedScrapes(t) })
	})

	j.stage("viz install: the in-cluster Prometheus serves stat and routes", func(t *testing.T) {
		vizInstallServesStats(t)
	})

	j.stage("uninstall", func(t *testing.T) {
		// Meshed workloads block uninstall (without --force): remove the demo first.
		if out, err := kubectl(t, "", "delete", "namespace", demoNamespace, "--ignore-not-found", "--wait=true", "--timeout=2m"); err != nil {
			t.Fatalf("delete the demo: %v\n%s", err, out)
		}
		manifest, errOut, code := meshctl(t, "uninstall")
		if code != 0 {
			t.Fatalf("uninstall: %s", errOut)
		}
		if out, err := kubectl(t, manifest, "delete", "--ignore-not-found", "--wait=true", "--timeout=2m", "-f", "-"); err != nil {
			t.Fatalf("kubectl delete: %v\n%s", err, out)
		}
		out, err := kubectl(t, "", "get", "all,configmaps,secrets,serviceaccounts,clusterroles,clusterrolebindings,mutatingwebhookconfigurations,crd", "-A", "-l", "app.kubernetes.io/part-of=meshctl", "-o", "name")
		if err != nil {
			t.Fatalf("list left-overs: %v\n%s", err, out)
		}
		if strings.TrimSpace(out) != "" {
			t.Fatalf("mesh objects left behind after uninstall:\n%s", out)
		}
	})
}

// removeLeftovers deletes what a failed earlier run on the same cluster
// left behind (a failed journey keeps its state for the logs), so that
// the journey starts from a cluster without the mesh.
func removeLeftovers(t *testing.T, ns string) {
	t.Helper()
	if _, err := kubectl(t, "", "-n", ns, "get", "configmap", "meshctl-config"); err != nil {
		return
	}
	t.Logf("removing the mesh a previous run left in %s", ns)
	_, _ = kubectl(t, "", "delete", "namespace", demoNamespace, "--ignore-not-found", "--wait=true", "--timeout=2m")
	manifest, errOut, code := meshctl(t, "uninstall", "--force")
	if code != 0 {
		t.Fatalf("uninstall the leftovers: %s", errOut)
	}
	if out, err := kubectl(t, manifest, "delete", "--ignore-not-found", "--wait=true", "--timeout=2m", "-f", "-"); err != nil {
		t.Fatalf("delete the leftovers: %v\n%s", err, out)
	}
}

// waitControlPlane waits until every control-plane Deployment is available,
// and on timeout says which pods are not ready and why.
func waitControlPlane(t *testing.T, ns string, timeout time.Duration) {
	t.Helper()
	out, err := kubectl(t, "", "-n", ns, "wait", "--for=condition=Available", fmt.Sprintf("--timeout=%s", timeout), "deployment", "--all")
	if err == nil {
		return
	}
	pods, _ := kubectl(t, "", "-n", ns, "get", "pods", "-o", "wide")
	describe, _ := kubectl(t, "", "-n", ns, "describe", "pods")
	events, _ := kubectl(t, "", "-n", ns, "get", "events", "--sort-by=.lastTimestamp")
	t.Fatalf("control plane not available after %s: %v\n%s\n%s\n%s\n%s", timeout, err, out, pods, tail(describe, 120), tail(events, 40))
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
