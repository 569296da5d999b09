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
  };

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
