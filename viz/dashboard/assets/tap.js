// meshctl viz dashboard: the tap view of a workload, a live list of the
// requests its proxies sample, newest first, from the /api/tap websocket.
// Every value from a request is escaped (shown) and inserted as text only.
"use strict";

const TAP_MAX_ROWS = 100;
const TAP_MAX_NOTES = 20;

const tap = { socket: null, view: null, rows: new Map() };

const ESCAPES = { "\x07": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v" };

// shown makes a tapped value safe to read, as `viz tap` does: printable
// ASCII without spaces, quotes or backslashes as is, anything else quoted
// with control and non-ASCII characters escaped, so that a request cannot
// forge a cell or reorder text (bidirectional overrides).
function shown(v) {
  const s = v === undefined || v === null ? "" : String(v);
  if (/^[\x21-\x7e]*$/.test(s) && !/["\\]/.test(s)) return s;
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0);
    if (ch === '"' || ch === "\\") out += "\\" + ch;
    else if (ESCAPES[ch]) out += ESCAPES[ch];
    else if (c < 0x20 || c === 0x7f) out += "\\x" + c.toString(16).padStart(2, "0");
    else if (c < 0x7f) out += ch;
    else if (c <= 0xffff) out += "\\u" + c.toString(16).padStart(4, "0");
    else out += "\\U" + c.toString(16).padStart(8, "0");
  }
  return out + '"';
}

function micros(us) {
  if (us < 1000) return us + "µs";
  if (us < 10000) return (us / 1000).toFixed(1) + "ms";
  if (us < 10000000) return Math.round(us / 1000) + "ms";
  return (us / 1000000).toFixed(1) + "s";
}

function tapStatus(text, error) {
  const s = $("tap-status");
  s.textContent = text;
  s.className = error ? "error" : "";
}

function tapNote(text) {
  const notes = $("tap-notes");
  notes.prepend(el("li", {}, text));
  while (notes.children.length > TAP_MAX_NOTES) notes.lastChild.remove();
}

// tapRow returns the row of an exchange, adding it on its request.
function tapRow(ev) {
  const key = ev.stream + ":" + ev.id;
  let tr = tap.rows.get(key);
  if (tr || ev.type !== "req") return tr;
  tr = el("tr", { "data-id": key, "data-pod": ev.pod });
  const time = new Date(ev.time);
  const cells = [
    ["time", isNaN(time) ? "" : time.toLocaleTimeString()],
    ["direction", ev.proxy === "inbound" ? "in" : ev.proxy === "outbound" ? "out" : shown(ev.proxy)],
    ["src", shown(ev.sourcePod || ev.source)],
    ["dst", shown(ev.destinationPod || ev.destination)],
    ["method", shown(ev.method)],
    ["authority", shown(ev.authority)],
    ["path", shown(ev.path)],
    ["status", ""],
    ["latency", ""],
  ];
  for (const [cls, text] of cells) tr.append(el("td", { class: cls }, text));
  tr.cells[6].setAttribute("title", shown(ev.path));
  tr.cells[2].setAttribute("title", shown(ev.source) + (ev.sourceResource ? " " + shown(ev.sourceResource) : ""));
  tr.cells[3].setAttribute("title", shown(ev.destination) + (ev.destinationResource ? " " + shown(ev.destinationResource) : ""));
  const body = $("tap-table").tBodies[0];
  body.prepend(tr);
  tap.rows.set(key, tr);
  while (body.rows.length > TAP_MAX_ROWS) {
    const last = body.rows[body.rows.length - 1];
    tap.rows.delete(last.dataset.id);
    last.remove();
  }
  return tr;
}

function tapEvent(ev) {
  const tr = tapRow(ev);
  if (!tr) return;
  const status = tr.querySelector(".status"), latency = tr.querySelector(".latency");
  if (ev.type === "rsp") {
    status.textContent = String(ev.status || "");
    latency.textContent = micros(ev.latencyMicros || 0);
    if (ev.status >= 500) tr.classList.add("bad");
  } else if (ev.type === "end") {
    if (ev.error) status.textContent = shown(ev.error);
    else if (ev.grpcStatus) status.textContent = "grpc-status " + shown(ev.grpcStatus);
    else if (ev.status) status.textContent = String(ev.status);
    if (!latency.textContent) latency.textContent = micros(ev.durationMicros || 0);
    if (ev.error || ev.status >= 500 || (ev.grpcStatus && ev.grpcStatus !== "0")) tr.classList.add("bad");
    tr.classList.add("done");
  }
}

function stopTap(text) {
  if (tap.socket) {
    tap.socket.onclose = null;
    tap.socket.close(1000);
    tap.socket = null;
  }
  $("tap-toggle").textContent = "Start";
  if (text) tapStatus(text, false);
}

function startTap() {
  const view = tap.view;
  stopTap();
  const url = new URL("api/tap", location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.hash = "";
  url.search = new URLSearchParams({
    resource: view.kind, namespace: view.namespace, name: view.name,
    method: $("tap-method").value, path: $("tap-path").value.trim(), authority: $("tap-authority").value.trim(),
  }).toString();
  const socket = new WebSocket(url);
  tap.socket = socket;
  $("tap-toggle").textContent = "Stop";
  tapStatus("connecting…", false);
  socket.onopen = () => tapStatus("tapping " + view.kind + "/" + view.name + ": waiting for requests", false);
  socket.onmessage = (m) => {
    let msg;
    try {
      msg = JSON.parse(m.data);
    } catch {
      return;
    }
    if (msg.kind === "event") {
      tapEvent(msg.event);
      tapStatus("tapping " + view.kind + "/" + view.name, false);
    } else if (msg.kind === "note") {
      tapNote(msg.text);
    } else if (msg.kind === "end") {
      socket.onclose = null;
      tap.socket = null;
      $("tap-toggle").textContent = "Start";
      tapStatus(msg.text, msg.failed);
    }
  };
  socket.onclose = () => {
    tap.socket = null;
    $("tap-toggle").textContent = "Start";
    tapStatus("the tap connection closed", true);
  };
}

// resetTap stops any tap and clears the list for a new view.
function resetTap(view) {
  stopTap();
  tap.view = view;
  tap.rows.clear();
  $("tap-table").tBodies[0].replaceChildren();
  $("tap-notes").replaceChildren();
  tapStatus("", false);
  const off = view.kind === "service" || view.kind === "namespace";
  $("tap-controls").hidden = off;
  $("tap-table").hidden = off;
  $("tap-off").hidden = !off;
  $("tap-off").textContent = off ? "Tap takes workloads and pods: open the workload behind the Service." : "";
}

document.addEventListener("DOMContentLoaded", () => {
  $("tap-toggle").addEventListener("click", () => (tap.socket ? stopTap("stopped") : startTap()));
  window.addEventListener("pagehide", () => stopTap());
});
