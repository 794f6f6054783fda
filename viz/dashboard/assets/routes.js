// meshctl viz dashboard: a resource's view (#/KIND/NAMESPACE/NAME), whose
// routes tables poll /api/routes: the routes the resource served, and for
// a workload the routes it called, one table per destination Service.
// Data is only ever inserted as text, never HTML.
"use strict";

// Columns of the served routes: `viz routes RESOURCE`.
const SERVER_COLUMNS = [
  ["ROUTE", "route", (r) => r.route],
  ["SERVICE", "service", (r) => r.service],
  ["SUCCESS", "success", (r) => fmt.success(r.success)],
  ["RPS", "rps", (r) => fmt.rps(r.rps)],
  ["LATENCY_P50", "p50", (r) => fmt.ms(r.latency_ms_p50)],
  ["LATENCY_P95", "p95", (r) => fmt.ms(r.latency_ms_p95)],
  ["LATENCY_P99", "p99", (r) => fmt.ms(r.latency_ms_p99)],
];

// Columns of the called routes: `viz routes RESOURCE --to svc -o wide`.
const CLIENT_COLUMNS = [
  ["ROUTE", "route", (r) => r.route],
  ["EFFECTIVE_SUCCESS", "success", (r) => fmt.success(r.success)],
  ["EFFECTIVE_RPS", "rps", (r) => fmt.rps(r.rps)],
  ["ACTUAL_SUCCESS", "success actual", (r) => fmt.success(r.actual_success)],
  ["ACTUAL_RPS", "rps actual", (r) => fmt.rps(r.actual_rps)],
  ["LATENCY_P50", "p50", (r) => fmt.ms(r.latency_ms_p50)],
  ["LATENCY_P95", "p95", (r) => fmt.ms(r.latency_ms_p95)],
  ["LATENCY_P99", "p99", (r) => fmt.ms(r.latency_ms_p99)],
];

// parseView reads #/KIND/NAMESPACE/NAME; null for anything else (the list).
function parseView(hash) {
  const parts = hash.replace(/^#\/?/, "").split("/");
  if (parts.length !== 3) return null;
  try {
    const [kind, namespace, name] = parts.map(decodeURIComponent);
    return kind && namespace && name ? { kind, namespace, name } : null;
  } catch {
    return null;
  }
}

function routesTable(rows, columns, serviceLinks) {
  const table = el("table", { class: "stat routes" });
  const head = el("tr");
  for (const [title] of columns) head.append(el("th", { scope: "col" }, title));
  const thead = el("thead");
  thead.append(head);
  table.append(thead);
  const body = el("tbody");
  for (const r of rows) {
    const tr = el("tr", { "data-route": r.route, "data-service": r.service });
    for (const [, cls, get] of columns) {
      const text = get(r);
      let c = cls;
      if (text === "-") c += " nodata";
      const rate = cls === "success" ? r.success : cls === "success actual" ? r.actual_success : null;
      if (rate !== null && rate < 0.95) c += " bad";
      const td = el("td", { class: c });
      if (cls === "service" && serviceLinks && r.namespace) {
        td.append(el("a", { href: viewHash("service", r.namespace, r.service), title: r.authority }, text));
      } else {
        td.textContent = text;
      }
      tr.append(td);
    }
    body.append(tr);
  }
  table.append(body);
  return table;
}

// noRoutes is the empty state: routes exist only for a Service with a
// ServiceProfile, named after its FQDN.
function noRoutes(what, name, namespace) {
  const p = el("p", { class: "empty" });
  p.append(
    document.createTextNode("No route traffic " + what + " in the window. Routes are recorded only for requests to a Service with a ServiceProfile named "),
    el("code", {}, name + "." + namespace + ".svc.cluster.local"),
    document.createTextNode("; check with "),
    el("code", {}, "kubectl get serviceprofiles " + (namespace === "NAMESPACE" ? "-A" : "-n " + namespace)),
    document.createTextNode("."),
  );
  return p;
}

function renderServerRoutes(view, rows) {
  const body = $("routes-server").querySelector(".body");
  const service = view.kind === "service";
  body.replaceChildren(rows.length > 0
    ? routesTable(rows, SERVER_COLUMNS, !service)
    : noRoutes("served", service ? view.name : "NAME", view.namespace));
}

// renderClientRoutes draws one table per destination Service, in the
// order of the rows (by Service's namespace, then name).
function renderClientRoutes(rows) {
  const body = $("routes-client").querySelector(".body");
  if (rows.length === 0) {
    body.replaceChildren(noRoutes("sent", "NAME", "NAMESPACE"));
    return;
  }
  const groups = new Map();
  for (const r of rows) {
    const key = r.namespace ? r.namespace + "/" + r.service : r.authority;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(r);
  }
  body.replaceChildren();
  for (const [key, group] of groups) {
    const first = group[0];
    const sec = el("section", { class: "destination", "data-service": key });
    const h = el("h4", {}, "→ ");
    if (first.namespace) {
      h.append(el("a", { href: viewHash("service", first.namespace, first.service) }, first.service + "." + first.namespace));
    } else {
      h.append(document.createTextNode(first.authority));
    }
    h.append(el("span", { class: "fqdn" }, first.authority));
    sec.append(h, routesTable(group, CLIENT_COLUMNS, false));
    body.append(sec);
  }
}

// showView prepares the resource view for view (a new one, or the same).
function showView(view) {
  const title = $("resource-title");
  const text = view.kind + "/" + view.name + " in " + view.namespace;
  if (title.textContent === text) return;
  title.textContent = text;
  $("routes-server").querySelector(".body").replaceChildren();
  $("routes-client").querySelector(".body").replaceChildren();
  $("routes-client").hidden = view.kind === "service";
  resetTap(view);
}

// refreshView fetches and renders the routes of view; it returns the
// notes, or null when current() says the page moved on meanwhile.
async function refreshView(view, current) {
  showView(view);
  const resp = await getJSON("api/routes", { resource: view.kind, namespace: view.namespace, name: view.name });
  if (!current()) return null;
  renderServerRoutes(view, resp.server);
  if (view.kind !== "service") renderClientRoutes(resp.client);
  document.body.dataset.routesLoaded = "true";
  return resp.notes;
}
