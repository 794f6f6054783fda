// meshctl viz dashboard: the router. The address says the view: #/ (or
// nothing) the list of workloads, #/KIND/NAMESPACE/NAME a resource's
// routes and tap. The shown view is polled every REFRESH_MS.
"use strict";

let timer = null;
let generation = 0;

async function refresh() {
  clearTimeout(timer);
  const gen = ++generation;
  const current = () => gen === generation;
  const view = parseView(location.hash);
  $("list").hidden = view !== null;
  $("resource-view").hidden = view === null;
  const status = $("status");
  try {
    const notes = view ? await refreshView(view, current) : await refreshList(current);
    if (notes === null) return; // a newer refresh took over
    $("notes").replaceChildren(...[...new Set(notes)].map((n) => el("li", {}, n)));
    status.textContent = "updated " + new Date().toLocaleTimeString();
    status.className = "";
    document.body.dataset.loaded = "true";
  } catch (err) {
    if (!current()) return;
    status.textContent = String(err.message || err);
    status.className = "error";
  }
  timer = setTimeout(refresh, REFRESH_MS);
}

document.addEventListener("DOMContentLoaded", () => {
  const toList = () => (location.hash.length > 2 ? (location.hash = "#/") : refresh());
  $("namespace").addEventListener("change", toList);
  $("resource").addEventListener("change", toList);
  window.addEventListener("hashchange", () => {
    if (parseView(location.hash) === null) stopTap();
    refresh();
  });
  refresh();
});
