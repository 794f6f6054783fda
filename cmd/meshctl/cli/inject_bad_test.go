package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// badInput is one input inject must reject: exit 1 (or 2), an error that
// names the problem, nothing on stdout, no panic, no hang.
type badInput struct {
	name string
	data []byte
	// wantInErr is a fragment the error must contain (line numbers for
	// malformed YAML).
	wantInErr string
}

const deploy = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    metadata:
      annotations: {}
    spec:
      containers:
        - name: web
          image: web
`

func withSpec(extra string) string {
	return deploy + "      " + strings.ReplaceAll(strings.TrimSpace(extra), "\n", "\n      ") + "\n"
}

func withAnnotation(k, v string) string {
	return strings.Replace(deploy, "annotations: {}", fmt.Sprintf("annotations: {%q: %q}", k, v), 1)
}

func badInputs() []badInput {
	var bad []badInput
	add := func(name, data, want string) { bad = append(bad, badInput{name, []byte(data), want}) }

	// Malformed YAML: the error names the line.
	add("unclosed double quote", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: \"web\n", "line ")
	add("unclosed single quote", "apiVersion: v1\nkind: 'Pod\n", "line ")
	add("unclosed flow sequence", "a: [1, 2\nb: 3\n", "line ")
	add("unclosed flow mapping", "a: {b: 1\n", "line ")
	add("mapping in scalar", "a: b: c\n", "line 1")
	add("stray bracket", "a: ]\n", "line 1")
	add("undefined alias", "a: *nothing\n", "")
	add("mis-indented metadata", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n namespace: y\n", "line 4")
	add("sequence then mapping", "- a\nb: c\n", "line ")
	add("bad directive", "%YAML 9.9\n---\na: 1\n", "")
	add("second document malformed", "apiVersion: v1\nkind: ConfigMap\n---\na: b: c\n", "document 2 (line 4)")
	add("third document malformed after empty", "---\n---\nkind: X\n---\nx: [\n", "line 5")
	add("bad block scalar", "a: |x\n  b\n", "line ")
	add("tab in flow", "a: {b:\t[}\n", "")
	add("unterminated quoted key", "\"a: 1\n", "")
	add("colon in plain key start", "? - a\n  - b\n: c\nd: [\n", "line ")
	for i, tab := range []string{
		"apiVersion: v1\nkind: Pod\nmetadata:\n\tname: web\n",
		"apiVersion: v1\n\tkind: Pod\n",
		withSpec("hostNetwork: false") + "\t\t- name: x\n",
		"a:\n  b:\n\t  c: 1\n",
		"items:\n- a\n\t- b\n",
	} {
		add(fmt.Sprintf("tab indentation %d", i), tab, "line ")
	}
	// Duplicate keys, at every level.
	add("duplicate top key", "apiVersion: v1\nkind: Pod\nkind: Service\n", `duplicate key "kind"`)
	add("duplicate metadata", "apiVersion: v1\nkind: Pod\nmetadata: {}\nmetadata: {}\n", "line 4")
	add("duplicate name", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  name: b\n", `duplicate key "name"`)
	add("duplicate in container", withSpec("hostNetwork: false")[:len(deploy)-1]+"\n          image: again\n", "duplicate key")
	add("duplicate annotation", strings.Replace(deploy, "annotations: {}", "annotations: {a: x, a: y}", 1), "duplicate key")
	add("duplicate in flow", "{\"kind\": \"Pod\", \"kind\": \"Pod\"}\n", "duplicate key")
	add("merge key with a null", "<< :\n", `merge key "<<" needs a map`)
	add("merge key with a scalar list", "apiVersion: v1\nkind: Pod\n<<: [a, b]\n", `merge key "<<" needs a map`)
	add("duplicate in list item", "apiVersion: v1\nkind: List\nitems:\n  - kind: Pod\n    kind: Pod\n", "duplicate key")
	add("duplicate in non-workload", "apiVersion: v1\nkind: ConfigMap\ndata:\n  a: 1\n  a: 2\n", "duplicate key")
	// Alias bombs and deep nesting.
	bomb := "a: &a [x,x,x,x,x,x,x,x,x,x]\n"
	prev := "a"
	for _, l := range "bcdefghij" {
		bomb += fmt.Sprintf("%c: &%c [%s]\n", l, l, strings.TrimSuffix(strings.Repeat("*"+prev+",", 10), ","))
		prev = string(l)
	}
	add("alias bomb", bomb, "alias")
	add("alias bomb in a deployment", deploy+"      x: &x0 [a,a,a,a,a,a,a,a,a,a]\n"+aliasLevels(), "alias")
	add("flow nesting 10000", strings.Repeat("[", 10000)+strings.Repeat("]", 10000)+"\n", "nesting")
	add("flow map nesting 10000", strings.Repeat("{a: ", 10000)+"1"+strings.Repeat("}", 10000)+"\n", "nesting")
	add("nesting in a deployment", withSpec("x: "+strings.Repeat("[", 2000)+strings.Repeat("]", 2000)), "nesting")
	// Not UTF-8, binary.
	for i, b := range []string{"\xff", "\xc3\x28", "\xc0\xaf", "\xed\xa0\x80", "\xe2\x82", "\xf8\x88\x80\x80\x80", "\x80", "\xfe"} {
		add(fmt.Sprintf("invalid UTF-8 %d", i), "apiVersion: v1\nkind: ConfigMap\ndata:\n  k: \""+b+"\"\n", "line 4")
	}
	add("UTF-16 LE", "\xff\xfea\x00:\x00 \x00b\x00\n\x00", "UTF-16")
	add("UTF-16 BE", "\xfe\xff\x00a\x00:\x00 \x00b\x00\n", "UTF-16")
	for i, pos := range []int{0, 5, len(deploy) / 2, len(deploy) - 1} {
		add(fmt.Sprintf("NUL byte %d", i), deploy[:pos]+"\x00"+deploy[pos:], "NUL")
	}
	add("huge malformed line", "a: ["+strings.Repeat("x,", 4<<20)+"\n", "too large")
	add("huge list of scalars", "a:\n"+strings.Repeat("- x\n", 2<<20), "too large")
	// Workloads that must not be meshed: the error names the resource.
	add("hostNetwork deployment", withSpec("hostNetwork: true"), "deployment/web")
	add("hostNetwork pod", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostNetwork: true\n  containers: [{name: a, image: a}]\n", "pod/p")
	add("hostNetwork in list", "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: q}\n  spec: {hostNetwork: true, containers: [{name: a}]}\n", "item 1")
	add("hostNetwork cronjob", "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec: {hostNetwork: true, containers: [{name: a}]}\n", "cronjob/c")
	add("hostNetwork second of three", "kind: ConfigMap\napiVersion: v1\n---\n"+withSpec("hostNetwork: true")+"---\nkind: Secret\napiVersion: v1\n", "document 2")
	for _, c := range []string{"istio-proxy", "linkerd-proxy", "kuma-sidecar", "envoy", "consul-dataplane", "envoy-sidecar"} {
		add("sidecar "+c, deploy+"        - name: "+c+"\n          image: x\n", c)
	}
	for _, c := range []string{"istio-init", "linkerd-init", "kuma-init", "osm-init"} {
		add("init container "+c, withSpec("initContainers: [{name: "+c+", image: x}]"), c)
	}
	for _, img := range []string{"docker.io/istio/proxyv2:1.22", "cr.l5d.io/linkerd/proxy:edge-24.1.1", "kumahq/kuma-dp:2.7", "envoyproxy/envoy:v1.30"} {
		add("sidecar image "+img, deploy+"        - name: helper\n          image: "+img+"\n", "image "+img)
	}
	add("automount false", withSpec("automountServiceAccountToken: false"), "automountServiceAccountToken")
	add("automount false pod", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {automountServiceAccountToken: false, containers: [{name: a}]}\n", "pod/p")
	// Invalid pod templates and annotations.
	add("containers is a string", strings.Replace(deploy, "containers:\n        - name: web\n          image: web", "containers: web", 1), "invalid pod template")
	add("spec is a list", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec: []\n", "invalid pod template")
	add("template is a number", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template: 5\n", "template is not a mapping")
	add("no template", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {replicas: 1}\n", "no pod template")
	add("no pod spec", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {template: {metadata: {}}}\n", "no spec")
	add("cronjob without jobTemplate", "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec: {schedule: x}\n", "jobTemplate")
	add("annotations is a list", strings.Replace(deploy, "annotations: {}", "annotations: [a]", 1), "invalid pod template")
	add("annotation is a bool", strings.Replace(deploy, "annotations: {}", "annotations: {meshctl.io/inject: true}", 1), "invalid pod template")
	add("labels is a string", strings.Replace(deploy, "annotations: {}", "labels: x", 1), "invalid pod template")
	add("template via alias", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nx: &t {spec: {containers: [{name: a}]}}\nspec:\n  template: *t\n", "alias")
	for _, a := range [][2]string{
		{"admin-port", "0"}, {"admin-port", "70000"}, {"inbound-port", "abc"}, {"outbound-port", "-1"}, {"control-port", "1.5"},
		{"proxy-uid", "-3"}, {"proxy-uid", "root"}, {"proxy-cpu-request", "lots"}, {"proxy-memory-limit", "1 GB"},
		{"opaque-ports", "x-y"}, {"skip-inbound-ports", "80-70"}, {"skip-outbound-ports", "99999"}, {"proxy-await", "maybe"},
		{"proxy-log-format", "xml"}, {"image-pull-policy", "Sometimes"}, {"default-inbound-policy", "allow-all"},
		{"proxy-enable-native-sidecar", "yes"}, {"proxy-image", " "}, {"proxy-log-level", "a\nb"},
	} {
		add("annotation "+a[0]+"="+a[1], withAnnotation("config.meshctl.io/"+a[0], a[1]), "config.meshctl.io/"+a[0])
	}
	add("namespace annotation invalid", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  annotations: {config.meshctl.io/admin-port: \"0\"}\n---\n"+strings.Replace(deploy, "name: web\n", "name: web\n  namespace: shop\n", 1), "config.meshctl.io/admin-port")
	return bad
}

// aliasLevels builds alias levels x1..x8, each ten times the last.
func aliasLevels() string {
	var b strings.Builder
	for i := 1; i <= 8; i++ {
		fmt.Fprintf(&b, "      x%d: &x%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*x%d,", i-1), 10), ","))
	}
	return b.String()
}

// TestInjectBadInputs feeds every bad input to inject and uninject, from a
// file and from stdin.
func TestInjectBadInputs(t *testing.T) {
	bad := badInputs()
	if len(bad) < 100 {
		t.Fatalf("only %d bad inputs", len(bad))
	}
	dir := t.TempDir()
	for i, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprintf("bad%03d.yaml", i))
			if err := os.WriteFile(path, b.data, 0o600); err != nil {
				t.Fatal(err)
			}
			r := runBounded(t, "inject --ignore-cluster "+path, nil)
			checkRejected(t, r, b.wantInErr)
			r = runBounded(t, "inject --manual --ignore-cluster -o json -", b.data)
			checkRejected(t, r, b.wantInErr)
		})
	}
}

// TestInjectBadSources covers arguments that are not readable manifests.
func TestInjectBadSources(t *testing.T) {
	dir := t.TempDir()
	loop := filepath.Join(dir, "loop.yaml")
	if err := os.Symlink(loop, loop); err != nil {
		t.Fatal(err)
	}
	loopDir := filepath.Join(dir, "loopdir")
	if err := os.MkdirAll(loopDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(loopDir, filepath.Join(loopDir, "self")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(loopDir, "ok.yaml"), []byte("kind: ConfigMap\napiVersion: v1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dangling := filepath.Join(dir, "dangling")
	if err := os.MkdirAll(dangling, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "missing"), filepath.Join(dangling, "x.yaml")); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, bytes.Repeat([]byte("# padding\n"), 7<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ args, want string }{
		{"http://example.com/app.yaml", "only https:// URLs"},
		{"HTTP://example.com/app.yaml", "only https:// URLs"},
		{"ftp://example.com/app.yaml", "unsupported URL scheme"},
		{filepath.Join(dir, "nope.yaml"), "no such file"},
		{loop, "too many levels of symbolic links"},
		{dangling, "x.yaml"},
		{big + " " + big, "larger than 64 MiB"},
	} {
		t.Run(c.args, func(t *testing.T) {
			checkRejected(t, runBounded(t, "inject --ignore-cluster "+c.args, nil), c.want)
		})
	}
	t.Run("symlinked directory is not followed", func(t *testing.T) {
		r := runBounded(t, "inject --ignore-cluster "+loopDir, nil)
		if r.code != 0 || !strings.Contains(r.stderr, `configmap "" skipped`) {
			t.Errorf("code %d stderr %s", r.code, r.stderr)
		}
	})
	if os.Getuid() != 0 {
		t.Run("unreadable file", func(t *testing.T) {
			p := filepath.Join(dir, "secret.yaml")
			if err := os.WriteFile(p, []byte("a: 1\n"), 0o000); err != nil {
				t.Fatal(err)
			}
			checkRejected(t, runBounded(t, "inject --ignore-cluster "+p, nil), "permission denied")
		})
	}
}

// TestInjectEmptyStdin: empty input is valid and gives empty output.
func TestInjectEmptyStdin(t *testing.T) {
	for in, want := range map[string]string{"": "", "\n": "", "---\n": "", "# just a comment\n": "# just a comment\n"} {
		r := runBounded(t, "inject --ignore-cluster -", []byte(in))
		if r.code != 0 || r.stdout != want {
			t.Errorf("input %q: code %d stdout %q stderr %q", in, r.code, r.stdout, r.stderr)
		}
	}
}

func checkRejected(t *testing.T, r result, want string) {
	t.Helper()
	if r.code != ExitFailure {
		t.Errorf("exit code %d, want %d (stderr %q)", r.code, ExitFailure, truncate(r.stderr))
	}
	if r.stdout != "" {
		t.Errorf("stdout is not empty: %q", truncate(r.stdout))
	}
	if !strings.HasPrefix(r.stderr, "Error: ") || !strings.Contains(r.stderr, want) {
		t.Errorf("stderr %q does not contain %q", truncate(r.stderr), want)
	}
}

func truncate(s string) string {
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}

// runBounded runs the tree with stdin, failing on a hang or on more than
// 1 GiB allocated. The slowest bad input takes about a second alone; the
// hang bound is 30 s so that a loaded 2-core CI machine does not fail it.
func runBounded(t *testing.T, args string, stdin []byte) result {
	t.Helper()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	before := ms.TotalAlloc
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	streams.In = bytes.NewReader(stdin)
	done := make(chan result, 1)
	go func() { done <- runWith(t, streams, out, errOut, args) }()
	select {
	case r := <-done:
		runtime.ReadMemStats(&ms)
		if alloc := ms.TotalAlloc - before; alloc > 1<<30 {
			t.Errorf("allocated %d MiB", alloc>>20)
		}
		return r
	case <-time.After(30 * time.Second):
		t.Fatalf("inject %s hung (no answer in 30 s)", args)
		return result{}
	}
}
