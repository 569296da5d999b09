// meshcdn publisher analytics: logs in with a publisher API key or the admin secret (kept in
// sessionStorage; `#key=…` in the URL logs in directly), polls GET /v1/analytics and draws the
// aggregates with uPlot. Issues swarm tokens through POST /v1/tokens.
(function () {
  "use strict";
  const POLL_MS = 5000;
  const KEY = "meshcdn-analytics-key";
  const COLOURS = ["#3fb950", "#58a6ff", "#d29922", "#f778ba", "#a371f7", "#79c0ff"];
  const $ = (id) => document.getElementById(id);
  const charts = {};
  let timer = null;

  const fromHash = new URLSearchParams(location.hash.slice(1)).get("key");
  if (fromHash) {
    sessionStorage.setItem(KEY, fromHash);
    history.replaceState(null, "", location.pathname + location.search);
  }

  function formatBytes(n) {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : String(n)) + " " + units[i];
  }
  const pct = (x) => (x * 100).toFixed(1) + "%";
  const num = (x, d = 2) => Number(x).toFixed(d);

  function cell(text, value) {
    const td = document.createElement("td");
    td.textContent = text;
    if (value !== undefined) td.dataset.value = String(value);
    return td;
  }
  function setFigure(id, text, value) {
    $(id).textContent = text;
    $(id).dataset.value = String(value);
  }
  function fillTable(id, rows, empty) {
    const body = document.querySelector(`#${id} tbody`);
    if (!rows.length) {
      const tr = document.createElement("tr");
      const td = cell(empty);
      td.colSpan = document.querySelectorAll(`#${id} thead th`).length;
      tr.append(td);
      body.replaceChildren(tr);
      return;
    }
    body.replaceChildren(...rows.map((cells) => {
      const tr = document.createElement("tr");
      tr.append(...cells);
      return tr;
    }));
  }

  function showLogin(message) {
    clearTimeout(timer);
    $("login").hidden = false;
    $("app").hidden = true;
    $("controls").hidden = true;
    $("login-error").textContent = message || "";
  }

  async function api(path, init = {}) {
    const key = sessionStorage.getItem(KEY);
    if (!key) throw Object.assign(new Error("not logged in"), { login: true });
    const res = await fetch(path, { ...init, cache: "no-store", headers: { ...(init.headers || {}), authorization: "Bearer " + key } });
    if (res.status === 401) {
      sessionStorage.removeItem(KEY);
      throw Object.assign(new Error("the key was refused"), { login: true });
    }
    return res;
  }

  function chart(id, title, series, data, yFormat) {
    const el = $(id);
    const opts = {
      width: Math.max(300, el.clientWidth - 4),
      height: 220,
      scales: { x: { time: true } },
      series: [{}, ...series.map((label, i) => ({ label, stroke: COLOURS[i % COLOURS.length], width: 2, points: { show: true, size: 5 }, spanGaps: true }))],
      axes: [
        { stroke: "#8b98a5", grid: { stroke: "#30363d" } },
        { stroke: "#8b98a5", grid: { stroke: "#30363d" }, size: 70, values: (u, vals) => vals.map(yFormat) },
      ],
      legend: { show: true },
    };
    const key = title + "|" + series.join("|");
    if (charts[id] && charts[id].key === key) {
      charts[id].plot.setData(data);
      return;
    }
    if (charts[id]) charts[id].plot.destroy();
    el.replaceChildren();
    charts[id] = { key, plot: new uPlot(opts, data, el) };
  }

  function renderCharts(report) {
    const times = [...new Set(report.series.map((p) => p.t))].sort((a, b) => a - b);
    const contents = [...new Set(report.series.map((p) => p.content))].sort();
    const at = new Map(report.series.map((p) => [p.t + "\0" + p.content, p]));
    const column = (content, f) => times.map((t) => {
      const p = at.get(t + "\0" + content);
      return p ? f(p) : null;
    });
    chart("chart-offload", "offload", contents, [times, ...contents.map((c) => column(c, (p) => p.offload * 100))], (v) => v.toFixed(0) + "%");
    const bytesSeries = contents.flatMap((c) => [c + " saved", c + " HTTP"]);
    chart("chart-bytes", "bytes", bytesSeries, [times, ...contents.flatMap((c) => [column(c, (p) => p.p2p_bytes), column(c, (p) => p.http_bytes)])], (v) => formatBytes(v));
    chart("chart-viewers", "viewers", contents, [times, ...contents.map((c) => column(c, (p) => p.viewers))], (v) => v.toFixed(1));
    chart("chart-peers", "peers", contents, [times, ...contents.map((c) => column(c, (p) => p.peers_per_viewer))], (v) => v.toFixed(1));
  }

  function render(report) {
    const s = report.streams;
    const http = s.reduce((a, x) => a + x.http_bytes, 0);
    const p2p = s.reduce((a, x) => a + x.p2p_bytes, 0);
    const viewers = s.reduce((a, x) => a + x.current_viewers, 0);
    const viewerHours = s.reduce((a, x) => a + x.quality.viewer_hours, 0);
    const peers = viewerHours > 0 ? s.reduce((a, x) => a + x.peers_per_viewer * x.quality.viewer_hours, 0) / viewerHours : 0;
    setFigure("total-viewers", num(viewers, 1), viewers);
    setFigure("total-offload", pct(http + p2p ? p2p / (http + p2p) : 0), http + p2p ? p2p / (http + p2p) : 0);
    setFigure("total-p2p", formatBytes(p2p), p2p);
    setFigure("total-http", formatBytes(http), http);
    setFigure("total-peers", num(peers, 2), peers);
    fillTable("streams", s.map((x) => [
      cell(x.content),
      cell(num(x.current_viewers, 1), x.current_viewers),
      cell(pct(x.offload), x.offload),
      cell(formatBytes(x.bytes_saved), x.bytes_saved),
      cell(formatBytes(x.http_bytes), x.http_bytes),
      cell(formatBytes(x.uploaded_bytes), x.uploaded_bytes),
      cell(num(x.peers_per_viewer), x.peers_per_viewer),
      cell(x.startup_ms_avg == null ? "–" : Math.round(x.startup_ms_avg) + " ms", x.startup_ms_avg ?? ""),
      cell(num(x.quality_p2p.stalls_per_viewer_hour, 1) + ` (${num(x.quality_p2p.viewer_hours, 3)} h)`, x.quality_p2p.stalls_per_viewer_hour),
      cell(num(x.quality_http_only.stalls_per_viewer_hour, 1) + ` (${num(x.quality_http_only.viewer_hours, 3)} h)`, x.quality_http_only.stalls_per_viewer_hour),
    ]), "no beacons in this window yet");
    fillTable("networks", report.networks.map((n) => [
      cell(n.asn ? "AS" + n.asn : "unknown", n.asn),
      cell(n.country || "–"),
      cell(n.region || "–"),
      cell(pct(n.p2p_share), n.p2p_share),
      cell(formatBytes(n.p2p_bytes), n.p2p_bytes),
      cell(formatBytes(n.http_bytes), n.http_bytes),
      cell(num(n.viewer_hours, 3), n.viewer_hours),
    ]), "no data");
    fillTable("connections", report.connections.map((c) => [
      cell(c.candidate === "none" ? "none (failed before a pair was selected)" : c.candidate), cell(String(c.ok), c.ok), cell(String(c.failed), c.failed), cell(pct(c.success_rate), c.success_rate),
    ]), "no connection attempts reported");
    renderCharts(report);
    $("updated").textContent = "updated " + new Date().toLocaleTimeString();
    document.body.dataset.reportTo = String(report.to);
  }

  async function poll() {
    clearTimeout(timer);
    try {
      const res = await api("/v1/analytics?window_secs=" + $("window").value);
      if (!res.ok) throw new Error((await res.json().catch(() => ({}))).error || "HTTP " + res.status);
      $("login").hidden = true;
      $("app").hidden = false;
      $("controls").hidden = false;
      render(await res.json());
    } catch (e) {
      if (e.login) return showLogin(sessionStorage.getItem(KEY) === null && e.message !== "not logged in" ? e.message : "");
      $("updated").textContent = "analytics unavailable: " + e.message;
    }
    timer = setTimeout(poll, POLL_MS);
  }

  $("login-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(KEY, $("login-key").value.trim());
    poll();
  });
  $("logout").addEventListener("click", () => {
    sessionStorage.removeItem(KEY);
    showLogin("");
  });
  $("window").addEventListener("change", poll);

  $("token-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = new FormData(ev.target);
    const body = { content: form.get("content"), ttl_secs: Number(form.get("ttl_secs")) };
    if (form.get("viewer")) body.viewer = form.get("viewer");
    const out = $("token-result");
    try {
      const res = await api("/v1/tokens", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      out.textContent = res.status + " " + res.statusText + "\n" + (await res.text());
    } catch (e) {
      out.textContent = e.message;
    }
  });

  if (sessionStorage.getItem(KEY)) poll();
  else showLogin("");
})();
