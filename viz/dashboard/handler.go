package dashboard

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/meshctl/meshctl/viz"
)

//go:embed assets
var assets embed.FS

// DefaultCacheTTL is how long a snapshot answers further requests of the
// same namespace: the page asks for stat and edges together, and several
// tabs must not multiply the scrapes.
const DefaultCacheTTL = 2 * time.Second

// Options configure New.
type Options struct {
	// Source gives the metrics (direct, Prometheus or offline).
	Source viz.Source
	// AllowedHosts are the Host header values served, as host:port (for
	// example 127.0.0.1:50750 and localhost:50750). Required.
	AllowedHosts []string
	// CacheTTL is how long a snapshot is reused (default DefaultCacheTTL).
	CacheTTL time.Duration
	// Tap streams the proxies' tap events for /api/tap (a *viz.Tapper, or
	// one built on first use); nil turns the tap view off, and TapOff then
	// says why.
	Tap Tapper
	// TapOff explains, on the page, why there is no tap when Tap is nil.
	TapOff string
	// TapLimits bound each tap stream and their number (zero fields take
	// their defaults).
	TapLimits TapLimits
	// Now replaces the clock in tests.
	Now func() time.Time
}

// Handler serves the dashboard. Close ends its tap streams, which outlive
// the HTTP server's Shutdown (they are hijacked connections).
type Handler struct {
	opts    Options
	allowed map[string]bool
	mux     *http.ServeMux

	// streams ends every tap stream when cancelled (Close).
	streams context.Context
	cancel  context.CancelFunc
	// tapSlots holds one token per open tap stream.
	tapSlots chan struct{}

	mu    sync.Mutex
	cache map[snapshotKey]*cached
}

// New returns the dashboard handler.
func New(o Options) (*Handler, error) {
	if o.Source == nil {
		return nil, errors.New("dashboard: no metrics source")
	}
	if len(o.AllowedHosts) == 0 {
		return nil, errors.New("dashboard: no allowed hosts: pass the host:port the dashboard is served at")
	}
	if o.CacheTTL <= 0 {
		o.CacheTTL = DefaultCacheTTL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.TapLimits = o.TapLimits.withDefaults()
	h := &Handler{
		opts: o, allowed: map[string]bool{}, mux: http.NewServeMux(), cache: map[snapshotKey]*cached{},
		tapSlots: make(chan struct{}, o.TapLimits.MaxStreams),
	}
	h.streams, h.cancel = context.WithCancel(context.Background())
	for _, host := range o.AllowedHosts {
		h.allowed[strings.ToLower(host)] = true
	}
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		return nil, fmt.Errorf("dashboard assets: %w", err)
	}
	h.mux.Handle("GET /", http.FileServerFS(static))
	h.mux.HandleFunc("GET /api/stat", h.stat)
	h.mux.HandleFunc("GET /api/edges", h.edges)
	h.mux.HandleFunc("GET /api/routes", h.routes)
	h.mux.HandleFunc("GET /api/tap", h.tap)
	return h, nil
}

// Close ends the tap streams; pass it to http.Server.RegisterOnShutdown.
func (h *Handler) Close() { h.cancel() }

// ServeHTTP checks Host, Origin and method, sets the security headers, and
// routes the request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Referrer-Policy", "no-referrer")
	if !h.allowed[strings.ToLower(r.Host)] {
		http.Error(w, fmt.Sprintf("host %q is not served here: open the dashboard at the URL meshctl printed", r.Host), http.StatusMisdirectedRequest)
		return
	}
	if origin := r.Header.Get("Origin"); origin != "" && !h.originAllowed(origin) {
		http.Error(w, fmt.Sprintf("origin %q may not use the dashboard", origin), http.StatusForbidden)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "the dashboard is read-only: GET and HEAD only", http.StatusMethodNotAllowed)
		return
	}
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) originAllowed(origin string) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Scheme == "http" && u.Path == "" && h.allowed[strings.ToLower(u.Host)]
}

// statResponse is the answer of /api/stat.
type statResponse struct {
	Rows []viz.StatJSON `json:"rows"`
	// Notes name the pods that did not answer, whose numbers are missing.
	Notes []string `json:"notes"`
}

// edgesResponse is the answer of /api/edges.
type edgesResponse struct {
	Edges []viz.EdgeJSON `json:"edges"`
	Notes []string       `json:"notes"`
}

// selectionOf reads the selection every API endpoint takes: resource (a
// viz kind, default deploy) and namespace (empty: all; none for
// namespaces themselves), not yet validated.
func selectionOf(q url.Values) (viz.Selection, error) {
	res := q.Get("resource")
	if res == "" {
		res = "deploy"
	}
	kind, err := viz.ParseKind(res)
	if err != nil {
		return viz.Selection{}, err
	}
	sel := viz.Selection{Kind: kind, Namespace: q.Get("namespace")}
	if kind == viz.KindNamespace {
		sel.Namespace = ""
	}
	return sel, nil
}

// request reads the query of /api/stat and /api/edges: the selection of
// selectionOf, services excepted.
func request(r *http.Request) (viz.Selection, error) {
	sel, err := selectionOf(r.URL.Query())
	if err != nil {
		return viz.Selection{}, err
	}
	if sel.Kind == viz.KindService {
		return viz.Selection{}, viz.ErrServiceNotSupported("the dashboard")
	}
	return sel, sel.Validate()
}

func (h *Handler) stat(w http.ResponseWriter, r *http.Request) {
	sel, err := request(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	snap, err := h.snapshot(r.Context(), snapshotKey{namespace: sel.Namespace})
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	rows, err := viz.Stat(snap, viz.StatOptions{Selection: sel})
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	writeJSON(w, statResponse{Rows: viz.StatRowsJSON(rows), Notes: notes(snap)})
}

func (h *Handler) edges(w http.ResponseWriter, r *http.Request) {
	sel, err := request(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	snap, err := h.snapshot(r.Context(), snapshotKey{namespace: sel.Namespace})
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	edges := viz.Edges(snap, viz.EdgesOptions{Selection: sel})
	writeJSON(w, edgesResponse{Edges: viz.EdgesJSON(edges), Notes: notes(snap)})
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(append(b, '\n'))
}
