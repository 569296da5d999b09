/**
 * The segments of one swarm: the byte-bounded store, the player's segment requests (`load`), and
 * the scheduler that fetches ahead of the player from peers. Decisions come from the pure functions
 * of switcher.ts; this module does the I/O (peer downloads, HTTP, timers). The swarm (swarm.ts)
 * owns the signalling and hands connected peers in through `peers()`.
 */
import { binaryStringToHex } from "./binary-string.js";
import type { CoreConfig } from "./config.js";
import { AbortedError, HttpError, IntegrityError, type PeerProtocolError } from "./errors.js";
import { GrowingSegment } from "./growing-segment.js";
import { verifySegment } from "./integrity.js";
import type { Download, PeerSession } from "./peer-session.js";
import { DESKTOP_STORE_BYTES, MOBILE_STORE_BYTES, SegmentStore } from "./segment-store.js";
import { decide, planHttpPrefetch, planPrefetch, shouldAbandonP2P, wantWindow, type PeerView, type SchedulerPeer } from "./switcher.js";
import type { BanReason, SegmentSource } from "./types.js";

/** One media segment of the playlist, as a player adapter describes it (no player types). */
export interface SegmentInfo {
  sn: number;
  url: string;
  /** Byte range in `url` (end exclusive). */
  rangeStart?: number;
  rangeEnd?: number;
  /** Media time where it starts, and its duration, in seconds. */
  startSec: number;
  durationSec: number;
  /** The origin's SHA-256 (64 hex); without it the segment only goes over HTTP. */
  expectedSha256: string | null;
}

/** Where the player is, in media time (seconds). */
export interface PlaybackInfo {
  positionSec: number;
  /** Playback rate (1 = normal); 0 or less counts as 1. */
  rate: number;
}

export interface SegmentRequest {
  sn: number;
  url: string;
  rangeStart?: number;
  rangeEnd?: number;
  expectedSha256: string | null;
  /** Time until the player needs the segment, in ms; read on every decision. */
  timeToDeadlineMs(): number;
  /** The player's own timeout for this load (ms); waits for peers stay well below it. */
  loadTimeoutMs?: number;
  signal: AbortSignal;
}

export interface SegmentResult {
  data: Uint8Array;
  source: SegmentSource;
  httpBytes: number;
  p2pBytes: number;
  /** Binary-string id of the delivering peer. */
  peerId: string | null;
  /** The decisions taken for this segment, in order (e.g. `wait:peer-elected`, `p2p`). */
  decisions: string[];
  /** ms spent transferring the bytes (waiting for peers excluded): what bandwidth estimates should use. */
  transferMs: number;
}

export interface LoaderContext {
  config: CoreConfig;
  selfId: string;
  now(): number;
  uploadEnabled(): boolean;
  /** Open peer sessions of the swarm. */
  peers(): Iterable<PeerSession>;
  /** Non-urgent segments should wait for the first peer connections (switcher.awaitingPeers). */
  awaitingPeers(): boolean;
  /** How much longer joining may delay a segment, in ms. */
  joinWaitLeftMs(): number;
  ban(peerId: string, reason: BanReason, error: IntegrityError | PeerProtocolError): void;
  onIntegrityFailure(err: IntegrityError): void;
  fetch: typeof fetch;
}

type JobOutcome =
  | { kind: "done" }
  | { kind: "partial" }
  | { kind: "retry" }
  | { kind: "bad" };

interface Job {
  sn: number;
  peerId: string;
  /** The deadline the job watches: the player's request once it waits on the job, else the schedule's. */
  deadline: () => number;
  result: Promise<JobOutcome>;
}

interface Held {
  peerId: string | null;
  /** Handed to the player already (later hits are cache hits, not P2P bytes). */
  delivered: boolean;
  transferMs: number;
}

const MONITOR_INTERVAL_MS = 100;
const SCHEDULE_INTERVAL_MS = 250;
/** Self-elected HTTP fetches ahead of our player at once. */
const MAX_HTTP_PREFETCH = 2;

/** The default store budget for this device: smaller on phones. */
export function defaultStoreBytes(): number {
  const nav = (globalThis as { navigator?: Navigator & { userAgentData?: { mobile?: boolean } } }).navigator;
  const mobile = nav?.userAgentData?.mobile ?? /Mobi|Android/i.test(nav?.userAgent ?? "");
  return mobile ? MOBILE_STORE_BYTES : DESKTOP_STORE_BYTES;
}

export class SegmentLoader {
  readonly store: SegmentStore;
  private readonly held = new Map<number, Held>();
  /** Segments we are fetching over HTTP (announced in FETCHING). */
  private readonly fetching = new Set<number>();
  /** Those of them still arriving, served to peers while they download (relay). */
  private readonly arriving = new Map<number, GrowingSegment>();
  private readonly jobs = new Map<number, Job>();
  /** Self-elected HTTP fetches the scheduler started ahead of our player. */
  private readonly httpJobs = new Map<number, Promise<void>>();
  private readonly stop = new AbortController();
  /** Bytes a stalled peer download left behind, resumed over HTTP when the player asks. */
  private readonly partials = new Map<number, { data: Uint8Array; peerId: string }>();
  /** Peers that failed to deliver a segment (ABSENT, closed, stalled): not asked for it again. */
  private readonly failedFor = new Map<number, Set<string>>();
  private segments = new Map<number, SegmentInfo>();
  private order: SegmentInfo[] = [];
  private live = false;
  private playback: PlaybackInfo | null = null;
  private waiters = new Set<() => void>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private planQueued = false;
  private destroyed = false;

  constructor(private readonly ctx: LoaderContext) {
    this.store = new SegmentStore(ctx.config.storeMaxBytes > 0 ? ctx.config.storeMaxBytes : defaultStoreBytes());
  }

  start(): void {
    this.timer ??= setInterval(() => this.plan(), SCHEDULE_INTERVAL_MS);
  }

  destroy(): void {
    this.destroyed = true;
    clearInterval(this.timer);
    this.stop.abort();
    this.notify();
  }

  // ---- what the player tells us ------------------------------------------------------------

  /** The playlist's segments (on every playlist load; live windows slide). */
  setSegments(segments: readonly SegmentInfo[], live: boolean): void {
    this.order = [...segments].sort((a, b) => a.sn - b.sn);
    this.segments = new Map(this.order.map((s) => [s.sn, s]));
    this.live = live;
    this.reposition();
  }

  setPlayback(p: PlaybackInfo): void {
    this.playback = p;
    this.reposition();
  }

  /** The segment at the playhead and the last one of the P2P window ahead of it. */
  private windowBounds(): { playheadSn: number; lastSn: number } | null {
    const p = this.playback;
    return p ? wantWindow(this.order, p.positionSec, p.rate, this.ctx.config.p2pWindowMs, this.live) : null;
  }

  private reposition(): void {
    const w = this.windowBounds();
    const evicted = this.store.setPosition(w?.playheadSn ?? null, this.live && this.order.length ? this.order[0]!.sn : null);
    for (const sn of evicted) this.held.delete(sn);
    const lowest = this.order[0]?.sn;
    if (lowest !== undefined && this.live) {
      for (const m of [this.partials, this.failedFor]) for (const sn of [...m.keys()]) if (sn < lowest) m.delete(sn);
    }
    if (evicted.length) this.broadcastHave();
    if (w) for (const s of this.ctx.peers()) s.sendState({ playheadSn: w.playheadSn, wantFirst: w.playheadSn, wantLast: w.lastSn });
    this.queuePlan();
  }

  // ---- what peers learn from us ------------------------------------------------------------

  /** A new peer session: tell it what we hold, fetch and want. */
  onPeerOpened(session: PeerSession): void {
    session.sendHave(this.ctx.uploadEnabled() ? this.store.ranges() : []);
    session.sendFetching(this.fetching);
    const w = this.windowBounds();
    if (w) session.sendState({ playheadSn: w.playheadSn, wantFirst: w.playheadSn, wantLast: w.lastSn });
  }

  broadcastHave(): void {
    const ranges = this.ctx.uploadEnabled() ? this.store.ranges() : [];
    for (const s of this.ctx.peers()) s.sendHave(ranges);
  }

  private broadcastFetching(): void {
    for (const s of this.ctx.peers()) s.sendFetching(this.fetching);
  }

  /** Something changed (peer update, new peer, peer gone): wake waiting loads, re-plan. */
  notify(): void {
    const ws = this.waiters;
    this.waiters = new Set();
    for (const w of ws) w();
    this.queuePlan();
  }

  private keep(sn: number, data: Uint8Array, source: "http" | "p2p", peerId: string | null, delivered: boolean, transferMs: number): void {
    const evicted = this.store.put(sn, { data, source });
    for (const e of evicted) this.held.delete(e);
    if (this.store.has(sn)) this.held.set(sn, { peerId, delivered, transferMs });
    this.partials.delete(sn);
    this.broadcastHave();
  }

  /** A segment the player fetched over HTTP itself (delivered already): kept once its bytes match the origin's hash. */
  adopt(sn: number, data: Uint8Array, expectedSha256: string | null): void {
    if (expectedSha256 === null || this.store.has(sn)) return;
    void verifySegment(data, expectedSha256).then(
      (check) => {
        if (check.ok && !this.destroyed && !this.store.has(sn)) this.keep(sn, data, "http", null, true, 0);
      },
      () => undefined,
    );
  }

  /** What a peer's REQUEST for `sn` is served from: the verified segment, or one still arriving over HTTP. */
  servable(sn: number): Uint8Array | GrowingSegment | undefined {
    return this.store.get(sn)?.data ?? this.arriving.get(sn);
  }

  // ---- the scheduler -----------------------------------------------------------------------

  private queuePlan(): void {
    if (this.planQueued || this.destroyed) return;
    this.planQueued = true;
    queueMicrotask(() => {
      this.planQueued = false;
      this.plan();
    });
  }

  private readyPeers(): PeerSession[] {
    return [...this.ctx.peers()].filter((s) => s.isOpen && s.ready);
  }

  /** Starts P2P downloads for the window ahead of the playhead (planPrefetch decides which). */
  private plan(): void {
    if (this.destroyed) return;
    const p = this.playback;
    const w = this.windowBounds();
    if (!p || !w) return;
    const rate = p.rate > 0 ? p.rate : 1;
    const window = this.order
      .filter((s) => s.sn >= w.playheadSn && s.sn <= w.lastSn && s.expectedSha256 !== null)
      .map((s) => ({ sn: s.sn, timeToDeadlineMs: Math.max(0, ((s.startSec - p.positionSec) / rate) * 1000) }));
    if (window.length === 0) return;
    const peers: SchedulerPeer[] = this.readyPeers().map((s) => ({
      id: s.remoteId,
      uploadEnabled: s.remoteUploadEnabled,
      inFlight: s.inFlight,
      bytesPerMs: s.throughputBytesPerMs,
      // A version-2 peer fetching a segment over HTTP serves it while it arrives (relay).
      has: (sn) => (s.remoteHas(sn) || (s.remoteV2 && s.remoteFetching.has(sn))) && !this.failedFor.get(sn)?.has(s.remoteId),
    }));
    const plan = planPrefetch({
      window,
      busy: (sn) => this.busy(sn),
      peers,
      inFlight: this.jobs.size,
      maxDownloads: this.ctx.config.maxP2PDownloads,
      maxInFlightPerPeer: this.ctx.config.maxInFlightPerPeer,
      httpUrgentWindowMs: this.ctx.config.httpUrgentWindowMs,
    });
    for (const { sn, peerId } of plan) {
      const seg = this.segments.get(sn)!;
      const session = this.readyPeers().find((s) => s.remoteId === peerId);
      if (!session) continue;
      const deadline = () => {
        const pb = this.playback;
        return pb ? Math.max(0, ((seg.startSec - pb.positionSec) / (pb.rate > 0 ? pb.rate : 1)) * 1000) : Infinity;
      };
      this.startJob(sn, seg.expectedSha256!, session, deadline);
    }
    this.planHttp(w.playheadSn, window);
  }

  private busy(sn: number): boolean {
    return this.store.has(sn) || this.jobs.has(sn) || this.fetching.has(sn) || this.partials.has(sn) || this.httpJobs.has(sn);
  }

  /** Starts the self-elected HTTP fetches some player (ours or a peer's) will ask for soon. */
  private planHttp(playheadSn: number, window: readonly { sn: number; timeToDeadlineMs: number }[]): void {
    const ready = this.readyPeers();
    if (ready.length === 0 || this.ctx.awaitingPeers() || !this.ctx.uploadEnabled()) return;
    const at = this.segments.get(playheadSn);
    const segSec = at && at.durationSec > 0 ? at.durationSec : 2;
    const bufferSec = (this.ctx.config.playerBufferMs > 0 ? this.ctx.config.playerBufferMs : 30_000) / 1000;
    let furthest = playheadSn;
    for (const s of ready) if (s.remoteState?.playheadSn != null) furthest = Math.max(furthest, s.remoteState.playheadSn);
    const sns = planHttpPrefetch({
      window,
      busy: (sn) => this.busy(sn),
      selfId: this.ctx.selfId,
      selfUploadEnabled: true,
      peers: (sn) => this.peerViews(sn, new Set()),
      horizonSn: furthest + Math.ceil(bufferSec / segSec),
      inFlight: this.httpJobs.size,
      maxDownloads: MAX_HTTP_PREFETCH,
    });
    for (const sn of sns) {
      const seg = this.segments.get(sn)!;
      const req: SegmentRequest = {
        sn,
        url: seg.url,
        rangeStart: seg.rangeStart,
        rangeEnd: seg.rangeEnd,
        expectedSha256: seg.expectedSha256,
        timeToDeadlineMs: () => Infinity,
        signal: this.stop.signal,
      };
      const job = this.announcingFetch(req, false)
        .then(() => undefined, () => undefined)
        .finally(() => {
          this.httpJobs.delete(sn);
          this.notify();
        });
      this.httpJobs.set(sn, job);
    }
  }

  /** A P2P download of `sn` from `session`, verified and stored when complete. */
  private startJob(sn: number, sha256: string, session: PeerSession, deadline: () => number): Job {
    const startedAt = this.ctx.now();
    const dl: Download = session.request(sn, 0);
    const job: Job = { sn, peerId: session.remoteId, deadline, result: Promise.resolve({ kind: "retry" }) };
    job.result = this.runJob(job, dl, sha256, startedAt).finally(() => {
      if (this.jobs.get(sn) === job) this.jobs.delete(sn);
      this.notify();
    });
    this.jobs.set(sn, job);
    return job;
  }

  private async runJob(job: Job, dl: Download, sha256: string, startedAt: number): Promise<JobOutcome> {
    let lastReceived = 0;
    let lastRateAt = dl.startedAt;
    let rate = 0;
    const monitor = new Promise<"abandon">((resolve) => {
      const timer = setInterval(() => {
        const now = this.ctx.now();
        const got = dl.received();
        if (now > lastRateAt) rate = 0.5 * rate + 0.5 * ((got - lastReceived) / (now - lastRateAt));
        lastReceived = got;
        lastRateAt = now;
        const total = dl.total();
        const abandon = shouldAbandonP2P(
          {
            msSinceProgress: now - dl.lastProgressAt(),
            timeToDeadlineMs: job.deadline(),
            bytesRemaining: total === null ? Infinity : total - got,
            bytesPerMs: rate,
          },
          this.ctx.config,
        );
        if (abandon || this.destroyed) resolve("abandon");
      }, MONITOR_INTERVAL_MS);
      void dl.result.finally(() => clearInterval(timer));
    });
    const first = await Promise.race([dl.result, monitor]);
    const failed = () => {
      let set = this.failedFor.get(job.sn);
      if (!set) this.failedFor.set(job.sn, (set = new Set()));
      set.add(job.peerId);
    };
    if (first === "abandon") {
      const partial = dl.partial().slice();
      dl.cancel();
      failed();
      if (partial.length > 0 && !this.destroyed) this.partials.set(job.sn, { data: partial, peerId: job.peerId });
      return { kind: "partial" };
    }
    if (first.kind !== "done") {
      failed();
      return { kind: "retry" };
    }
    const check = await verifySegment(first.data, sha256);
    if (check.ok) {
      this.keep(job.sn, first.data, "p2p", job.peerId, false, this.ctx.now() - startedAt);
      return { kind: "done" };
    }
    // Never let a peer's bad bytes reach the player: discard and ban; the player's request goes to HTTP.
    const err = new IntegrityError(job.sn, sha256, check.actualSha256, binaryStringToHex(job.peerId));
    this.ctx.onIntegrityFailure(err);
    this.ctx.ban(job.peerId, "integrity", err);
    failed();
    return { kind: "bad" };
  }

  // ---- the player's requests ---------------------------------------------------------------

  /** Resolves on the next change, after `ms`, or when aborted. */
  private waitForChange(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        signal.removeEventListener("abort", done);
        this.waiters.delete(done);
        resolve();
      };
      const t = setTimeout(done, Math.max(0, ms));
      signal.addEventListener("abort", done);
      this.waiters.add(done);
    });
  }

  private peerViews(sn: number, absentFrom: Set<string>): PeerView[] {
    const failed = this.failedFor.get(sn);
    return this.readyPeers().map((s) => {
      const skip = absentFrom.has(s.remoteId) || failed?.has(s.remoteId) === true;
      const st = s.remoteState;
      return {
        id: s.remoteId,
        uploadEnabled: s.remoteUploadEnabled,
        has: s.remoteHas(sn),
        fetching: s.remoteFetching.has(sn),
        relays: s.remoteV2 && s.remoteFetching.has(sn),
        avoid: skip,
        inFlight: s.inFlight,
        wants: st ? sn >= st.wantFirst && sn <= st.wantLast : undefined,
      };
    });
  }

  /** Delivers segment `req.sn`: from our store, a peer, or HTTP, as the switcher decides. */
  async load(req: SegmentRequest): Promise<SegmentResult> {
    const startedAt = this.ctx.now();
    const absentFrom = new Set<string>();
    const decisions: string[] = [];
    const log = (d: string) => void (decisions.length < 20 && decisions.push(d));
    let p2pFailed = false;
    for (;;) {
      if (req.signal.aborted) throw new AbortedError();
      const stored = this.store.get(req.sn);
      if (stored) {
        const h = this.held.get(req.sn);
        if (h && !h.delivered) {
          // Fetched ahead by the scheduler: its bytes count for this first delivery.
          h.delivered = true;
          if (stored.source === "p2p") {
            return { data: stored.data, source: "p2p", httpBytes: 0, p2pBytes: stored.data.length, peerId: h.peerId, decisions, transferMs: h.transferMs };
          }
          log("http:prefetched");
          return { data: stored.data, source: "http", httpBytes: stored.data.length, p2pBytes: 0, peerId: null, decisions, transferMs: h.transferMs };
        }
        return { data: stored.data, source: "cache", httpBytes: 0, p2pBytes: 0, peerId: null, decisions, transferMs: 0 };
      }
      const partial = this.partials.get(req.sn);
      if (partial && req.expectedSha256 !== null) {
        this.partials.delete(req.sn);
        log("http:resume-range");
        const t0 = this.ctx.now();
        const rest = await this.httpFetch(req, partial.data.length);
        const data = new Uint8Array(partial.data.length + rest.length);
        data.set(partial.data);
        data.set(rest, partial.data.length);
        const check = await verifySegment(data, req.expectedSha256);
        if (check.ok) {
          this.keep(req.sn, data, "http", null, true, this.ctx.now() - t0);
          return { data, source: "http", httpBytes: rest.length, p2pBytes: partial.data.length, peerId: partial.peerId, decisions, transferMs: this.ctx.now() - t0 };
        }
        // The peer's part was wrong (the server's bytes are trusted): ban it, fetch the whole over HTTP.
        const err = new IntegrityError(req.sn, req.expectedSha256, check.actualSha256, binaryStringToHex(partial.peerId));
        this.ctx.onIntegrityFailure(err);
        this.ctx.ban(partial.peerId, "integrity", err);
        p2pFailed = true;
        continue;
      }
      const httpJob = this.httpJobs.get(req.sn);
      if (httpJob) {
        const ok = await Promise.race([
          httpJob.then(() => true),
          new Promise<false>((r) => req.signal.addEventListener("abort", () => r(false), { once: true })),
        ]);
        if (!ok) throw new AbortedError();
        if (!this.store.has(req.sn)) p2pFailed = true; // it failed: our own request goes to HTTP now
        continue;
      }
      const job = this.jobs.get(req.sn);
      if (job) {
        job.deadline = () => req.timeToDeadlineMs();
        const outcome = await Promise.race([
          job.result,
          new Promise<null>((r) => req.signal.addEventListener("abort", () => r(null), { once: true })),
        ]);
        if (outcome === null) throw new AbortedError();
        if (outcome.kind === "retry") absentFrom.add(job.peerId);
        if (outcome.kind === "bad") p2pFailed = true;
        continue;
      }
      const elapsed = this.ctx.now() - startedAt;
      const d = decide({
        sn: req.sn,
        timeToDeadlineMs: req.timeToDeadlineMs(),
        selfId: this.ctx.selfId,
        selfUploadEnabled: this.ctx.uploadEnabled(),
        p2pAllowed: req.expectedSha256 !== null && !this.destroyed,
        peers: this.peerViews(req.sn, absentFrom),
        p2pFailed,
        awaitingPeers: this.ctx.awaitingPeers(),
        httpUrgentWindowMs: this.ctx.config.httpUrgentWindowMs,
        maxInFlightPerPeer: this.ctx.config.maxInFlightPerPeer,
        waitCapMs: req.loadTimeoutMs ? Math.max(0, req.loadTimeoutMs / 2 - elapsed) : undefined,
      });
      log(d.kind === "p2p" ? "p2p" : `${d.kind}:${d.reason}`);
      if (d.kind === "wait") {
        await this.waitForChange(d.reason === "awaiting-peers" ? Math.min(d.maxWaitMs, this.ctx.joinWaitLeftMs()) : d.maxWaitMs, req.signal);
        continue;
      }
      if (d.kind === "http") {
        const t0 = this.ctx.now();
        const data = await this.announcingFetch(req);
        return { data, source: "http", httpBytes: data.length, p2pBytes: 0, peerId: null, decisions, transferMs: this.ctx.now() - t0 };
      }
      const session = this.readyPeers().find((s) => s.remoteId === d.peerId);
      if (!session) continue;
      this.startJob(req.sn, req.expectedSha256!, session, () => req.timeToDeadlineMs());
    }
  }

  /**
   * HTTP fetch of the whole segment while telling peers we are fetching it (so they wait for us
   * instead of fetching it too), until the bytes are verified and announced in HAVE.
   */
  private async announcingFetch(req: SegmentRequest, forPlayer = true): Promise<Uint8Array> {
    const announce = !this.fetching.has(req.sn);
    if (announce) {
      this.fetching.add(req.sn);
      this.broadcastFetching();
    }
    // Whole-resource fetches are relayed to peers as they arrive (byte ranges are not: rare, and small).
    const relay = announce && req.expectedSha256 !== null && req.rangeStart === undefined && req.rangeEnd === undefined;
    const sink = relay ? new GrowingSegment(null) : undefined;
    if (sink) this.arriving.set(req.sn, sink);
    try {
      const t0 = this.ctx.now();
      const data = await this.httpFetch(req, 0, sink);
      // Only bytes that match the origin's hash are offered to peers.
      if (req.expectedSha256 !== null && (await verifySegment(data, req.expectedSha256)).ok) {
        this.keep(req.sn, data, "http", null, forPlayer, this.ctx.now() - t0);
      }
      return data;
    } catch (e) {
      sink?.fail();
      throw e;
    } finally {
      if (sink && this.arriving.get(req.sn) === sink) this.arriving.delete(req.sn);
      if (announce) {
        this.fetching.delete(req.sn);
        this.broadcastFetching();
      }
    }
  }

  /** GET the segment, or its tail from `offset` with Range; a whole-resource body also streams into `sink`. */
  private async httpFetch(req: SegmentRequest, offset: number, sink?: GrowingSegment): Promise<Uint8Array> {
    const headers: Record<string, string> = {};
    const start = (req.rangeStart ?? 0) + offset;
    if (start > 0 || req.rangeEnd !== undefined) {
      headers.Range = `bytes=${start}-${req.rangeEnd !== undefined ? req.rangeEnd - 1 : ""}`;
    }
    let res: Response;
    try {
      res = await this.ctx.fetch(req.url, { headers, signal: req.signal });
    } catch (e) {
      if (req.signal.aborted) throw new AbortedError();
      throw new HttpError(req.url, 0, (e as Error).message);
    }
    if (!res.ok) throw new HttpError(req.url, res.status, `status ${res.status}`);
    if (sink && !headers.Range && res.status === 200 && res.body) return this.streamInto(req, res, sink);
    const body = new Uint8Array(await res.arrayBuffer());
    // A server that ignored our Range sent the whole resource: take the part we asked for.
    if (headers.Range && res.status === 200) {
      return body.slice(start, req.rangeEnd !== undefined ? req.rangeEnd : undefined);
    }
    return body;
  }

  /**
   * Reads the body chunk by chunk, feeding `sink` (peers are served from it meanwhile); returns the
   * whole body. The sink is best effort: a Content-Length that does not match the bytes (e.g. a
   * compressed transfer, whose encoding header a cross-origin page cannot see) fails the relay
   * (peers get ABSENT and go elsewhere), never the player's own fetch.
   */
  private async streamInto(req: SegmentRequest, res: Response, sink: GrowingSegment): Promise<Uint8Array> {
    const length = Number(res.headers.get("content-length") ?? NaN);
    if (Number.isSafeInteger(length) && length >= 0) sink.setTotal(length);
    const reader = res.body!.getReader();
    const chunks: Uint8Array[] = [];
    let n = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        n += value.length;
        sink.append(value);
      }
    } catch (e) {
      sink.fail();
      if (req.signal.aborted) throw new AbortedError();
      throw new HttpError(req.url, 0, (e as Error).message);
    }
    sink.finish();
    const out = new Uint8Array(n);
    let at = 0;
    for (const c of chunks) (out.set(c, at), (at += c.length));
    return out;
  }
}
