/**
 * The e2e tests' upstream: the sample HLS media (media/hls-ts, 2 renditions of 2 s segments) served
 * as a live stream with a sliding window that loops over the files (with EXT-X-DISCONTINUITY at each
 * wrap), plus the test page, hls.js and the client bundle. `meshcdn origin` runs in front of it
 * and adds the bootstrap and hash tags.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";

export const CLIENT_DIR = new URL("../..", import.meta.url).pathname;
export const REPO_DIR = join(CLIENT_DIR, "..");
export const MEDIA_DIR = join(REPO_DIR, "media", "hls-ts");
export const DASH_DIR = join(REPO_DIR, "media", "dash");
export const CONTENT_ID = "live/sample";

interface Rendition {
  name: string;
  files: { data: Buffer; duration: number; sha256: string }[];
  targetDuration: number;
}

function loadRendition(name: string): Rendition {
  const text = readFileSync(join(MEDIA_DIR, name, "index.m3u8"), "utf8");
  const files: Rendition["files"] = [];
  let duration = 0;
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith("#EXTINF:")) duration = parseFloat(line.slice(8));
    else if (line && !line.startsWith("#")) {
      const data = readFileSync(join(MEDIA_DIR, name, line));
      files.push({ data, duration, sha256: createHash("sha256").update(data).digest("hex") });
    }
  }
  const td = /#EXT-X-TARGETDURATION:(\d+)/.exec(text);
  return { name, files, targetDuration: td ? Number(td[1]) : 2 };
}

export interface UpstreamOptions {
  host: string;
  /** Segments in the live window. */
  windowSize?: number;
  /**
   * Send each whole segment to a browser in 8 pieces spread over this many ms (a slow last mile;
   * the origin's own hashing fetches, without a browser user agent, are not slowed).
   */
  segmentTrickleMs?: number;
}

export interface Upstream {
  url: string;
  server: Server;
  /** Segment requests served, by rendition. */
  segmentRequests: Map<string, number>;
  /** Segment requests that carried a Range header. */
  rangeRequests: number;
  close(): Promise<void>;
}

export async function startUpstream(o: UpstreamOptions): Promise<Upstream> {
  const windowSize = o.windowSize ?? 6;
  const master = readFileSync(join(MEDIA_DIR, "master.m3u8"), "utf8");
  const variants = master.split(/\r?\n/).filter((l) => l && !l.startsWith("#"));
  const renditions = new Map(variants.map((v) => [v.split("/")[0]!, loadRendition(v.split("/")[0]!)]));
  const segDurMs = 1000 * [...renditions.values()][0]!.targetDuration;
  const t0 = Date.now();
  const latest = () => windowSize - 1 + Math.floor((Date.now() - t0) / segDurMs);
  const segmentRequests = new Map<string, number>();

  const mediaPlaylist = (r: Rendition): string => {
    const last = latest();
    const first = Math.max(0, last - windowSize + 1);
    const n = r.files.length;
    const lines = [
      "#EXTM3U",
      "#EXT-X-VERSION:3",
      `#EXT-X-TARGETDURATION:${r.targetDuration}`,
      `#EXT-X-MEDIA-SEQUENCE:${first}`,
      `#EXT-X-DISCONTINUITY-SEQUENCE:${first > 0 ? Math.floor((first - 1) / n) : 0}`,
    ];
    for (let sn = first; sn <= last; sn++) {
      const f = r.files[sn % n]!;
      if (sn > 0 && sn % n === 0) lines.push("#EXT-X-DISCONTINUITY");
      lines.push(`#EXTINF:${f.duration.toFixed(6)},`);
      lines.push(`seg/${sn}.ts`);
    }
    return lines.join("\n") + "\n";
  };

  const statics: Record<string, [string, string]> = {
    "/page.html": [join(CLIENT_DIR, "test", "e2e", "page.html"), "text/html"],
    "/hls.js": [join(CLIENT_DIR, "node_modules", "hls.js", "dist", "hls.min.js"), "text/javascript"],
    "/meshcdn.iife.js": [join(CLIENT_DIR, "dist", "meshcdn.iife.js"), "text/javascript"],
    "/page-shaka.html": [join(CLIENT_DIR, "test", "e2e", "page-shaka.html"), "text/html"],
    "/page-dashjs.html": [join(CLIENT_DIR, "test", "e2e", "page-dashjs.html"), "text/html"],
    "/page-common.js": [join(CLIENT_DIR, "test", "e2e", "page-common.js"), "text/javascript"],
    "/shaka.js": [join(CLIENT_DIR, "node_modules", "shaka-player", "dist", "shaka-player.compiled.js"), "text/javascript"],
    "/dash.js": [join(CLIENT_DIR, "node_modules", "dashjs", "dist", "modern", "umd", "dash.all.min.js"), "text/javascript"],
    "/meshcdn-shaka.iife.js": [join(CLIENT_DIR, "dist", "meshcdn-shaka.iife.js"), "text/javascript"],
    "/meshcdn-dashjs.iife.js": [join(CLIENT_DIR, "dist", "meshcdn-dashjs.iife.js"), "text/javascript"],
  };
  const dash = dashStreams(t0);

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const send = (status: number, type: string, body: string | Buffer) => {
      res.writeHead(status, { "content-type": type, "cache-control": "no-cache", "access-control-allow-origin": "*" });
      res.end(req.method === "HEAD" ? undefined : body);
    };
    if (statics[path]) {
      const [file, type] = statics[path]!;
      return send(200, type, readFileSync(file));
    }
    const d = dash(path);
    if (d) {
      if (d.type === "video/mp4") segmentRequests.set(`dash:${d.rendition}`, (segmentRequests.get(`dash:${d.rendition}`) ?? 0) + 1);
      return send(200, d.type, d.body);
    }
    if (path === "/live/master.m3u8") return send(200, "application/vnd.apple.mpegurl", master);
    if (path === "/vod/master.m3u8") return send(200, "application/vnd.apple.mpegurl", master);
    const vod = /^\/vod\/([^/]+)\/(index\.m3u8|seg_(\d+)\.ts)$/.exec(path);
    const vodR = vod ? renditions.get(vod[1]!) : undefined;
    if (vod && vodR && vod[3] === undefined) {
      // The rendition's own VOD playlist.
      return send(200, "application/vnd.apple.mpegurl", readFileSync(join(MEDIA_DIR, vodR.name, "index.m3u8"), "utf8"));
    }
    if (vod && vodR && vodR.files[Number(vod[3])]) return sendSegment(req, res, vodR, vodR.files[Number(vod[3])]!.data);
    const m = /^\/live\/([^/]+)\/(?:index\.m3u8|seg\/(\d+)\.ts)$/.exec(path);
    const r = m ? renditions.get(m[1]!) : undefined;
    if (!m || !r) return send(404, "text/plain", "not found");
    if (m[2] === undefined) return send(200, "application/vnd.apple.mpegurl", mediaPlaylist(r));
    const sn = Number(m[2]);
    if (sn > latest()) return send(404, "text/plain", "not yet");
    return sendSegment(req, res, r, r.files[sn % r.files.length]!.data);
  });

  function sendSegment(req: IncomingMessage, res: ServerResponse, r: Rendition, body: Buffer): void {
    const send = (status: number, type: string, text: string) => {
      res.writeHead(status, { "content-type": type, "access-control-allow-origin": "*" });
      res.end(text);
    };
    segmentRequests.set(r.name, (segmentRequests.get(r.name) ?? 0) + 1);
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
    if (range) {
      const start = Number(range[1]);
      const end = range[2] ? Math.min(Number(range[2]), body.length - 1) : body.length - 1;
      if (start > end) return send(416, "text/plain", "bad range");
      res.writeHead(206, {
        "content-type": "video/mp2t",
        "content-range": `bytes ${start}-${end}/${body.length}`,
        "access-control-allow-origin": "*",
      });
      upstream.rangeRequests++;
      return void res.end(body.subarray(start, end + 1));
    }
    // A static file server states the length up front (peers relay a segment while it arrives only then).
    res.writeHead(200, {
      "content-type": "video/mp2t",
      "content-length": String(body.length),
      "cache-control": "no-cache",
      "access-control-allow-origin": "*",
    });
    if (req.method === "HEAD") return void res.end();
    const trickleMs = o.segmentTrickleMs ?? 0;
    if (trickleMs <= 0 || !/Mozilla/.test(req.headers["user-agent"] ?? "")) return void res.end(body);
    const pieces = 8;
    const step = Math.ceil(body.length / pieces);
    let i = 0;
    const timer = setInterval(() => {
      if (res.destroyed) return clearInterval(timer);
      res.write(body.subarray(i * step, (i + 1) * step));
      if (++i === pieces) (clearInterval(timer), res.end());
    }, trickleMs / pieces);
  }
  await new Promise<void>((resolve) => server.listen(0, o.host, resolve));
  const { port } = server.address() as AddressInfo;
  const upstream: Upstream = {
    url: `http://${o.host}:${port}`,
    server,
    segmentRequests,
    rangeRequests: 0,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  return upstream;
}

/** The sample DASH stream's files (media/dash: 2 representations "0" and "1", 10 × 2 s, timescale 12288). */
function loadDash() {
  const mpd = readFileSync(join(DASH_DIR, "manifest.mpd"), "utf8");
  const file = (name: string) => readFileSync(join(DASH_DIR, name));
  const reps = ["0", "1"].map((id) => ({
    id,
    init: file(`init-${id}.mp4`),
    chunks: Array.from({ length: 10 }, (_, i) => file(`chunk-${id}-${String(i + 1).padStart(5, "0")}.m4s`)),
  }));
  return { mpd, reps };
}

/** A copy of an fMP4 fragment with its `tfdt` baseMediaDecodeTime set to `time` (same size). */
function withDecodeTime(chunk: Buffer, time: number): Buffer {
  const out = Buffer.from(chunk);
  const at = out.indexOf("tfdt");
  if (at < 0) return out;
  if (out[at + 4] === 1) out.writeBigUInt64BE(BigInt(time), at + 8);
  else out.writeUInt32BE(time, at + 8);
  return out;
}

const SEG_TICKS = 24576;
const TIMESCALE = 12288;
const DASH_WINDOW = 8;

/**
 * The DASH streams, over the sample's files:
 * - `/dash/vod/manifest.mpd`: the MPD as ffmpeg wrote it (static, SegmentTemplate + SegmentTimeline);
 * - `/dash/vod-num/manifest.mpd`: the same without the timeline (`SegmentTemplate@duration`);
 * - `/dash/live/manifest.mpd`: dynamic, one Period, SegmentTimeline over a sliding window of
 *   DASH_WINDOW segments, looping over the 10 files forever (segment n is file (n-1) mod 10 with
 *   its decode time moved to (n-1) × 2 s, so the timeline is continuous);
 * - `/dash/live-num/manifest.mpd`: the same live stream addressed by `@duration` and the clock.
 */
function dashStreams(t0: number) {
  const { mpd, reps } = loadDash();
  const vodNum = mpd.replace(/<SegmentTimeline>[\s\S]*?<\/SegmentTimeline>\s*/g, "").replace(/<SegmentTemplate /g, `<SegmentTemplate duration="${SEG_TICKS}" `);
  // The live stream has been running for a full window when the upstream starts.
  const ast = t0 - DASH_WINDOW * 2000;
  const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
  const liveMpd = (timeline: boolean) => {
    const last = Math.floor((Date.now() - ast) / 2000) - 1; // 0-based index of the newest complete segment
    const first = Math.max(0, last - DASH_WINDOW + 1);
    const rep = (id: string, bw: number, w: number, h: number, codecs: string) => {
      const tpl = timeline
        ? `<SegmentTemplate timescale="${TIMESCALE}" initialization="init-$RepresentationID$.mp4" media="seg-$RepresentationID$-$Number$.m4s" startNumber="${first + 1}"><SegmentTimeline><S t="${first * SEG_TICKS}" d="${SEG_TICKS}" r="${last - first}"/></SegmentTimeline></SegmentTemplate>`
        : `<SegmentTemplate timescale="${TIMESCALE}" duration="${SEG_TICKS}" initialization="init-$RepresentationID$.mp4" media="seg-$RepresentationID$-$Number$.m4s" startNumber="1"/>`;
      return `<Representation id="${id}" mimeType="video/mp4" codecs="${codecs}" bandwidth="${bw}" width="${w}" height="${h}">${tpl}</Representation>`;
    };
    return [
      `<?xml version="1.0" encoding="utf-8"?>`,
      `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011" type="dynamic" availabilityStartTime="${iso(ast)}" publishTime="${iso(Date.now())}" minimumUpdatePeriod="PT2S" timeShiftBufferDepth="PT${DASH_WINDOW * 2}S" suggestedPresentationDelay="PT6S" maxSegmentDuration="PT2S" minBufferTime="PT4S">`,
      `<Period id="0" start="PT0S">`,
      `<AdaptationSet id="0" contentType="video" segmentAlignment="true" startWithSAP="1">`,
      rep("0", 180000, 640, 360, "avc1.4d401e"),
      rep("1", 90000, 426, 240, "avc1.4d4015"),
      `</AdaptationSet>`,
      `</Period>`,
      `</MPD>`,
      "",
    ].join("\n");
  };
  const available = (n: number) => n >= 1 && n - 1 <= Math.floor((Date.now() - ast) / 2000) - 1;
  return (path: string): { type: string; body: string | Buffer; rendition?: string } | null => {
    const m = /^\/dash\/(vod|vod-num|live|live-num)\/(.+)$/.exec(path);
    if (!m) return null;
    const [, stream, name] = m as unknown as [string, string, string];
    if (name === "manifest.mpd") {
      const body = stream === "vod" ? mpd : stream === "vod-num" ? vodNum : liveMpd(stream === "live");
      return { type: "application/dash+xml", body };
    }
    const init = /^init-([01])\.mp4$/.exec(name);
    if (init) return { type: "video/mp4", body: reps[Number(init[1])]!.init, rendition: init[1] };
    const chunk = /^chunk-([01])-(\d{5})\.m4s$/.exec(name);
    if (chunk && stream.startsWith("vod")) {
      const c = reps[Number(chunk[1])]!.chunks[Number(chunk[2]) - 1];
      return c ? { type: "video/mp4", body: c, rendition: chunk[1] } : null;
    }
    const seg = /^seg-([01])-(\d+)\.m4s$/.exec(name);
    if (seg && stream.startsWith("live") && available(Number(seg[2]))) {
      const k = Number(seg[2]) - 1;
      return { type: "video/mp4", body: withDecodeTime(reps[Number(seg[1])]!.chunks[k % 10]!, k * SEG_TICKS), rendition: seg[1] };
    }
    return null;
  };
}
