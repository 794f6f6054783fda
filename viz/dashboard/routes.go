package dashboard

import (
	"net/http"

	"github.com/meshctl/meshctl/viz"
)

// routesResponse is the answer of /api/routes: the rows of `viz routes
// -o json`, server side and client side.
type routesResponse struct {
	// Server are the routes the resource's pods served, as `viz routes
	// RESOURCE`; for a Service, what the pods behind it served for it.
	Server []viz.RouteJSON `json:"server"`
	// Client are the routes the resource's pods called, on every Service
	// of every namespace, as `viz routes RESOURCE --to svc -A` (its
	// EFFECTIVE and ACTUAL numbers differ when the proxies retry); empty
	// for a Service, which sends nothing itself.
	Client []viz.RouteJSON `json:"client"`
	// Notes name the pods that did not answer, whose numbers are missing.
	Notes []string `json:"notes"`
}

// routesRequest reads the query of /api/routes: resource (a workload
// kind, po or svc; default deploy), namespace (empty: all) and name
// (empty: every resource of the kind).
func routesRequest(r *http.Request) (viz.RoutesOptions, error) {
	q := r.URL.Query()
	sel, err := selectionOf(q)
	if err != nil {
		return viz.RoutesOptions{}, err
	}
	if name := q.Get("name"); name != "" {
		sel.Names = []string{name}
	}
	if err := sel.Validate(); err != nil {
		return viz.RoutesOptions{}, err
	}
	opts := viz.RoutesOptions{Selection: sel}
	return opts, opts.Validate()
}

// routes serves /api/routes from a snapshot of the namespace's pods with
// their per-route families.
func (h *Handler) routes(w http.ResponseWriter, r *http.Request) {
	opts, err := routesRequest(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	snap, err := h.snapshot(r.Context(), snapshotKey{namespace: opts.Selection.Namespace, routes: true})
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	server, err := viz.Routes(snap, opts)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	resp := routesResponse{Server: viz.RoutesJSON(server), Client: []viz.RouteJSON{}, Notes: notes(snap)}
	if opts.Selection.Kind != viz.KindService {
		opts.To = &viz.Selection{Kind: viz.KindService}
		client, err := viz.Routes(snap, opts)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		resp.Client = viz.RoutesJSON(client)
	}
	writeJSON(w, resp)
}
