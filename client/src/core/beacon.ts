/**
 * Analytics beacons (docs/analytics.md): every `intervalMs` the client posts what happened since
 * its previous beacon (HTTP / P2P / uploaded bytes, peers, connection outcomes by candidate type,
 * stalls, startup time) to the URL the origin put in the bootstrap's `beacons` field, with the
 * swarm token. Sent with `navigator.sendBeacon` (a `text/plain` body: no CORS preflight, survives
 * the page closing), else `fetch(…, { keepalive: true, mode: "no-cors" })`. Best effort: a lost
 * beacon loses only its own interval, and nothing here can disturb playback.
 */

/** The bootstrap's `beacons` field. */
export interface BeaconTarget {
  url: string;
  intervalMs: number;
}

/** What a beacon reads from the client's stats (cumulative counters). */
export interface BeaconStats {
  httpBytes: number;
  p2pBytes: number;
  uploadedBytes: number;
  peers: readonly unknown[];
  /**
   * Connection outcomes (`stats().connections`, connection-stats.ts): opened connections by the
   * type of their selected candidate pair, and failed attempts (which never selected a pair).
   */
  connections?: { failed: number; byType: Partial<Record<Candidate, number>> };
}

export const CANDIDATE_TYPES = ["host", "srflx", "prflx", "relay"] as const;
type Candidate = (typeof CANDIDATE_TYPES)[number];
/** Candidate types plus `none`: attempts that failed before ICE selected a pair. */
type Outcome = Candidate | "none";
const OUTCOMES: readonly Outcome[] = [...CANDIDATE_TYPES, "none"];

/** Cumulative counters at one beacon. */
export interface BeaconTotals {
  atMs: number;
  httpBytes: number;
  p2pBytes: number;
  uploadedBytes: number;
  stalls: number;
  stallMs: number;
  conn: Record<Outcome, { ok: number; fail: number }>;
}

/** The beacon JSON (version 1). */
export interface BeaconBody {
  v: 1;
  token: string;
  content: string;
  rendition: string;
  viewer: string;
  seq: number;
  interval_ms: number;
  http: number;
  p2p: number;
  up: number;
  peers: number;
  conn: Partial<Record<Outcome, { ok: number; fail: number }>>;
  stalls: number;
  stall_ms: number;
  startup_ms?: number;
  player: string;
  /** The network facts the edge saw (its first announce reply's `meshcdn.net`). */
  net?: NetworkFacts;
}

/** What the edge knows of this viewer's network (docs/protocol.md); unknown facts absent. */
export interface NetworkFacts {
  asn?: number;
  country?: string;
  region?: string;
  continent?: string;
}

const MAX_FACT_LEN = 64;

/** The well-formed facts of an announce reply's `meshcdn.net` (anything else: undefined). */
export function networkFactsOf(x: unknown): NetworkFacts | undefined {
  if (typeof x !== "object" || x === null) return undefined;
  const v = x as Record<string, unknown>;
  const out: NetworkFacts = {};
  if (typeof v.asn === "number" && Number.isInteger(v.asn) && v.asn > 0 && v.asn <= 0xffff_ffff) out.asn = v.asn;
  for (const key of ["country", "region", "continent"] as const) {
    const s = v[key];
    if (typeof s === "string" && s.length > 0 && s.length <= MAX_FACT_LEN && !/[\u0000-\u001f\u007f]/.test(s)) out[key] = s;
  }
  return Object.keys(out).length ? out : undefined;
}

const count = (x: unknown): number => (typeof x === "number" && Number.isFinite(x) && x > 0 ? Math.floor(x) : 0);

/** The cumulative totals of `stats` (and the playback watcher's) at `atMs`. */
export function totalsOf(stats: BeaconStats, playback: { stalls: number; stallMs: number }, atMs: number): BeaconTotals {
  const conn = {} as BeaconTotals["conn"];
  for (const type of CANDIDATE_TYPES) conn[type] = { ok: count(stats.connections?.byType[type]), fail: 0 };
  conn.none = { ok: 0, fail: count(stats.connections?.failed) };
  return {
    atMs,
    httpBytes: count(stats.httpBytes),
    p2pBytes: count(stats.p2pBytes),
    uploadedBytes: count(stats.uploadedBytes),
    stalls: count(playback.stalls),
    stallMs: count(playback.stallMs),
    conn,
  };
}

/** Deltas between two totals (counters never go backwards: a reset counts from 0). */
export function beaconBetween(
  prev: BeaconTotals,
  now: BeaconTotals,
  fixed: {
    token: string;
    content: string;
    rendition: string;
    viewer: string;
    seq: number;
    peers: number;
    player: string;
    startupMs?: number;
    net?: NetworkFacts;
  },
): BeaconBody {
  const d = (a: number, b: number) => (b >= a ? b - a : b);
  // A connection whose selected pair changed type moves from one count to another: only gains count.
  const gain = (a: number, b: number) => Math.max(0, b - a);
  const conn: BeaconBody["conn"] = {};
  for (const type of OUTCOMES) {
    const ok = gain(prev.conn[type].ok, now.conn[type].ok);
    const fail = gain(prev.conn[type].fail, now.conn[type].fail);
    if (ok || fail) conn[type] = { ok, fail };
  }
  const interval = Math.max(0, Math.round(now.atMs - prev.atMs));
  const body: BeaconBody = {
    v: 1,
    token: fixed.token,
    content: fixed.content,
    rendition: fixed.rendition,
    viewer: fixed.viewer,
    seq: fixed.seq,
    interval_ms: interval,
    http: d(prev.httpBytes, now.httpBytes),
    p2p: d(prev.p2pBytes, now.p2pBytes),
    up: d(prev.uploadedBytes, now.uploadedBytes),
    peers: fixed.peers,
    conn,
    stalls: d(prev.stalls, now.stalls),
    // Stalled time is part of the interval (the server refuses more).
    stall_ms: Math.min(interval, d(prev.stallMs, now.stallMs)),
    player: fixed.player,
  };
  if (fixed.startupMs !== undefined) body.startup_ms = Math.max(0, Math.round(fixed.startupMs));
  if (fixed.net) body.net = fixed.net;
  return body;
}

/** Minimal media element surface the watcher needs (an HTMLMediaElement in browsers). */
export interface MediaLike {
  addEventListener(type: string, fn: () => void): void;
  removeEventListener(type: string, fn: () => void): void;
}

/**
 * Startup time (from `attach` or the first `loadstart` to the first `playing`) and stalls
 * (`waiting` after playback had started, until `playing` again) of one media element.
 */
export class PlaybackWatcher {
  stalls = 0;
  private stalledMs = 0;
  private stallStartedAt: number | null = null;
  private loadStartedAt: number | null = null;
  startupMs: number | undefined;
  private detachFn: (() => void) | null = null;
  private media: MediaLike | null = null;

  constructor(private readonly now: () => number) {}

  /** Stalled time so far, including a stall still going on. */
  get stallMs(): number {
    return this.stalledMs + (this.stallStartedAt !== null ? this.now() - this.stallStartedAt : 0);
  }

  attach(media: MediaLike): void {
    if (media === this.media) return; // already followed: keep the startup clock running
    this.detach();
    this.media = media;
    this.loadStartedAt = this.now();
    const on = {
      loadstart: () => {
        if (this.startupMs === undefined) this.loadStartedAt ??= this.now();
      },
      playing: () => {
        const t = this.now();
        if (this.startupMs === undefined && this.loadStartedAt !== null) this.startupMs = t - this.loadStartedAt;
        if (this.stallStartedAt !== null) {
          this.stalledMs += t - this.stallStartedAt;
          this.stallStartedAt = null;
        }
      },
      waiting: () => {
        if (this.startupMs === undefined || this.stallStartedAt !== null) return; // not started yet, or already stalled
        this.stalls++;
        this.stallStartedAt = this.now();
      },
      // A user pause or seek is not a stall: close the open one.
      pause: () => this.endStall(),
      seeking: () => this.endStall(),
    };
    for (const [type, fn] of Object.entries(on)) media.addEventListener(type, fn);
    this.detachFn = () => {
      for (const [type, fn] of Object.entries(on)) media.removeEventListener(type, fn);
    };
  }

  private endStall(): void {
    if (this.stallStartedAt === null) return;
    this.stalledMs += this.now() - this.stallStartedAt;
    this.stallStartedAt = null;
  }

  detach(): void {
    this.endStall();
    this.detachFn?.();
    this.detachFn = null;
    this.media = null;
  }
}

/** Posts `body` without waiting for an answer; false when the browser refused to queue it. */
export function postBeacon(url: string, body: string): boolean {
  const nav = (globalThis as { navigator?: { sendBeacon?: (u: string, d: Blob) => boolean } }).navigator;
  try {
    if (nav?.sendBeacon && nav.sendBeacon(url, new Blob([body], { type: "text/plain" }))) return true;
  } catch {
    // fall through to fetch
  }
  if (typeof fetch !== "function") return false;
  fetch(url, { method: "POST", body, keepalive: true, mode: "no-cors", headers: { "content-type": "text/plain" } }).catch(() => {});
  return true;
}

export interface BeaconReporterOptions {
  target: BeaconTarget;
  /** URL of the manifest the bootstrap came from (relative beacon URLs resolve against it). */
  baseUrl: string;
  content: string;
  viewer: string;
  /** The player's name and version (read at each beacon: adapters name it when they attach). */
  player: () => string;
  token: () => string | null;
  rendition: () => string;
  stats: () => BeaconStats;
  playback: PlaybackWatcher;
  now: () => number;
  /** The network facts the edge reported, once known. */
  network?: () => NetworkFacts | undefined;
  send?: (url: string, body: string) => boolean;
}

/** Sends a beacon every `intervalMs` and a last one on `stop()` or when the page is hidden. */
export class BeaconReporter {
  readonly url: string;
  private prev: BeaconTotals;
  private seq = 0;
  private startupSent = false;
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly onHide = () => this.send();
  /** Beacons handed to the browser. */
  sent = 0;

  constructor(private readonly o: BeaconReporterOptions) {
    this.url = new URL(o.target.url, o.baseUrl).href;
    this.prev = totalsOf(o.stats(), o.playback, o.now());
  }

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => this.send(), Math.max(1000, this.o.target.intervalMs));
    (globalThis as { addEventListener?: (t: string, f: () => void) => void }).addEventListener?.("pagehide", this.onHide);
  }

  /** Sends the beacon of the time since the previous one (nothing without a token). */
  send(): boolean {
    const token = this.o.token();
    if (!token) return false;
    const stats = this.o.stats();
    const now = totalsOf(stats, this.o.playback, this.o.now());
    const startup = this.startupSent ? undefined : this.o.playback.startupMs;
    const body = beaconBetween(this.prev, now, {
      token,
      content: this.o.content,
      rendition: this.o.rendition(),
      viewer: this.o.viewer,
      seq: this.seq,
      peers: stats.peers.length,
      player: this.o.player(),
      startupMs: startup,
      net: this.o.network?.(),
    });
    const queued = (this.o.send ?? postBeacon)(this.url, JSON.stringify(body));
    if (queued) {
      this.prev = now;
      this.seq++;
      this.sent++;
      if (startup !== undefined) this.startupSent = true;
    }
    return queued;
  }

  /** Stops the timer after a last beacon. */
  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    (globalThis as { removeEventListener?: (t: string, f: () => void) => void }).removeEventListener?.("pagehide", this.onHide);
    this.send();
  }
}
