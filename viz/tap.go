package viz

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tapapi "github.com/meshctl/meshctl/pkg/api/tap"
	"github.com/meshctl/meshctl/pkg/kube"
	"github.com/meshctl/meshctl/pkg/meshapi"
)

// Defaults of Tapper.
const (
	// DefaultTapMaxPods bounds the pods tapped at once (one stream each,
	// through the API server).
	DefaultTapMaxPods = 100
	// DefaultTapOpenTimeout bounds the opening of each pod's stream (until
	// the proxy answers with its headers); the stream itself has no end.
	DefaultTapOpenTimeout = 10 * time.Second
	// maxTapLine bounds one event line read from a proxy.
	maxTapLine = 64 << 10
)

// TapQuery says what to tap.
type TapQuery struct {
	// Selection picks the pods whose proxies are tapped.
	Selection Selection
	// To, when set, keeps only the tapped pods' outbound requests to the
	// pods it selects (matched by their IPs).
	To *Selection
	// Filter carries the method, path prefix, authority and max RPS sent
	// to every proxy; the Tapper fills in Direction and ToAddrs from To.
	Filter tapapi.Request
}

// TapEvent is one event of a tapped pod's proxy.
type TapEvent struct {
	// Stream numbers the tapped pod (its index in the order streams
	// opened); with Event.ID it names the exchange ("stream:id").
	Stream int `json:"stream"`
	// Pod is the tapped pod, "namespace/name".
	Pod string `json:"pod"`
	// SourcePod and DestinationPod name the pods at the event's addresses
	// when known ("name", or "namespace/name" in another namespace).
	SourcePod      string `json:"sourcePod,omitempty"`
	DestinationPod string `json:"destinationPod,omitempty"`
	// SourceResource and DestinationResource are those pods' workloads
	// ("deployment/web", or "pod/name" for a bare pod), and
	// SourceNamespace and DestinationNamespace their namespaces, when
	// known: what tap -o wide prints as src_res, dst_res, src_ns, dst_ns.
	SourceResource       string `json:"sourceResource,omitempty"`
	DestinationResource  string `json:"destinationResource,omitempty"`
	SourceNamespace      string `json:"sourceNamespace,omitempty"`
	DestinationNamespace string `json:"destinationNamespace,omitempty"`
	tapapi.Event
}

// OpenTapFunc opens a tap stream to pod's proxy with the request body.
type OpenTapFunc func(ctx context.Context, kube kube.Clientset, p Pod, token string, body []byte) (io.ReadCloser, error)

// Tapper streams the tap events of the selected pods' proxies, merged. It
// needs RBAC to list pods and to create pods/proxy, and the tap token.
type Tapper struct {
	// Kube lists pods and reaches the proxies. Its client must have no
	// overall request timeout: streams last until ctx ends.
	Kube kube.Clientset
	// Token is the tap token the proxies check.
	Token string
	// MaxPods bounds the pods tapped (default DefaultTapMaxPods); a larger
	// selection is refused, so that a tap never fans out unbounded.
	MaxPods int
	// OpenTimeout bounds the opening of each stream (default DefaultTapOpenTimeout).
	OpenTimeout time.Duration
	// Open opens one stream; nil means through the API server's pod proxy
	// (OpenPodProxyTap).
	Open OpenTapFunc
}

// OpenPodProxyTap POSTs the tap request to the pod's control port (4190)
// through the API server's pod proxy subresource.
func OpenPodProxyTap(ctx context.Context, kube kube.Clientset, p Pod, token string, body []byte) (io.ReadCloser, error) {
	return kube.CoreV1().RESTClient().Post().
		Namespace(p.Namespace).Resource("pods").SubResource("proxy").
		Name("http:"+p.Name+":"+strconv.Itoa(meshapi.ProxyControlPort)).Suffix(tapapi.Path).
		SetHeader(tapapi.HeaderToken, token).SetHeader("Content-Type", "application/json").
		Body(body).Stream(ctx)
}

// Run taps the selected pods until ctx ends or every stream has ended.
// Events are passed to emit one at a time, in arrival order; notes (a pod
// that could not be tapped, events a proxy dropped) go to note. Run fails
// when no pod is selected or none could be tapped.
func (t *Tapper) Run(ctx context.Context, q TapQuery, emit func(TapEvent), note func(string)) error {
	pods, targets, err := t.pods(ctx, q)
	if err != nil {
		return err
	}
	req := q.Filter
	if q.To != nil {
		req.Direction = tapapi.DirectionOutbound
		for _, p := range pods {
			if _, ok := q.To.ResourceOf(p); ok && p.IP != "" {
				req.ToAddrs = append(req.ToAddrs, p.IP)
			}
		}
		if len(req.ToAddrs) == 0 {
			return fmt.Errorf("--to selects no pod with an IP in namespace %q: check its name and --to-namespace", q.To.Namespace)
		}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	names := podNames(pods)
	var (
		mu     sync.Mutex
		opened int
		wg     sync.WaitGroup
		errs   = make([]error, len(targets))
	)
	deliver := func(ev TapEvent) {
		mu.Lock()
		defer mu.Unlock()
		ev.SourcePod = names.name(ev.Source, ev.Pod)
		ev.DestinationPod = names.name(ev.Destination, ev.Pod)
		if p := names.lookup(ev.Source); p != nil {
			ev.SourceResource, ev.SourceNamespace = p.Workload().String(), p.Namespace
		}
		if p := names.lookup(ev.Destination); p != nil {
			ev.DestinationResource, ev.DestinationNamespace = p.Workload().String(), p.Namespace
		}
		emit(ev)
	}
	for i, p := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rc, err := t.open(ctx, p, body)
			if err != nil {
				errs[i] = err
				if ctx.Err() == nil {
					mu.Lock()
					note(fmt.Sprintf("pod %s/%s could not be tapped: %v", p.Namespace, p.Name, err))
					mu.Unlock()
				}
				return
			}
			mu.Lock()
			opened++
			mu.Unlock()
			defer rc.Close()
			err = readTap(ctx, rc, i, p, deliver, func(s string) { mu.Lock(); note(s); mu.Unlock() })
			if err != nil && ctx.Err() == nil {
				mu.Lock()
				note(fmt.Sprintf("tap of pod %s/%s ended: %v", p.Namespace, p.Name, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if opened == 0 && ctx.Err() == nil {
		return fmt.Errorf("no pod could be tapped: %w (is tap enabled on the proxies, and is the token right? see docs/viz.md#tap)", errors.Join(errs...))
	}
	return nil
}

// pods lists the pods of the selection's (and --to's) namespaces and
// returns them and the meshed running ones to tap.
func (t *Tapper) pods(ctx context.Context, q TapQuery) (all, targets []Pod, err error) {
	namespaces := []string{q.Selection.Namespace}
	if q.To != nil && q.To.Namespace != q.Selection.Namespace {
		namespaces = append(namespaces, q.To.Namespace)
	}
	if q.Selection.Kind == KindNamespace || q.Selection.Namespace == "" || q.To != nil && q.To.Namespace == "" {
		namespaces = []string{""}
	}
	own := newOwners(t.Kube)
	for _, ns := range namespaces {
		list, err := t.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, nil, fmt.Errorf("list pods in namespace %q: %w (check the kubeconfig context and that you may list pods)", ns, err)
		}
		for i := range list.Items {
			kp := &list.Items[i]
			if kp.Status.Phase != corev1.PodRunning {
				continue
			}
			p := own.pod(ctx, kp)
			all = append(all, p)
			if _, ok := q.Selection.ResourceOf(p); ok && p.Meshed {
				targets = append(targets, p)
			}
		}
	}
	if len(targets) == 0 {
		return nil, nil, fmt.Errorf("no running meshed pod matches the selection: check the resource name, -n and -l, and that the pods are injected")
	}
	if limit := t.maxPods(); len(targets) > limit {
		return nil, nil, fmt.Errorf("the selection has %d meshed pods, more than %d to tap at once: narrow it with a name or -l", len(targets), limit)
	}
	return all, targets, nil
}

func (t *Tapper) open(ctx context.Context, p Pod, body []byte) (io.ReadCloser, error) {
	open := t.Open
	if open == nil {
		open = OpenPodProxyTap
	}
	// The stream lives as long as ctx; only its opening is bounded.
	octx, cancel := context.WithCancel(ctx)
	timer := time.AfterFunc(t.openTimeout(), cancel)
	rc, err := open(octx, t.Kube, p, t.Token, body)
	if !timer.Stop() {
		if rc != nil {
			_ = rc.Close()
		}
		cancel()
		return nil, fmt.Errorf("no answer from the proxy's tap port %d within %s", meshapi.ProxyControlPort, t.openTimeout())
	}
	if err != nil {
		cancel()
		return nil, fmt.Errorf("tap port %d (through the API server): %w", meshapi.ProxyControlPort, err)
	}
	return &cancelCloser{ReadCloser: rc, cancel: cancel}, nil
}

type cancelCloser struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelCloser) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// readTap decodes one stream's lines until it ends.
func readTap(ctx context.Context, r io.Reader, stream int, p Pod, emit func(TapEvent), note func(string)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxTapLine)
	pod := p.Namespace + "/" + p.Name
	for sc.Scan() {
		if ctx.Err() != nil {
			return nil
		}
		var ev tapapi.Event
		if err := json.Unmarshal(bytes.TrimSpace(sc.Bytes()), &ev); err != nil {
			return fmt.Errorf("malformed event from the proxy: %w", err)
		}
		if ev.Type == tapapi.TypeDropped {
			note(fmt.Sprintf("the proxy of pod %s dropped %d events: the tap is read too slowly (lower --max-rps)", pod, ev.Dropped))
			continue
		}
		emit(TapEvent{Stream: stream, Pod: pod, Event: ev})
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}

func (t *Tapper) maxPods() int {
	if t.MaxPods > 0 {
		return t.MaxPods
	}
	return DefaultTapMaxPods
}

func (t *Tapper) openTimeout() time.Duration {
	if t.OpenTimeout > 0 {
		return t.OpenTimeout
	}
	return DefaultTapOpenTimeout
}

// podNameIndex names pods by IP; IPs several pods share (hostNetwork) name
// none.
type podNameIndex map[netip.Addr]*Pod

func podNames(pods []Pod) podNameIndex {
	idx := podNameIndex{}
	for i := range pods {
		a, err := netip.ParseAddr(pods[i].IP)
		if err != nil {
			continue
		}
		if _, dup := idx[a]; dup {
			idx[a] = nil
			continue
		}
		idx[a] = &pods[i]
	}
	return idx
}

// lookup returns the pod at addr ("ip:port"), nil when unknown.
func (idx podNameIndex) lookup(addr string) *Pod {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil
	}
	return idx[ap.Addr().Unmap()]
}

// name returns the pod at addr ("ip:port"), as "name" when it is in the
// tapped pod's namespace, else "namespace/name"; "" when unknown.
func (idx podNameIndex) name(addr, tapped string) string {
	p := idx.lookup(addr)
	if p == nil {
		return ""
	}
	if ns, _, _ := strings.Cut(tapped, "/"); ns == p.Namespace {
		return p.Name
	}
	return p.Namespace + "/" + p.Name
}
