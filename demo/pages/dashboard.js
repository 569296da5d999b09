// Publisher dashboard: polls /api/stats (the edge tracker's swarm stats, the origin plugin's
// stats, the viewers' beacons and the server-kept history for the chart), and issues tokens
// through POST /v1/tokens.
(function () {
  "use strict";
  const POLL_MS = 2000;
  const HISTORY = 300; // the server keeps 10 minutes at one point per 2 s
  let history = [];

  function formatBytes(n) {
    if (n >= 1 << 20) return (n / (1 << 20)).toFixed(1) + " MiB";
    if (n >= 1 << 10) return (n / (1 << 10)).toFixed(1) + " KiB";
    return n + " B";
  }

  function cell(text, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  }

  function renderTable(swarms) {
    const body = document.querySelector("#swarms tbody");
    if (!swarms.length) return;
    body.replaceChildren(
      ...swarms.map((s) => {
        const tr = document.createElement("tr");
        tr.append(
          cell(s.content ?? "?"),
          cell(s.rendition ?? "?"),
          cell(s.info_hash, "hash"),
          cell(s.peers),
          cell(s.seeders),
          cell(s.offers_relayed),
          cell(s.answers),
        );
        return tr;
      }),
    );
  }

  function renderChart() {
    const canvas = document.getElementById("chart");
    const ctx = canvas.getContext("2d");
    const w = canvas.width, h = canvas.height, pad = 28;
    ctx.clearRect(0, 0, w, h);
    ctx.strokeStyle = "#30363d";
    ctx.fillStyle = "#8b98a5";
    ctx.font = "11px sans-serif";
    for (const pct of [0, 50, 100]) {
      const y = h - pad - (pct / 100) * (h - 2 * pad);
      ctx.beginPath(); ctx.moveTo(pad, y); ctx.lineTo(w - 8, y); ctx.stroke();
      ctx.fillText(pct + "%", 2, y + 4);
    }
    if (history.length < 2) return;
    const maxViewers = Math.max(4, ...history.map((p) => p.viewers));
    const x = (i) => pad + (i / (HISTORY - 1)) * (w - pad - 8);
    const line = (color, value) => {
      ctx.strokeStyle = color; ctx.lineWidth = 2; ctx.beginPath();
      history.forEach((p, i) => {
        const y = h - pad - value(p) * (h - 2 * pad);
        i ? ctx.lineTo(x(i), y) : ctx.moveTo(x(i), y);
      });
      ctx.stroke();
    };
    line("#3fb950", (p) => p.offload);
    line("#58a6ff", (p) => p.viewers / maxViewers);
  }

  async function poll() {
    try {
      const res = await fetch("/api/stats", { cache: "no-store" });
      if (!res.ok) throw new Error("HTTP " + res.status);
      const s = await res.json();
      const total = s.viewers.http_bytes + s.viewers.p2p_bytes;
      const offload = total ? s.viewers.p2p_bytes / total : 0;
      history = s.history;
      renderTable(s.swarms);
      document.getElementById("total-viewers").textContent = s.viewers.count;
      document.getElementById("total-p2p").textContent = formatBytes(s.viewers.p2p_bytes);
      document.getElementById("total-http").textContent = formatBytes(s.viewers.http_bytes);
      document.getElementById("total-offload").textContent = Math.round(offload * 100) + "%";
      document.getElementById("manifests").textContent = s.origin.manifests_rewritten ?? 0;
      const c = s.viewers.connections;
      if (c) {
        // How viewers reached each other: host = same network, srflx/prflx = through NATs, relay = TURN.
        const types = ["host", "srflx", "prflx", "relay"].filter((t) => c[t] > 0).map((t) => `${t} ${c[t]}`);
        document.getElementById("connections").textContent = `${c.opened} opened${types.length ? ` (${types.join(", ")})` : ""}, ${c.failed} failed`;
      }
      renderChart();
    } catch (e) {
      console.warn("dashboard: stats unavailable", e);
    }
  }

  fetch("/api/demo-info").then((r) => r.json()).then((info) => {
    document.getElementById("apikey").value = info.publisher_api_key;
  }).catch(() => {});

  document.getElementById("token-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = new FormData(ev.target);
    const body = { content: form.get("content"), ttl_secs: Number(form.get("ttl_secs")) };
    if (form.get("viewer")) body.viewer = form.get("viewer");
    const out = document.getElementById("token-result");
    const res = await fetch("/v1/tokens", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer " + form.get("apikey") },
      body: JSON.stringify(body),
    });
    out.textContent = res.status + " " + res.statusText + "\n" + (await res.text());
  });

  poll();
  setInterval(poll, POLL_MS);
})();
