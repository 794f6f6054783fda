// meshctl viz dashboard: the shared helpers, and the list view, which polls
// /api/stat and /api/edges and renders them. Data is only ever inserted as
// text (textContent, attributes), never HTML.
"use strict";

const REFRESH_MS = 5000;
const SVG = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);

function el(tag, attrs, text) {
  const e = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

const fmt = {
  success: (v) => (v === null ? "-" : (v * 100).toFixed(2) + "%"),
  rps: (v) => (v === null ? "-" : v.toFixed(1)),
  ms: (v) => (v === null ? "-" : +v.toFixed(1) + "ms"),
  int: (v) => (v === null ? "-" : String(Math.round(v))),
};

const COLUMNS = [
  ["NAME", "name", (r) => r.name],
  ["MESHED", "meshed", (r) => r.meshed],
  ["SUCCESS", "success", (r) => fmt.success(r.success)],
  ["RPS", "rps", (r) => fmt.rps(r.rps)],
  ["LATENCY_P50", "p50", (r) => fmt.ms(r.latency_ms_p50)],
  ["LATENCY_P95", "p95", (r) => fmt.ms(r.latency_ms_p95)],
  ["LATENCY_P99", "p99", (r) => fmt.ms(r.latency_ms_p99)],
  ["TCP_CONN", "tcp", (r) => fmt.int(r.tcp_open_connections)],
];

// viewHash is the address of a resource's view: #/KIND/NAMESPACE/NAME.
function viewHash(kind, namespace, name) {
  return "#/" + [kind, namespace, name].map(encodeURIComponent).join("/");
}

async function getJSON(path, params) {
  const q = new URLSearchParams(params).toString();
  const resp = await fetch(path + "?" + q, { headers: { Accept: "application/json" } });
  if (!resp.ok) throw new Error(path + ": " + (await resp.text()).trim());
  return resp.json();
}

function renderStats(rows) {
  const root = $("stats");
  root.replaceChildren();
  if (rows.length === 0) {
    root.append(el("p", { class: "empty" }, "No meshed resources of this type."));
    return;
  }
  const byNS = new Map();
  for (const r of rows) {
    if (!byNS.has(r.namespace)) byNS.set(r.namespace, []);
    byNS.get(r.namespace).push(r);
  }
  for (const [ns, nsRows] of [...byNS].sort((a, b) => a[0].localeCompare(b[0]))) {
    const sec = el("section", { class: "ns", "data-namespace": ns });
    sec.append(el("h2", {}, ns));
    const table = el("table", { class: "stat" });
    const head = el("tr");
    for (const [title] of COLUMNS) head.append(el("th", { scope: "col" }, title));
    const thead = el("thead");
    thead.append(head);
    table.append(thead);
    const body = el("tbody");
    for (const r of nsRows) {
      const tr = el("tr", { "data-name": r.name, "data-kind": r.kind });
      for (const [, cls, get] of COLUMNS) {
        const text = get(r);
        let c = cls;
        if (text === "-") c += " nodata";
        if (cls === "success" && r.success !== null && r.success < 0.95) c += " bad";
        const td = el("td", { class: c });
        if (cls === "name" && r.kind !== "namespace") {
          td.append(el("a", { href: viewHash(r.kind, r.namespace, r.name), title: "routes and live requests" }, text));
        } else {
          td.textContent = text;
        }
        tr.append(td);
      }
      body.append(tr);
    }
    table.append(body);
    sec.append(table);
    root.append(sec);
  }
}

function renderGraph(edges) {
  const nodes = new Map();
  const id = (name, ns) => (ns ? ns + "/" + name : name);
  for (const e of edges) {
    nodes.set(id(e.src, e.src_namespace), { label: e.src, ns: e.src_namespace, external: false });
    const d = id(e.dst, e.dst_namespace);
    if (!nodes.has(d)) nodes.set(d, { label: e.dst, ns: e.dst_namespace, external: !e.dst_namespace });
  }
  const keys = [...nodes.keys()].sort();
  const cx = 400, cy = 240, radius = keys.length > 1 ? 180 : 0;
  keys.forEach((k, i) => {
    const a = (2 * Math.PI * i) / keys.length - Math.PI / 2;
    Object.assign(nodes.get(k), { x: cx + radius * Math.cos(a), y: cy + radius * Math.sin(a) });
  });
  const gEdges = $("edges"), gNodes = $("nodes");
  gEdges.replaceChildren();
  gNodes.replaceChildren();
  const R = 26;
  for (const e of edges) {
    const s = nodes.get(id(e.src, e.src_namespace)), d = nodes.get(id(e.dst, e.dst_namespace));
    const len = Math.hypot(d.x - s.x, d.y - s.y) || 1;
    const ux = (d.x - s.x) / len, uy = (d.y - s.y) / len;
    const kind = e.secured ? "secured" : "plaintext";
    const g = el("svg:g", {
      class: "edge " + kind,
      "data-src": id(e.src, e.src_namespace),
      "data-dst": id(e.dst, e.dst_namespace),
      "data-secured": String(e.secured),
    });
    g.append(el("svg:line", {
      x1: s.x + ux * R, y1: s.y + uy * R, x2: d.x - ux * R, y2: d.y - uy * R,
      "marker-end": "url(#arrow-" + kind + ")",
    }));
    const why = e.secured ? "mTLS: " + (e.client_id || "?") + " → " + (e.server_id || "?") : "plaintext: " + (e.no_tls_reason || "unknown reason");
    g.append(el("svg:title", {}, why));
    if (!e.secured) {
      g.append(el("svg:text", { x: (s.x + d.x) / 2, y: (s.y + d.y) / 2 - 6, "text-anchor": "middle", class: "reason" }, e.no_tls_reason || "plaintext"));
    }
    gEdges.append(g);
  }
  for (const k of keys) {
    const n = nodes.get(k);
    const g = el("svg:g", { class: "node" + (n.external ? " external" : ""), "data-id": k });
    g.append(el("svg:circle", { cx: n.x, cy: n.y, r: R }));
    // Labels sit outside the circle, away from the centre the edges cross.
    g.append(el("svg:text", { x: n.x, y: n.y < cy - 1 ? n.y - R - 8 : n.y + R + 14 }, n.label));
    if (n.ns) g.append(el("svg:title", {}, k));
    gNodes.append(g);
  }
  $("topology").classList.toggle("empty", edges.length === 0);
}

function renderNamespaces(rows) {
  const sel = $("namespace");
  const current = sel.value;
  const names = rows.map((r) => r.name).sort();
  const have = [...sel.options].slice(1).map((o) => o.value);
  if (names.join() === have.join()) return;
  sel.replaceChildren(el("option", { value: "" }, "all namespaces"));
  for (const n of names) sel.append(el("option", { value: n }, n));
  sel.value = names.includes(current) ? current : "";
}

// refreshList fetches and renders the list view; it returns the notes, or
// null when current() says the page moved on meanwhile.
async function refreshList(current) {
  const params = { resource: $("resource").value, namespace: $("namespace").value };
  const [nsResp, stat, edges] = await Promise.all([
    getJSON("api/stat", { resource: "ns" }),
    getJSON("api/stat", params),
    getJSON("api/edges", params),
  ]);
  if (!current()) return null;
  renderNamespaces(nsResp.rows);
  renderStats(stat.rows);
  renderGraph(edges.edges);
  return [...stat.notes, ...edges.notes];
}
