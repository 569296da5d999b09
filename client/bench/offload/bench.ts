/**
 * The offload benchmark's inner part (run.mjs starts it inside a network namespace it made):
 * a media server (VOD + a simulated live window over the same 120 s 240p HLS stream), the real
 * `meshcdn origin` + `meshcdn edge`, a second `meshcdn edge --open` as p2p-media-loader's
 * WebTorrent tracker, and N viewers in real Chromium (one browser context each), joining 4 s
 * apart and measured 45 s after the last one joined, for each system in turn on the same schedule.
 *
 * HTTP bytes are counted at the media server (segment bytes sent to browsers; the origin's own
 * hashing fetches are counted apart), played bytes from hls.js's FRAG_LOADED in each viewer.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { CHROMIUM_ARGS } from "../../test/support/harness.js";
import { makeKeys, meshcdnParts, startEdge, startOrigin } from "../../test/support/meshcdn.js";

const HOST = "127.0.0.1";
const CLIENT_DIR = new URL("../..", import.meta.url).pathname;
const BENCH_DIR = new URL(".", import.meta.url).pathname;

/** hls.js systems on the HLS stream; Shaka Player systems (`shaka*`) on the DASH stream. */
type System = "plain" | "plain-origin" | "pml" | "mesh" | "mesh-alt" | "shaka" | "shaka-pml" | "shaka-mesh";
const isShaka = (s: System) => s.startsWith("shaka");
/** hls.js + meshcdn: `mesh` with OFFLOAD_MESH_CONFIG, `mesh-alt` with OFFLOAD_MESH_ALT_CONFIG (two configs side by side). */
const isMeshHls = (s: System) => s === "mesh" || s === "mesh-alt";
type Mode = "vod" | "live";

const env = (k: string, d: string) => process.env[k] ?? d;
const MEDIA = env("OFFLOAD_MEDIA", "");
/** The 120 s DASH stream (make-media.sh dash: two representations, SegmentTimeline), for the Shaka rows. */
const DASH_MEDIA = env("OFFLOAD_DASH_MEDIA", "");
const MODES = env("OFFLOAD_MODES", "vod,live").split(",").filter(Boolean) as Mode[];
const VIEWERS = env("OFFLOAD_VIEWERS", "3,6").split(",").map(Number);
const SYSTEMS = env("OFFLOAD_SYSTEMS", "plain,pml,mesh").split(",") as System[];
const JOIN_GAP_MS = Number(env("OFFLOAD_JOIN_GAP_MS", "4000"));
const MEASURE_MS = Number(env("OFFLOAD_MEASURE_MS", "45000"));
const LIVE_WINDOW = 6;
const OUT = env("OFFLOAD_OUT", "");
/** meshcdn client config for the viewers (JSON, e.g. '{"offersPerAnnounce":1}'); default: the client's defaults. */
const MESH_CONFIG = env("OFFLOAD_MESH_CONFIG", "");
/** The `mesh-alt` system's client config, to compare a config change with `mesh` in one run. */
const MESH_ALT_CONFIG = env("OFFLOAD_MESH_ALT_CONFIG", '{"startupJoin":"first-segment"}');
/** Newcomers per system in the start-up trials (0 skips them). */
const STARTUP_TRIALS = Number(env("OFFLOAD_STARTUP_TRIALS", "12"));
/** A directory to write a Chromium performance trace of each start-up trial to (`<system>-<trial>.json`). */
const TRACE_DIR = env("OFFLOAD_TRACE_DIR", "");
/** p2p-media-loader with hls.js 1.6 (what it is tested with); 0 = the same hls.js as the others. */
const PML_HLS_16 = env("OFFLOAD_PML_HLS16", "1") === "1";
/** p2p-media-loader's WebTorrent tracker: `edge` (meshcdn edge --open) or `bittorrent-tracker` (the npm server, in process). */
const PML_TRACKER = env("OFFLOAD_PML_TRACKER", "edge");

async function startBittorrentTracker(): Promise<{ url: string; close(): Promise<void> }> {
  const { default: Server } = (await import("bittorrent-tracker/server" as string)) as { default: new (o: object) => any };
  const s = new Server({ udp: false, http: false, ws: true, stats: false });
  await new Promise<void>((r) => (s.on("listening", () => r()), s.listen(0, HOST)));
  return { url: `ws://${HOST}:${s.ws.address().port}`, close: () => new Promise((r) => s.close(() => r())) };
}

interface Seg {
  name: string;
  data: Buffer;
  duration: number;
}

function loadMedia(dir: string): { playlist: string; segs: Seg[]; target: number } {
  const playlist = readFileSync(join(dir, "index.m3u8"), "utf8");
  const segs: Seg[] = [];
  let d = 0;
  for (const line of playlist.split(/\r?\n/)) {
    if (line.startsWith("#EXTINF:")) d = parseFloat(line.slice(8));
    else if (line && !line.startsWith("#")) segs.push({ name: line, data: readFileSync(join(dir, line)), duration: d });
  }
  const td = /#EXT-X-TARGETDURATION:(\d+)/.exec(playlist);
  return { playlist, segs, target: td ? Number(td[1]) : 2 };
}

/** The media server: counts segment bytes it sends, by who asked (a browser, or the origin hashing). */
/** The DASH stream's MPD and files (init segments and media chunks by name). */
function loadDash(dir: string): { mpd: string; files: Map<string, Buffer>; count: number } | null {
  if (!dir) return null;
  const mpd = readFileSync(join(dir, "manifest.mpd"), "utf8");
  const files = new Map<string, Buffer>();
  for (const f of readdirSync(dir)) if (f.endsWith(".m4s") || f.endsWith(".mp4")) files.set(f, readFileSync(join(dir, f)));
  const count = [...files.keys()].filter((f) => f.startsWith("chunk-0-")).length;
  return { mpd, files, count };
}

/**
 * The DASH stream live: the VOD MPD made dynamic, its SegmentTimeline cut to a sliding window of
 * LIVE_WINDOW segments that moves every 2 s from `t0` (a full window at the start), as the HLS live.
 */
function liveMpd(vod: string, count: number, t0: number): string {
  const last = Math.min(count - 1, LIVE_WINDOW - 1 + Math.floor((Date.now() - t0) / 2000));
  const first = Math.max(0, last - LIVE_WINDOW + 1);
  const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
  return vod
    .replace(/type="static"/, `type="dynamic" availabilityStartTime="${iso(t0 - LIVE_WINDOW * 2000)}" publishTime="${iso(Date.now())}" minimumUpdatePeriod="PT2S" timeShiftBufferDepth="PT${LIVE_WINDOW * 2}S" suggestedPresentationDelay="PT6S"`)
    .replace(/\s*mediaPresentationDuration="[^"]*"/, "")
    .replace(/startNumber="1"/g, `startNumber="${first + 1}"`)
    .replace(/<S t="0" d="(\d+)" r="\d+" \/>/g, (_m, d: string) => `<S t="${first * Number(d)}" d="${d}" r="${last - first}" />`);
}

async function startMediaServer(media: ReturnType<typeof loadMedia>, dash: ReturnType<typeof loadDash>) {
  const counts = { browserBytes: 0, browserRequests: 0, originBytes: 0, originRequests: 0 };
  let liveT0 = Date.now();
  const byName = new Map(media.segs.map((s, i) => [s.name, i]));
  const latest = () => Math.min(media.segs.length - 1, LIVE_WINDOW - 1 + Math.floor((Date.now() - liveT0) / (media.target * 1000)));
  const master = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=100000,RESOLUTION=426x240\n240p/index.m3u8\n";
  const livePlaylist = () => {
    const last = latest();
    const first = Math.max(0, last - LIVE_WINDOW + 1);
    const lines = ["#EXTM3U", "#EXT-X-VERSION:3", `#EXT-X-TARGETDURATION:${media.target}`, `#EXT-X-MEDIA-SEQUENCE:${first}`];
    for (let i = first; i <= last; i++) lines.push(`#EXTINF:${media.segs[i]!.duration.toFixed(6)},`, media.segs[i]!.name);
    if (last === media.segs.length - 1) lines.push("#EXT-X-ENDLIST");
    return lines.join("\n") + "\n";
  };
  const statics: Record<string, [string, string]> = {
    "/page.html": [join(BENCH_DIR, "page.html"), "text/html"],
    "/lib/hls.js": [join(CLIENT_DIR, "node_modules", "hls.js", "dist", "hls.min.js"), "text/javascript"],
    "/lib/meshcdn.iife.min.js": [join(CLIENT_DIR, "dist", "meshcdn.iife.min.js"), "text/javascript"],
    "/lib/pml.js": [join(BENCH_DIR, "dist", "pml.js"), "text/javascript"],
    "/lib/hls-1.6.js": [join(BENCH_DIR, "node_modules", "hls.js-for-pml", "dist", "hls.min.js"), "text/javascript"],
    "/lib/shaka.js": [join(CLIENT_DIR, "node_modules", "shaka-player", "dist", "shaka-player.compiled.js"), "text/javascript"],
    "/lib/meshcdn-shaka.iife.min.js": [join(CLIENT_DIR, "dist", "meshcdn-shaka.iife.min.js"), "text/javascript"],
    "/lib/pml-shaka.js": [join(BENCH_DIR, "dist", "pml-shaka.js"), "text/javascript"],
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const send = (status: number, type: string, body: string | Buffer) => {
      res.writeHead(status, { "content-type": type, "cache-control": "no-cache", "access-control-allow-origin": "*" });
      res.end(req.method === "HEAD" ? undefined : body);
    };
    if (statics[path]) return send(200, statics[path]![1], readFileSync(statics[path]![0]));
    const d = /^\/(dash-vod|dash-live\/r\d+)\/(manifest\.mpd|[\w.-]+\.(?:m4s|mp4))$/.exec(path);
    if (d && dash) {
      if (d[2] === "manifest.mpd") return send(200, "application/dash+xml", d[1] === "dash-vod" ? dash.mpd : liveMpd(dash.mpd, dash.count, liveT0));
      const body = dash.files.get(d[2]!);
      if (!body) return send(404, "text/plain", "no such segment");
      const k = /^chunk-\d+-(\d+)\.m4s$/.exec(d[2]!);
      if (k && d[1] !== "dash-vod" && Number(k[1]) - 1 > Math.min(dash.count - 1, LIVE_WINDOW - 1 + Math.floor((Date.now() - liveT0) / 2000))) {
        return send(404, "text/plain", "no such segment (yet)");
      }
      // Media segments are counted as the HLS ones are (init segments are not played bytes in either).
      if (k && req.method !== "HEAD") {
        if (/Mozilla/.test(req.headers["user-agent"] ?? "")) (counts.browserBytes += body.length), counts.browserRequests++;
        else (counts.originBytes += body.length), counts.originRequests++;
      }
      res.writeHead(200, { "content-type": "video/mp4", "access-control-allow-origin": "*", "content-length": String(body.length) });
      return void res.end(req.method === "HEAD" ? undefined : body);
    }
    // Live streams live under /live/r<run>/ (a fresh path per run, so no cache serves an old window).
    const m = /^\/(vod|live\/r\d+)\/(master\.m3u8|240p\/index\.m3u8|240p\/([^/]+\.ts))$/.exec(path);
    if (!m) return send(404, "text/plain", "not found");
    if (m[2] === "master.m3u8") return send(200, "application/vnd.apple.mpegurl", master);
    if (m[2] === "240p/index.m3u8") return send(200, "application/vnd.apple.mpegurl", m[1] === "vod" ? media.playlist : livePlaylist());
    const i = byName.get(m[3]!);
    const live = m[1] !== "vod";
    if (i === undefined || (live && i > latest())) return send(404, "text/plain", "no such segment (yet)");
    let body = media.segs[i]!.data;
    let status = 200;
    const headers: Record<string, string> = { "content-type": "video/mp2t", "access-control-allow-origin": "*", etag: `"seg-${i}"` };
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
    if (range) {
      const start = Number(range[1]);
      const end = range[2] ? Math.min(Number(range[2]), body.length - 1) : body.length - 1;
      if (start > end) return send(416, "text/plain", "bad range");
      headers["content-range"] = `bytes ${start}-${end}/${body.length}`;
      body = body.subarray(start, end + 1);
      status = 206;
    }
    if (req.method !== "HEAD") {
      // Browsers send a Mozilla user agent (the origin forwards it); the origin's hashing fetch has none.
      if (/Mozilla/.test(req.headers["user-agent"] ?? "")) (counts.browserBytes += body.length), counts.browserRequests++;
      else (counts.originBytes += body.length), counts.originRequests++;
    }
    // A static file server states the length up front (meshcdn peers relay a segment while it arrives only then).
    headers["content-length"] = String(body.length);
    res.writeHead(status, headers);
    res.end(req.method === "HEAD" ? undefined : body);
  });
  await new Promise<void>((r) => server.listen(0, HOST, r));
  const url = `http://${HOST}:${(server.address() as AddressInfo).port}`;
  // The viewer page comes from a site of its own, as on a real web site (page and video on
  // different hosts), so every system's playlist requests are cross-origin alike: served from the
  // media server's port, plain hls.js would reuse the page's warm connection and meshcdn, whose
  // playlists come through the origin, would not.
  const site = createServer((req, res) => server.emit("request", req, res));
  await new Promise<void>((r) => site.listen(0, HOST, r));
  const siteUrl = `http://${HOST}:${(site.address() as AddressInfo).port}`;
  return {
    url,
    siteUrl,
    counts,
    reset(): void {
      Object.assign(counts, { browserBytes: 0, browserRequests: 0, originBytes: 0, originRequests: 0 });
      liveT0 = Date.now();
    },
    close: async () => {
      for (const srv of [site, server]) await new Promise<void>((r) => (srv.closeAllConnections(), srv.close(() => r())));
    },
  };
}

interface Snapshot {
  started: boolean;
  startupMs: number | null;
  stalls: number;
  stallMs: number;
  played: Record<string, number>;
  playedBytes: number;
  errors: string[];
  currentTime: number;
  clientHttp?: number;
  clientP2p?: number;
  peers?: number;
  /** Start-up phases, ms from page script start (libs, manifest, level, fragLoading, fragLoaded, fragBuffered, playing). */
  marks?: Record<string, number>;
}

interface Row {
  mode: Mode;
  viewers: number;
  system: System;
  playedBytes: number;
  httpBytes: number;
  originHashBytes: number;
  share: number;
  limit: number;
  stalls: number;
  stallSec: number;
  startupMs: (number | null)[];
  errors: string[];
}

/** The bench page's query for one viewer of `system` on the stream at `path` (meshcdn through the origin). */
function pageQuery(mediaUrl: string, system: System, path: string, stack: { originUrl: string; pmlTracker: string; siteUrl: string }): URLSearchParams {
  const dashPath = path.replace(/^vod$/, "dash-vod").replace(/^live\//, "dash-live/");
  const manifest = isShaka(system) ? `${dashPath}/manifest.mpd` : `${path}/master.m3u8`;
  // plain-origin: plain hls.js through the same `meshcdn origin` as meshcdn (the proxy hop alone).
  const viaOrigin = isMeshHls(system) || system === "shaka-mesh" || system === "plain-origin";
  const src = viaOrigin ? `${stack.originUrl}/${manifest}` : `${mediaUrl}/${manifest}`;
  const pageSystem = system === "plain-origin" ? "plain" : system === "mesh-alt" ? "mesh" : system;
  const q = new URLSearchParams({ system: pageSystem, src, tracker: stack.pmlTracker });
  if (system === "pml" && PML_HLS_16) q.set("hls", "1.6");
  if ((system === "mesh" || system === "shaka-mesh") && MESH_CONFIG) q.set("config", MESH_CONFIG);
  if (system === "mesh-alt") q.set("config", MESH_ALT_CONFIG);
  return q;
}

/**
 * Start-up side by side: one viewer of each system keeps playing the VOD (so a meshcdn newcomer
 * joins a swarm with a peer in it), and newcomers of each system open one by one, STARTUP_TRIALS
 * each, alternating which system goes first; each is closed once it plays. Per-viewer start-ups in
 * the main rows vary by hundreds of ms on a shared machine, so these repeated trials, compared by
 * median, are what the "start-up within 10% of plain hls.js" target is judged on.
 */
async function startupTrials(browser: Browser, mediaUrl: string, stack: { originUrl: string; pmlTracker: string; siteUrl: string }): Promise<Map<System, number[]>> {
  const out = new Map<System, number[]>(SYSTEMS.map((s) => [s, []]));
  const phases = new Map<System, Record<string, number>[]>(SYSTEMS.map((s) => [s, []]));
  const contexts: BrowserContext[] = [];
  const open = async (system: System) => {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    // Each request's network timing (Chromium's own, cross-origin or not), by kind, epoch ms.
    const requests: NetTiming[] = [];
    page.on("requestfinished", (r) => {
      const kind = requestKind(r.url());
      if (!kind) return;
      const t = r.timing();
      requests.push({ kind, startEpoch: t.startTime, connectMs: t.connectEnd >= 0 ? t.connectEnd - t.connectStart : 0, ttfbMs: t.responseStart - t.requestStart, recvMs: t.responseEnd - t.responseStart, endMs: t.responseEnd });
    });
    await page.goto(`${stack.siteUrl}/page.html?${pageQuery(mediaUrl, system, "vod", stack)}`);
    return { context, page, requests };
  };
  const startup = async (page: Page): Promise<number | null> => {
    for (const until = Date.now() + 20_000; Date.now() < until; ) {
      const ms = await page.evaluate(() => (window as any).__bench.startupMs as number | null);
      if (ms !== null) return ms;
      await new Promise((r) => setTimeout(r, 50));
    }
    return null;
  };
  try {
    for (const system of SYSTEMS) await startup((await open(system)).page);
    for (let t = 0; t < STARTUP_TRIALS; t++) {
      for (const system of t % 2 ? [...SYSTEMS].reverse() : SYSTEMS) {
        const trace = TRACE_DIR ? join(TRACE_DIR, `${system}-${t + 1}.json`) : "";
        if (trace) await browser.startTracing(undefined, { path: trace, categories: ["devtools.timeline", "disabled-by-default-devtools.timeline", "v8.execute", "blink.user_timing"] });
        const v = await open(system);
        const ms = await startup(v.page);
        if (trace) await browser.stopTracing();
        if (ms !== null) out.get(system)!.push(Math.round(ms));
        if (ms !== null) phases.get(system)!.push(await trialPhases(v.page, v.requests));
        if (process.env.OFFLOAD_VERBOSE) console.log(`#   start-up trial ${t + 1} ${system}: ${JSON.stringify(await v.page.evaluate(() => (window as any).__bench.marks))} ${await v.page.evaluate(() => performance.getEntriesByType("resource").map((e: any) => `${e.name.split("/").slice(-1)[0].split("?")[0]}@${Math.round(e.startTime)}+${Math.round(e.duration)}`).join(" "))}`);
        await v.context.close();
      }
    }
  } finally {
    for (const c of contexts) await c.close().catch(() => undefined);
  }
  printPhases(phases);
  return out;
}

interface NetTiming {
  kind: string;
  startEpoch: number;
  connectMs: number;
  ttfbMs: number;
  recvMs: number;
  /** Relative to startEpoch. */
  endMs: number;
}

/** The start-up's requests: the libraries, the playlists, the first segment and the tracker socket. */
function requestKind(url: string): string | null {
  const path = new URL(url).pathname;
  if (path.endsWith("master.m3u8")) return "master";
  if (path.endsWith("index.m3u8")) return "level";
  if (/\/seg[^/]*\.ts$|\.ts$/.test(path)) return "seg";
  if (path === "/lib/hls.js") return "hlsjs";
  if (path.startsWith("/lib/")) return "p2plib";
  return null;
}

/** One trial's phases: the page's marks and, per request kind (first of each), its network timing, in ms from page script start. */
async function trialPhases(page: Page, requests: NetTiming[]): Promise<Record<string, number>> {
  const { marks, origin, longTasks } = await page.evaluate(() => {
    const b = (window as any).__bench;
    return { marks: b.marks as Record<string, number>, origin: performance.timeOrigin + b.t0, longTasks: (b.longTasks ?? []) as string[] };
  });
  const out: Record<string, number> = { ...marks };
  out.longTaskMs = longTasks.reduce((a, x) => a + Number(x.split("+")[1]), 0);
  for (const kind of ["hlsjs", "p2plib", "master", "level", "seg"]) {
    const r = requests.filter((x) => x.kind === kind).sort((a, b) => a.startEpoch - b.startEpoch)[0];
    if (!r) continue;
    out[`${kind}.start`] = Math.round(r.startEpoch - origin);
    out[`${kind}.connect`] = Math.round(r.connectMs);
    out[`${kind}.ttfb`] = Math.round(r.ttfbMs);
    out[`${kind}.recv`] = Math.round(r.recvMs);
    out[`${kind}.end`] = Math.round(r.startEpoch - origin + r.endMs);
  }
  return out;
}

/** Median of each phase over the trials, per system, side by side (ms from page script start). */
function printPhases(phases: Map<System, Record<string, number>[]>): void {
  const keys = new Set<string>();
  for (const v of phases.values()) for (const p of v) for (const k of Object.keys(p)) keys.add(k);
  const med = (xs: number[]) => {
    const v = [...xs].sort((a, b) => a - b);
    return v.length ? v[Math.floor(v.length / 2)]! : NaN;
  };
  const systems = [...phases.keys()];
  console.log(`\n| start-up phase (median ms) | ${systems.map((s) => NAMES[s]).join(" | ")} |`);
  console.log(`|---|${systems.map(() => "---|").join("")}`);
  const order = (k: string) => {
    const m = phases.get(systems[0]!)?.map((p) => p[k]).filter((x) => x !== undefined) ?? [];
    return m.length ? med(m as number[]) : 1e9;
  };
  for (const k of [...keys].sort((a, b) => order(a) - order(b))) {
    console.log(`| ${k} | ${systems.map((s) => med(phases.get(s)!.map((p) => p[k]).filter((x): x is number => x !== undefined))).join(" | ")} |`);
  }
}

async function runOne(browser: Browser, mediaUrl: string, system: System, mode: Mode, n: number, stack: { originUrl: string; pmlTracker: string; siteUrl: string }, server: Awaited<ReturnType<typeof startMediaServer>>): Promise<Row> {
  server.reset();
  const path = mode === "vod" ? "vod" : `live/r${++liveRuns}`;
  if (isMeshHls(system) && mode === "live") {
    // The origin hashes a live window's segments when it first serves the playlist; in production
    // it has long been serving the stream. Warm it (these bytes are counted as origin-hash).
    await fetch(`${stack.originUrl}/${path}/240p/index.m3u8`).then((r) => r.text());
  }
  if (system === "shaka-mesh") {
    // Likewise for DASH: the hash document is where the origin hashes the MPD's segments.
    await fetch(`${stack.originUrl}/${path.replace(/^vod$/, "dash-vod").replace(/^live\//, "dash-live/")}/manifest.mpd.meshcdn-hashes.json`).then((r) => r.text());
  }
  const q = pageQuery(mediaUrl, system, path, stack);
  const viewers: { context: BrowserContext; page: Page }[] = [];
  const t0 = Date.now();
  try {
    for (let i = 0; i < n; i++) {
      const due = t0 + i * JOIN_GAP_MS;
      if (Date.now() < due) await new Promise((r) => setTimeout(r, due - Date.now()));
      const context = await browser.newContext();
      const page = await context.newPage();
      page.on("pageerror", (e) => console.error(`[${system} viewer ${i + 1}] ${e.message}`));
      await page.goto(`${stack.siteUrl}/page.html?${q}`);
      viewers.push({ context, page });
    }
    const end = t0 + (n - 1) * JOIN_GAP_MS + MEASURE_MS;
    await new Promise((r) => setTimeout(r, Math.max(0, end - Date.now())));
    const snaps: Snapshot[] = await Promise.all(viewers.map((v) => v.page.evaluate(() => (window as any).__bench.snapshot())));
    const http = server.counts.browserBytes;
    const origin = server.counts.originBytes;
    const played = snaps.reduce((a, s) => a + s.playedBytes, 0);
    const distinct = new Map<string, number>();
    for (const s of snaps) for (const [sn, b] of Object.entries(s.played)) distinct.set(sn, b);
    const distinctBytes = [...distinct.values()].reduce((a, b) => a + b, 0);
    const row: Row = {
      mode,
      viewers: n,
      system,
      playedBytes: played,
      httpBytes: http,
      originHashBytes: origin,
      share: played > 0 ? 1 - http / played : 0,
      limit: played > 0 ? 1 - distinctBytes / played : 0,
      stalls: snaps.reduce((a, s) => a + s.stalls, 0),
      stallSec: snaps.reduce((a, s) => a + s.stallMs, 0) / 1000,
      startupMs: snaps.map((s) => (s.startupMs === null ? null : Math.round(s.startupMs))),
      errors: snaps.flatMap((s) => s.errors.filter((e) => e.endsWith("/true"))),
    };
    if (process.env.OFFLOAD_VERBOSE) {
      snaps.forEach((s, i) => console.log(`#   ${system} viewer ${i + 1}: errors ${JSON.stringify(s.errors.slice(0, 3))} played ${s.playedBytes} B (${Object.keys(s.played).length} segs) t=${s.currentTime.toFixed(1)} stalls=${s.stalls} client http=${s.clientHttp ?? "-"} p2p=${s.clientP2p ?? "-"} peers=${s.peers ?? "-"}${(s as { pml?: unknown }).pml ? ` pml=${JSON.stringify((s as { pml?: unknown }).pml)}` : ""} startup ${JSON.stringify(s.marks ?? {})}`));
    }
    return row;
  } finally {
    for (const v of viewers) await v.context.close().catch(() => undefined);
  }
}

let liveRuns = 0;
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

async function main(): Promise<void> {
  if (!MEDIA) throw new Error("OFFLOAD_MEDIA (the 240p rendition's directory) is not set: run bench/offload/run.mjs");
  const media = loadMedia(MEDIA);
  const server = await startMediaServer(media, loadDash(DASH_MEDIA));
  if (SYSTEMS.some(isShaka) && !DASH_MEDIA) throw new Error("OFFLOAD_DASH_MEDIA (the DASH stream's directory) is not set: run bench/offload/run.mjs");
  const parts = meshcdnParts();
  const keys = makeKeys(parts);
  const edge = await startEdge(parts, HOST, keys.jwksFile);
  const openEdge = await startEdge(parts, HOST, null);
  const btTracker = PML_TRACKER === "bittorrent-tracker" ? await startBittorrentTracker() : null;
  const pmlTracker = btTracker?.url ?? openEdge.url;
  const origin = await startOrigin(parts, HOST, server.url, [edge.url], keys.keysDir);
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: CHROMIUM_ARGS });
  const rows: Row[] = [];
  let trials = new Map<System, number[]>();
  try {
    // Warm the origin's segment-hash cache for the VOD (production hashes long before viewers come).
    await fetch(`${origin.url}/vod/240p/index.m3u8`).then((r) => r.text());
    if (SYSTEMS.some(isShaka)) await fetch(`${origin.url}/dash-vod/manifest.mpd.meshcdn-hashes.json`).then((r) => r.text());
    console.log(`# media: ${media.segs.length} segments, ${media.segs.reduce((a, s) => a + s.data.length, 0)} bytes; live window ${LIVE_WINDOW}; join every ${JOIN_GAP_MS} ms, measured ${MEASURE_MS} ms after the last joined`);
    console.log(`# tracker for p2p-media-loader: ${btTracker ? "bittorrent-tracker (npm) server" : `meshcdn edge --open (${openEdge.engine})`}, hls.js ${PML_HLS_16 ? "1.6" : "as the others"}; meshcdn: origin + edge (${edge.engine}, tokens)`);
    for (const mode of MODES) {
      for (const n of VIEWERS) {
        for (const system of SYSTEMS) {
          const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
          const row = await runOne(browser, server.url, system, mode, n, { originUrl: origin.url, pmlTracker, siteUrl: server.siteUrl }, server);
          rows.push(row);
          console.log(
            `${mode}\t${n}\t${system}\tshare ${pct(row.share)}\tlimit ${pct(row.limit)}\tof limit ${row.limit > 0 ? pct(row.share / row.limit) : "-"}\tstalls ${row.stalls} (${row.stallSec.toFixed(1)} s)\tstartup ${row.startupMs.join(",")} ms\tplayed ${row.playedBytes} http ${row.httpBytes} origin-hash ${row.originHashBytes}\tload ${load}${row.errors.length ? `\tFATAL ${row.errors.join(" ")}` : ""}`,
          );
        }
      }
    }
    if (STARTUP_TRIALS > 0) {
      const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
      trials = await startupTrials(browser, server.url, { originUrl: origin.url, pmlTracker, siteUrl: server.siteUrl });
      console.log(`# start-up trials (load ${load}): ${[...trials].map(([s, v]) => `${s} ${v.join(",")}`).join("; ")}`);
    }
  } finally {
    await browser.close();
    await origin.proc.stop();
    await edge.proc.stop();
    await openEdge.proc.stop();
    await btTracker?.close();
    keys.remove();
    await server.close();
  }
  printTable(rows);
  printStartup(trials);
  if (OUT) writeFileSync(OUT, JSON.stringify({ rows, startupTrials: Object.fromEntries(trials) }, null, 2));
}

const NAMES: Record<System, string> = {
  plain: "hls.js",
  "plain-origin": "hls.js through meshcdn origin",
  pml: "hls.js + p2p-media-loader 2.3.1",
  mesh: "hls.js + meshcdn",
  "mesh-alt": `hls.js + meshcdn ${MESH_ALT_CONFIG}`,
  shaka: "Shaka 4 (DASH)",
  "shaka-pml": "Shaka 4 + p2p-media-loader-shaka 2.2.2 (DASH)",
  "shaka-mesh": "Shaka 4 + meshcdn (DASH)",
};

function printTable(rows: Row[]): void {
  const mean = (xs: (number | null)[]) => {
    const v = xs.filter((x): x is number => x !== null);
    return v.length ? Math.round(v.reduce((a, b) => a + b, 0) / v.length) : NaN;
  };
  console.log("\n| mode | viewers | system | P2P share of played bytes | physical limit | share / limit | stalls (count, s) | startup per viewer (ms) | mean startup vs plain |");
  console.log("|---|---|---|---|---|---|---|---|---|");
  for (const r of rows) {
    const base = isShaka(r.system) ? "shaka" : "plain";
    const plain = rows.find((x) => x.mode === r.mode && x.viewers === r.viewers && x.system === base);
    const rel = plain ? (mean(r.startupMs) / mean(plain.startupMs)).toFixed(2) + "x" : "-";
    const name = NAMES[r.system];
    console.log(`| ${r.mode} | ${r.viewers} | ${name} | ${pct(r.share)} | ${pct(r.limit)} | ${r.limit > 0 ? pct(r.share / r.limit) : "-"} | ${r.stalls}, ${r.stallSec.toFixed(1)} | ${r.startupMs.map((x) => x ?? "never").join(", ")} | ${rel} |`);
  }
}

function printStartup(trials: Map<System, number[]>): void {
  if (!trials.size) return;
  const q = (xs: number[], p: number) => {
    const v = [...xs].sort((a, b) => a - b);
    return v.length ? v[Math.min(v.length - 1, Math.floor(p * v.length))]! : NaN;
  };
  const plain = trials.get("plain");
  console.log("\n| start-up, newcomer to a VOD with one viewer playing | trials | median (ms) | p90 (ms) | median vs plain |");
  console.log("|---|---|---|---|---|");
  for (const [system, v] of trials) {
    const rel = plain?.length ? `${(q(v, 0.5) / q(plain, 0.5)).toFixed(2)}x` : "-";
    console.log(`| ${NAMES[system]} | ${v.length} | ${q(v, 0.5)} | ${q(v, 0.9)} | ${rel} |`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
