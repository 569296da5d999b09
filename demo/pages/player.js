// Demo player: hls.js + the meshcdn client, with a live overlay of the client's stats.
// The client and hls.js are exposed as window.meshcdnClient and window.hls for scripts and
// browser tests. Analytics beacons are the client's own (the bootstrap names the URL).
(function () {
  "use strict";
  const params = new URLSearchParams(location.search);
  const stream = params.get("stream") || "live";
  const sources = { live: "/streams/live/master.m3u8", vod: "/streams/vod/master.m3u8" };
  const select = document.getElementById("stream");
  select.value = stream in sources ? stream : "live";
  select.addEventListener("change", () => {
    params.set("stream", select.value);
    location.search = params.toString();
  });
  document.getElementById("second-tab").href = location.href;

  const video = document.getElementById("video");
  const client = new MeshCdn.MeshCdnClient({});
  window.meshcdnClient = client;
  const hls = new Hls(client.hlsConfig({ lowLatencyMode: false }));
  client.attach(hls);
  window.hls = hls;
  hls.loadSource(sources[select.value]);
  hls.attachMedia(video);
  hls.on(Hls.Events.MANIFEST_PARSED, () => video.play().catch(() => {}));

  const segmentList = document.getElementById("segments");
  client.on("segment-loaded", (rec) => {
    const li = document.createElement("li");
    li.className = rec.source;
    li.textContent = `#${rec.sn} ${rec.source.toUpperCase()} ${formatBytes(rec.bytes)} in ${Math.round(rec.durationMs)} ms`;
    segmentList.prepend(li);
    while (segmentList.children.length > 12) segmentList.lastChild.remove();
  });

  function formatBytes(n) {
    if (n >= 1 << 20) return (n / (1 << 20)).toFixed(1) + " MiB";
    if (n >= 1 << 10) return (n / (1 << 10)).toFixed(1) + " KiB";
    return n + " B";
  }

  // "3 open (host 1, srflx 1, relay 1), 1 failed, 120 ms to open"
  function connectionsText(c) {
    const types = Object.entries(c.byType).filter(([, n]) => n > 0).map(([t, n]) => `${t} ${n}`);
    let text = `${c.opened} open${types.length ? ` (${types.join(", ")})` : ""}, ${c.failed} failed`;
    if (c.meanTimeToOpenMs !== null) text += `, ${Math.round(c.meanTimeToOpenMs)} ms to open`;
    return text;
  }

  function render() {
    const s = client.stats();
    document.getElementById("p2p-share").textContent = Math.round(s.offloadRatio * 100);
    document.getElementById("peers").textContent = s.peers.length;
    document.getElementById("http-bytes").textContent = formatBytes(s.httpBytes);
    document.getElementById("p2p-bytes").textContent = formatBytes(s.p2pBytes);
    document.getElementById("uploaded-bytes").textContent = formatBytes(s.uploadedBytes);
    document.getElementById("tracker").textContent = !s.p2pEnabled ? "P2P off" : s.trackerConnected ? "connected" : "connecting…";
    document.getElementById("connections").textContent = connectionsText(s.connections);
    document.getElementById("overlay").dataset.p2pBytes = String(s.p2pBytes);
  }
  render();
  setInterval(render, 500);
  // The demo's dashboard link logs in with this run's publisher API key.
  fetch("/api/demo-info").then((r) => r.json()).then((info) => {
    document.getElementById("dashboard-link").href = "/analytics#key=" + encodeURIComponent(info.publisher_api_key);
  }).catch(() => {});
})();
