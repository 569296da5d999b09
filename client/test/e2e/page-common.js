// Shared by the Shaka and dash.js e2e pages: the viewer state, a lying/stalling peer, stall
// detection, and the page's own check of what reached the player (hashes it knows independently
// of the client: the origin's hash document for DASH, the playlists' hash tags for HLS).
window.setupViewer = function setupViewer(q, mesh, video) {
  const viewer = (window.__viewer = {
    started: false, stalls: 0, stallLog: [], otherWaits: [], seekLog: [], errors: [], events: [],
    delivered: 0, badDeliveries: 0, unverified: 0, corruptedSent: 0, checks: [],
  });
  if (q.get("corrupt") === "1") {
    // A lying peer: flip a byte in every DATA frame (version 1, type 4) it sends (a modified client).
    const send = RTCDataChannel.prototype.send;
    RTCDataChannel.prototype.send = function (data) {
      if (data instanceof Uint8Array && data.length > 14 && data[0] === 1 && data[1] === 4) {
        const copy = data.slice();
        copy[14 + ((copy.length - 14) >> 1)] ^= 0xff;
        viewer.corruptedSent++;
        return send.call(this, copy);
      }
      return send.call(this, data);
    };
  }
  for (const ev of ["peer-connected", "peer-disconnected", "peer-banned", "integrity-failure", "tracker-state", "error"]) {
    mesh.on(ev, (e) => viewer.events.push({ ev, at: Date.now(), detail: e && (e.message || JSON.stringify(e)) }));
  }
  video.addEventListener("playing", () => { viewer.started = true; });
  video.addEventListener("seeking", () => viewer.seekLog.push(video.currentTime.toFixed(2)));
  video.addEventListener("waiting", () => {
    if (!viewer.started || video.seeking) return;
    const t = video.currentTime, b = video.buffered, ranges = [];
    let ahead = 0;
    for (let i = 0; i < b.length; i++) {
      ranges.push(`${b.start(i).toFixed(2)}-${b.end(i).toFixed(2)}`);
      if (b.start(i) <= t + 0.1 && b.end(i) > t) ahead = b.end(i) - t;
    }
    const last = mesh.stats().segments.slice(-3).map((r) => `${r.sn}:${r.source}:${Math.round(r.durationMs)}ms:${r.decisions.join(">")}`);
    const entry = `t=${t.toFixed(2)} buffered=[${ranges}] last=[${last.join(" ")}]`;
    if (ahead < 0.5) { viewer.stalls++; viewer.stallLog.push(entry); } else viewer.otherWaits.push(entry);
  });

  // The page's own hashes, by absolute segment URL.
  const known = new Map();
  let docUrl = null;
  let docFetch = null;
  const refreshDoc = () => {
    if (!docUrl) return Promise.resolve();
    if (!docFetch) {
      docFetch = fetch(docUrl, { cache: "no-store" }).then((r) => r.json()).then((doc) => {
        for (const [k, v] of Object.entries(doc)) known.set(new URL(k, docUrl).href, v);
      }).catch(() => {}).finally(() => { docFetch = null; });
    }
    return docFetch;
  };
  const hex = async (buf) => [...new Uint8Array(await crypto.subtle.digest("SHA-256", buf))].map((b) => b.toString(16).padStart(2, "0")).join("");
  let renditions = 0;
  viewer.noteManifest = (url, text) => {
    // Renditions offered by the stream (the page pins the player to the lower one).
    renditions = Math.max(renditions, (text.match(/<Representation\b/g) || []).length, (text.match(/^#EXT-X-STREAM-INF:/gm) || []).length);
    if (/<MPD\b/.test(text)) {
      if (!docUrl) docUrl = url.split("?")[0] + ".meshcdn-hashes.json";
      return;
    }
    let pending = null;
    for (const line of text.split(/\r?\n/)) {
      if (line.startsWith("#EXT-X-MESHCDN-SHA256:")) pending = line.slice(22).trim();
      else if (line && !line.startsWith("#")) {
        if (pending) known.set(new URL(line, url).href, pending);
        pending = null;
      }
    }
  };
  /** Hashes a media segment the player received; returns once recorded. */
  viewer.check = async (url, data) => {
    const buf = data instanceof ArrayBuffer ? data.slice(0) : data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
    const got = await hex(buf);
    if (!known.has(url)) await refreshDoc();
    const want = known.get(url);
    if (!want) { viewer.unverified++; return; }
    viewer.delivered++;
    if (got !== want) { viewer.badDeliveries++; viewer.checks.push(`bad ${url}`); }
  };
  viewer.snapshot = () => ({
    stats: mesh.stats(), started: viewer.started, stalls: viewer.stalls, stallLog: viewer.stallLog,
    otherWaits: viewer.otherWaits, seekLog: viewer.seekLog, errors: viewer.errors, events: viewer.events,
    delivered: viewer.delivered, badDeliveries: viewer.badDeliveries, unverified: viewer.unverified,
    corruptedSent: viewer.corruptedSent, droppedSent: 0, currentTime: video.currentTime,
    checks: viewer.checks.slice(-5), renditions,
    secureContext: window.isSecureContext, webCrypto: !!(window.crypto && window.crypto.subtle), tagsSeen: true,
  });
  return viewer;
};
