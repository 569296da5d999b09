/**
 * The bootstrap the origin plugin injects into the master playlist (docs/CONTRACTS.md):
 * `#EXT-X-SESSION-DATA:DATA-ID="io.meshcdn.bootstrap",VALUE="<base64url JSON>"`; in a DASH MPD,
 * `<SupplementalProperty schemeIdUri="urn:meshcdn:bootstrap:2026" value="<base64url JSON>"/>`.
 */
import { BootstrapError } from "./errors.js";

export const BOOTSTRAP_DATA_ID = "io.meshcdn.bootstrap";
/** `schemeIdUri` of the DASH bootstrap descriptor. */
export const DASH_BOOTSTRAP_SCHEME = "urn:meshcdn:bootstrap:2026";

export interface Bootstrap {
  v: 1;
  /** Content id (the token's `cid` claim). */
  content: string;
  /** Tracker WebSocket URLs, primary first. */
  trackers: string[];
  /** Swarm token (JWT), or null when the tracker runs open. */
  token: string | null;
  /** Variant URI exactly as in the master playlist (DASH: `Representation@id`) -> info_hash (40 hex). */
  swarms: Record<string, string>;
  /** HLS: hashes in `#EXT-X-MESHCDN-SHA256` tags; DASH: in the hash document `hashes`. */
  integrity: "sha256-tags" | "sha256-document";
  /** DASH: URL of the hash document, relative to the MPD. */
  hashes?: string;
  /**
   * STUN/TURN servers configured at the origin (`RTCIceServer` shape; TURN credentials expire with
   * `token`). Absent when the origin configures none: the client then uses DEFAULT_ICE_SERVERS.
   */
  ice?: RTCIceServer[];
  /** Where the client posts analytics beacons (absent when the origin runs no analytics). */
  beacons?: { url: string; intervalMs: number };
}

const ICE_URL = /^(stun|stuns|turn|turns):[^\s/][^\s]*$/;

/** Validates the bootstrap's `ice` list (each entry an `RTCIceServer`). */
function parseIce(value: unknown): RTCIceServer[] {
  if (!Array.isArray(value)) throw new BootstrapError("`ice` must be an array");
  return value.map((entry, i) => {
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) throw new BootstrapError(`ice[${i}] must be an object`);
    const e = entry as Record<string, unknown>;
    const urls = typeof e.urls === "string" ? [e.urls] : e.urls;
    if (!Array.isArray(urls) || urls.length === 0 || !urls.every((u) => typeof u === "string" && ICE_URL.test(u))) {
      throw new BootstrapError(`ice[${i}].urls must be stun:/stuns:/turn:/turns: URLs`);
    }
    const server: RTCIceServer = { urls: urls as string[] };
    for (const k of ["username", "credential"] as const) {
      if (e[k] === undefined) continue;
      if (typeof e[k] !== "string") throw new BootstrapError(`ice[${i}].${k} must be a string`);
      server[k] = e[k] as string;
    }
    if ((urls as string[]).some((u) => u.startsWith("turn")) && (server.username === undefined || server.credential === undefined)) {
      throw new BootstrapError(`ice[${i}]: a TURN server needs username and credential`);
    }
    return server;
  });
}

/** The optional `beacons` field; a malformed one only turns beacons off (P2P stays on). */
function parseBeacons(o: unknown): Bootstrap["beacons"] {
  if (typeof o !== "object" || o === null) return undefined;
  const b = o as Record<string, unknown>;
  if (typeof b.url !== "string" || b.url === "") return undefined;
  if (typeof b.interval_ms !== "number" || !Number.isFinite(b.interval_ms) || b.interval_ms < 1000) return undefined;
  return { url: b.url, intervalMs: b.interval_ms };
}

function base64UrlDecode(s: string): string {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) throw new BootstrapError("VALUE is not base64url");
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4);
  let bin: string;
  try {
    bin = atob(b64);
  } catch {
    throw new BootstrapError("VALUE is not base64url");
  }
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new BootstrapError("VALUE is not UTF-8");
  }
}

/** Parses and validates the session-data VALUE. Throws BootstrapError; the caller then stays HTTP-only. */
export function parseBootstrap(value: string): Bootstrap {
  let json: unknown;
  try {
    json = JSON.parse(base64UrlDecode(value));
  } catch (e) {
    if (e instanceof BootstrapError) throw e;
    throw new BootstrapError("VALUE is not JSON");
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new BootstrapError("not a JSON object");
  const o = json as Record<string, unknown>;
  if (o.v !== 1) throw new BootstrapError(`unsupported version ${JSON.stringify(o.v)}`);
  if (typeof o.content !== "string" || o.content === "") throw new BootstrapError("`content` must be a non-empty string");
  if (!Array.isArray(o.trackers) || o.trackers.length === 0) throw new BootstrapError("`trackers` must be a non-empty array");
  for (const t of o.trackers) {
    if (typeof t !== "string" || !/^wss?:\/\//.test(t)) throw new BootstrapError(`tracker ${JSON.stringify(t)} is not a ws(s) URL`);
  }
  if (o.token !== null && typeof o.token !== "string") throw new BootstrapError("`token` must be a string or null");
  if (typeof o.swarms !== "object" || o.swarms === null || Array.isArray(o.swarms)) throw new BootstrapError("`swarms` must be an object");
  const swarms: Record<string, string> = {};
  for (const [uri, hash] of Object.entries(o.swarms as Record<string, unknown>)) {
    if (typeof hash !== "string" || !/^[0-9a-f]{40}$/.test(hash)) throw new BootstrapError(`swarm of ${uri} is not 40 lower-case hex`);
    swarms[uri] = hash;
  }
  if (o.integrity !== "sha256-tags" && o.integrity !== "sha256-document") throw new BootstrapError(`unsupported integrity ${JSON.stringify(o.integrity)}`);
  const out: Bootstrap = { v: 1, content: o.content, trackers: o.trackers as string[], token: (o.token as string | null) ?? null, swarms, integrity: o.integrity };
  if (o.integrity === "sha256-document") {
    if (typeof o.hashes !== "string" || o.hashes === "") throw new BootstrapError("`hashes` must name the hash document");
    out.hashes = o.hashes;
  }
  if (o.ice !== undefined) out.ice = parseIce(o.ice);
  const beacons = parseBeacons(o.beacons);
  if (beacons) out.beacons = beacons;
  return out;
}

/** Encodes a bootstrap the way the origin plugin does (used by tests and tools). */
export function encodeBootstrap(b: Bootstrap): string {
  const bytes = new TextEncoder().encode(JSON.stringify(b));
  let bin = "";
  for (const x of bytes) bin += String.fromCharCode(x);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The tracker URL with the swarm token as `?token=` (how the edge host expects it). */
export function trackerUrlWithToken(url: string, token: string | null): string {
  if (!token) return url;
  return `${url}${url.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}`;
}

/**
 * The bootstrap VALUE of an MPD's descriptor (`<SupplementalProperty schemeIdUri=DASH_BOOTSTRAP_SCHEME
 * value=...>`, attributes in either order), or null when it has none. Base64url needs no XML escapes.
 */
export function bootstrapValueFromMpd(text: string): string | null {
  for (const m of text.matchAll(/<(?:[\w.-]+:)?SupplementalProperty\b[^>]*>/g)) {
    const el = m[0];
    const scheme = /\sschemeIdUri\s*=\s*["']([^"']*)["']/.exec(el)?.[1];
    const value = /\svalue\s*=\s*["']([^"']*)["']/.exec(el)?.[1];
    if (scheme === DASH_BOOTSTRAP_SCHEME && value !== undefined) return value;
  }
  return null;
}

/**
 * Maps a media playlist to its swarm's info_hash: a `swarms` key equal to `playlistUrl` as is
 * (DASH adapters pass the `Representation@id`), else the key that resolves against the master
 * playlist URL to the same URL. Query strings are ignored, since CDNs often add their own.
 */
export function swarmForPlaylist(b: Bootstrap, masterUrl: string, playlistUrl: string): string | null {
  const exact = Object.prototype.hasOwnProperty.call(b.swarms, playlistUrl) ? b.swarms[playlistUrl] : undefined;
  if (exact !== undefined) return exact;
  const strip = (u: string) => {
    try {
      const x = new URL(u, masterUrl);
      return x.origin + x.pathname;
    } catch {
      return null;
    }
  };
  const target = strip(playlistUrl);
  for (const [uri, hash] of Object.entries(b.swarms)) if (strip(uri) === target) return hash;
  return null;
}
