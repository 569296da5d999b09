// Demo player: the chosen player (hls.js, Shaka Player or dash.js) + its meshcdn adapter, with a
// live overlay of the client's stats. The client is exposed as window.meshcdnClient (the same
// stats() / on() whatever the player) and hls.js as window.hls, for scripts and browser tests.
// Analytics beacons are the client's own (the bootstrap names the URL).
(function () {
  "use strict";
  const params = new URLSearchParams(location.search);
  const stream = params.get("stream") || "live";
  const sources = {
    live: "/streams/live/master.m3u8",
    vod: "/streams/vod/master.m3u8",
    "dash-live": "/streams/dash-live/manifest.mpd",
    "dash-vod": "/streams/dash-vod/manifest.mpd",
  };
  const select = document.getElementById("stream");
  select.value = stream in sources ? stream : "live";
  const dash = select.value.startsWith("dash-");
  // hls.js plays HLS only, dash.js DASH only: the default follows the stream.
  const players = ["hlsjs", "shaka", "dashjs"];
  let player = params.get("player");
  if (!players.includes(player) || (dash && player === "hlsjs") || (!dash && player === "dashjs")) player = dash ? "dashjs" : "hlsjs";
  const playerSelect = document.getElementById("player");
  playerSelect.value = player;
  for (const opt of playerSelect.options) opt.disabled = (dash && opt.value === "hlsjs") || (!dash && opt.value === "dashjs");
  for (const [el, key] of [[select, "stream"], [playerSelect, "player"]]) {
    el.addEventListener("change", () => {
      params.set(key, el.value);
      location.search = params.toString();
    });
  }
  document.getElementById("second-tab").href = location.href;

  const load = (src) => new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error(`cannot load ${src}`));
    document.head.appendChild(s);
  });
  const scripts = {
    hlsjs: ["/assets/hls.min.js", "/assets/meshcdn.iife.js"],
    shaka: ["/assets/shaka-player.js", "/assets/meshcdn-shaka.iife.js"],
    dashjs: ["/assets/dash.js", "/assets/meshcdn-dashjs.iife.js"],
  }[player];
  const video = document.getElementById("video");
  const src = sources[select.value];

  (async () => {
    for (const s of scripts) await load(s);
    let client;
    if (player === "hlsjs") {
      client = new MeshCdn.MeshCdnClient({});
      const hls = new Hls(client.hlsConfig({ lowLatencyMode: false }));
      client.attach(hls);
      window.hls = hls;
      hls.loadSource(src);
      hls.attachMedia(video);
      hls.on(Hls.Events.MANIFEST_PARSED, () => video.play().catch(() => {}));
    } else if (player === "shaka") {
      client = new MeshCdnShaka.MeshCdnShakaClient({});
      shaka.polyfill.installAll();
      const p = new shaka.Player();
      await p.attach(video);
      client.attach(p, shaka);
      window.shakaPlayer = p;
      await p.load(src);
      video.play().catch(() => {});
    } else {
      client = new MeshCdnDashjs.MeshCdnDashjsClient({});
      const p = dashjs.MediaPlayer().create();
      client.attach(p);
      window.dashjsPlayer = p;
      p.initialize(video, src, true);
    }
    window.meshcdnClient = client;
    start(client);
  })().catch((e) => {
    document.getElementById("tracker").textContent = `player failed: ${e.message}`;
  });

  function start(client) {
    const segmentList = document.getElementById("segments");
    client.on("segment-loaded", (rec) => {
      const li = document.createElement("li");
      li.className = rec.source;
      li.textContent = `#${rec.sn} ${rec.source.toUpperCase()} ${formatBytes(rec.bytes)} in ${Math.round(rec.durationMs)} ms`;
      segmentList.prepend(li);
      while (segmentList.children.length > 12) segmentList.lastChild.remove();
    });
    const render = () => {
      const s = client.stats();
      document.getElementById("p2p-share").textContent = Math.round(s.offloadRatio * 100);
      document.getElementById("peers").textContent = s.peers.length;
      document.getElementById("http-bytes").textContent = formatBytes(s.httpBytes);
      document.getElementById("p2p-bytes").textContent = formatBytes(s.p2pBytes);
      document.getElementById("uploaded-bytes").textContent = formatBytes(s.uploadedBytes);
      document.getElementById("tracker").textContent = !s.p2pEnabled ? "P2P off" : s.trackerConnected ? "connected" : "connecting…";
      document.getElementById("connections").textContent = connectionsText(s.connections);
      document.getElementById("overlay").dataset.p2pBytes = String(s.p2pBytes);
    };
    render();
    setInterval(render, 500);
  }

  // The demo's dashboard link logs in with this run's publisher API key.
  fetch("/api/demo-info").then((r) => r.json()).then((info) => {
    document.getElementById("dashboard-link").href = "/analytics#key=" + encodeURIComponent(info.publisher_api_key);
  }).catch(() => {});

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
})();
