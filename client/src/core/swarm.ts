/**
 * One swarm (one rendition of one content): the tracker connection, the peers, the segments we
 * hold for them, and the per-segment loop that follows the switcher's decisions.
 */
import { binaryStringToHex, hexToBinaryString, randomBinaryId } from "./binary-string.js";
import type { CoreConfig } from "./config.js";
import type { Attempt, ConnectionStats } from "./connection-stats.js";
import { AbortedError, HttpError, IntegrityError, type PeerProtocolError, type TrackerError } from "./errors.js";
import { verifySegment } from "./integrity.js";
import { PeerSession, type ChannelLike, type Download } from "./peer-session.js";
import { decide, shouldAbandonP2P, type PeerView, type TokenBucket } from "./switcher.js";
import { TrackerClient } from "./tracker-client.js";
import type { BanReason, SegmentSource } from "./types.js";
import { acceptOffer, channelOpen, createOffer } from "./webrtc.js";

export interface SegmentRequest {
  sn: number;
  url: string;
  /** Byte range of the segment in `url` (end exclusive), as hls.js gives it. */
  rangeStart?: number;
  rangeEnd?: number;
  /** The origin's SHA-256 (64 hex); without it the segment only goes over HTTP. */
  expectedSha256: string | null;
  /** Time until the player needs the segment, in ms; read on every decision. */
  timeToDeadlineMs(): number;
  signal: AbortSignal;
}

export interface SegmentResult {
  data: Uint8Array;
  source: SegmentSource;
  httpBytes: number;
  p2pBytes: number;
  /** Binary-string id of the delivering peer. */
  peerId: string | null;
  /** The switcher's decisions for this segment, in order (e.g. `wait:peer-elected`, `p2p`). */
  decisions: string[];
  /** ms spent transferring the bytes (waiting for peers excluded): what bandwidth estimates should use. */
  transferMs: number;
}

/** What swarms share: one per client. */
export interface SwarmContext {
  config: CoreConfig;
  peerId: string;
  now(): number;
  uploadBucket: TokenBucket;
  uploadEnabled(): boolean;
  isBanned(peerId: string): boolean;
  ban(peerId: string, reason: BanReason, error: IntegrityError | PeerProtocolError): void;
  onPeer(swarm: string, peerId: string, connected: boolean): void;
  onTrackerState(swarm: string, url: string, connected: boolean): void;
  /** The tracker refused a connection or a request: the token may have expired. */
  onTrackerRefused(): void;
  onError(err: TrackerError | HttpError): void;
  onIntegrityFailure(err: IntegrityError): void;
  onUploaded(bytes: number): void;
  fetch: typeof fetch;
  /** STUN/TURN servers for new connections (page override, else the bootstrap's, else the default). */
  iceServers(): RTCIceServer[];
  /** Connection outcomes (stats, and failed attempts for the next announce). */
  connections: ConnectionStats;
}

interface ConnectedPeer {
  session: PeerSession;
  pc: RTCPeerConnection;
  /** Binary id of the side that sent the offer; used to settle duplicate connections. */
  offerer: string;
}

interface StoredSegment {
  data: Uint8Array;
  source: "http" | "p2p";
}

const MONITOR_INTERVAL_MS = 100;

export class Swarm {
  readonly infoHashBin: string;
  lastUsedAt: number;
  private readonly startedAt: number;
  private tracker: TrackerClient | null = null;
  private readonly peers = new Map<string, ConnectedPeer>();
  private readonly pendingOffers = new Map<
    string,
    { pc: RTCPeerConnection; channel: RTCDataChannel; takeEarly: () => unknown[]; timer: ReturnType<typeof setTimeout> }
  >();
  private readonly connecting = new Set<string>();
  private readonly store = new Map<number, StoredSegment>();
  private readonly fetching = new Set<number>();
  private waiters = new Set<() => void>();
  private destroyed = false;

  constructor(
    readonly infoHash: string,
    private readonly trackers: string[],
    private readonly token: () => string | null,
    private readonly ctx: SwarmContext,
  ) {
    this.infoHashBin = hexToBinaryString(infoHash);
    this.lastUsedAt = this.startedAt = ctx.now();
  }

  /** Connects to the tracker; without WebRTC in this browser the swarm stays HTTP-only. */
  start(): void {
    if (typeof RTCPeerConnection === "undefined" || this.trackers.length === 0) return;
    const c = this.ctx.config;
    this.tracker = new TrackerClient({
      urls: this.trackers,
      token: this.token,
      onRefused: () => this.ctx.onTrackerRefused(),
      infoHash: this.infoHashBin,
      peerId: this.ctx.peerId,
      createOffers: (n) => this.createOffers(n),
      wantedPeers: () => Math.min(c.offersPerAnnounce, c.maxPeers - this.peers.size - this.connecting.size),
      totals: () => {
        let uploaded = 0, downloaded = 0;
        for (const p of this.peers.values()) (uploaded += p.session.uploadedBytes), (downloaded += p.session.downloadedBytes);
        return { uploaded, downloaded };
      },
      reconnectMinMs: c.trackerReconnectMinMs,
      reconnectMaxMs: c.trackerReconnectMaxMs,
      maxAnnounceIntervalMs: c.maxAnnounceIntervalMs,
      extension: () => this.ctx.connections.takeAnnounceExtension(this.infoHash),
    });
    this.tracker.on("offer", (from, offerId, sdp) => void this.onOffer(from, offerId, sdp));
    this.tracker.on("answer", (from, offerId, sdp) => void this.onAnswer(from, offerId, sdp));
    this.tracker.on("state", (url, connected) => this.ctx.onTrackerState(this.infoHash, url, connected));
    this.tracker.on("error", (e) => this.ctx.onError(e));
    this.tracker.start();
  }

  /** Reconnects to the tracker (after the swarm token changed). */
  reconnectTracker(): void {
    this.tracker?.reconnect();
  }

  destroy(): void {
    this.destroyed = true;
    this.tracker?.stop();
    for (const p of this.pendingOffers.values()) (clearTimeout(p.timer), p.pc.close());
    this.pendingOffers.clear();
    for (const p of [...this.peers.values()]) p.session.close();
    this.notify();
  }

  get trackerConnected(): boolean {
    return this.tracker?.connected ?? false;
  }

  peerIds(): string[] {
    return [...this.peers.keys()];
  }

  /** Sends our upload state to every peer (the upload policy changed). */
  announceUploadState(): void {
    for (const p of this.peers.values()) {
      p.session.send({ type: "hello", uploadEnabled: this.ctx.uploadEnabled() });
      p.session.sendHave(this.haveList());
    }
  }

  // ---- signalling --------------------------------------------------------------------------

  private async createOffers(n: number): Promise<{ offerId: string; sdp: string }[]> {
    const c = this.ctx.config;
    const count = Math.max(0, Math.min(n, c.maxPeers - this.peers.size - this.pendingOffers.size));
    const made = await Promise.allSettled(
      Array.from({ length: count }, () => createOffer(this.ctx.iceServers(), c.iceGatheringTimeoutMs)),
    );
    const out: { offerId: string; sdp: string }[] = [];
    for (const r of made) {
      if (r.status !== "fulfilled") continue;
      if (this.destroyed) {
        r.value.pc.close();
        continue;
      }
      const offerId = randomBinaryId();
      const timer = setTimeout(() => {
        // Nobody answered in time: free the connection.
        if (this.pendingOffers.delete(offerId)) r.value.pc.close();
      }, c.offerTimeoutMs);
      this.pendingOffers.set(offerId, { pc: r.value.pc, channel: r.value.channel, takeEarly: r.value.takeEarly, timer });
      out.push({ offerId, sdp: r.value.sdp });
    }
    return out;
  }

  private async onOffer(from: string, offerId: string, sdp: string): Promise<void> {
    if (this.destroyed || this.ctx.isBanned(from) || this.peers.has(from) || this.connecting.has(from)) return;
    if (this.peers.size + this.connecting.size >= this.ctx.config.maxPeers) return;
    this.connecting.add(from);
    try {
      const c = this.ctx.config;
      const { pc, channel, sdp: answer } = await acceptOffer(this.ctx.iceServers(), c.iceGatheringTimeoutMs, sdp);
      if (this.destroyed) return pc.close();
      const attempt = this.ctx.connections.begin(this.infoHash, binaryStringToHex(from) ?? "", from, "answerer");
      this.tracker?.sendAnswer(from, offerId, answer);
      const ch = await Promise.race([channel, new Promise<null>((r) => setTimeout(() => r(null), c.offerTimeoutMs))]);
      const outcome = ch ? await channelOpen(ch.channel, c.offerTimeoutMs, pc) : "timeout";
      if (!ch || outcome !== "open") return (attempt.failed(outcome === "open" ? "timeout" : outcome), pc.close());
      this.attach(from, pc, ch.channel, ch.takeEarly, from, attempt);
    } catch {
      // A broken offer only costs us that connection.
    } finally {
      this.connecting.delete(from);
    }
  }

  private async onAnswer(from: string, offerId: string, sdp: string): Promise<void> {
    const pending = this.pendingOffers.get(offerId);
    if (!pending) return;
    this.pendingOffers.delete(offerId);
    clearTimeout(pending.timer);
    if (this.destroyed || this.ctx.isBanned(from) || this.peers.has(from)) return pending.pc.close();
    const attempt = this.ctx.connections.begin(this.infoHash, binaryStringToHex(from) ?? "", from, "offerer");
    try {
      await pending.pc.setRemoteDescription({ type: "answer", sdp });
      const outcome = await channelOpen(pending.channel, this.ctx.config.offerTimeoutMs, pending.pc);
      if (outcome !== "open") return (attempt.failed(outcome), pending.pc.close());
      this.attach(from, pending.pc, pending.channel, pending.takeEarly, this.ctx.peerId, attempt);
    } catch {
      attempt.failed("failed");
      pending.pc.close();
    }
  }

  private attach(peerId: string, pc: RTCPeerConnection, channel: RTCDataChannel, takeEarly: () => unknown[], offerer: string, attempt: Attempt): void {
    let session: PeerSession | undefined;
    void attempt.opened(pc, () => ({ received: session?.downloadedBytes ?? 0, sent: session?.uploadedBytes ?? 0 }));
    if (this.destroyed || this.ctx.isBanned(peerId)) return (attempt.closed(), pc.close());
    const existing = this.peers.get(peerId);
    if (existing) {
      // Both sides offered at once: keep the connection offered by the smaller id (both sides agree).
      const keepNew = offerer < existing.offerer;
      if (!keepNew) return (attempt.closed(), pc.close());
      this.peers.delete(peerId);
      existing.session.close();
    }
    session = new PeerSession(peerId, channel as unknown as ChannelLike, {
      now: this.ctx.now,
      getSegment: (sn) => this.store.get(sn)?.data,
      uploadAllowed: () => this.ctx.uploadEnabled(),
      uploadBucket: this.ctx.uploadBucket,
      maxSegmentBytes: this.ctx.config.maxSegmentBytes,
      sendBufferHighBytes: this.ctx.config.sendBufferHighBytes,
      chunkBytes: this.ctx.config.uploadChunkBytes,
      onUploaded: (n) => this.ctx.onUploaded(n),
    });
    const entry: ConnectedPeer = { session, pc, offerer };
    this.peers.set(peerId, entry);
    session.on("update", () => this.notify());
    session.on("protocol-error", (err) => this.ctx.ban(peerId, "protocol", err));
    session.on("close", () => {
      attempt.closed();
      if (this.peers.get(peerId) === entry) {
        this.peers.delete(peerId);
        this.ctx.onPeer(this.infoHash, peerId, false);
        // Lost a peer: look for others.
        this.tracker?.announceNow();
      }
      pc.close();
      this.notify();
    });
    pc.addEventListener("connectionstatechange", () => {
      if (pc.connectionState === "failed" || pc.connectionState === "closed") session.close();
    });
    session.start(takeEarly());
    session.send({ type: "hello", uploadEnabled: this.ctx.uploadEnabled() });
    session.sendHave(this.haveList());
    session.sendFetching(this.fetching);
    this.ctx.onPeer(this.infoHash, peerId, true);
    this.notify();
  }

  /** Drops a peer (banned elsewhere, or now). */
  dropPeer(peerId: string): void {
    this.peers.get(peerId)?.session.close();
  }

  // ---- segments ----------------------------------------------------------------------------

  private haveList(): number[] {
    return this.ctx.uploadEnabled() ? [...this.store.keys()] : [];
  }

  private broadcastHave(): void {
    const have = this.haveList();
    for (const p of this.peers.values()) p.session.sendHave(have);
  }

  private broadcastFetching(): void {
    for (const p of this.peers.values()) p.session.sendFetching(this.fetching);
  }

  private keep(sn: number, data: Uint8Array, source: "http" | "p2p"): void {
    this.store.delete(sn);
    this.store.set(sn, { data, source });
    while (this.store.size > this.ctx.config.cacheMaxSegments) {
      this.store.delete(this.store.keys().next().value as number);
    }
    this.broadcastHave();
  }

  private notify(): void {
    const ws = this.waiters;
    this.waiters = new Set();
    for (const w of ws) w();
  }

  /** Resolves on the next peer update, after `ms`, or when aborted. */
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
    return [...this.peers.values()]
      .filter((p) => p.session.isOpen && p.session.ready)
      .map((p) => ({
        id: p.session.remoteId,
        uploadEnabled: p.session.remoteUploadEnabled,
        has: p.session.remoteHave.has(sn) && !absentFrom.has(p.session.remoteId),
        fetching: p.session.remoteFetching.has(sn) && !absentFrom.has(p.session.remoteId),
        inFlight: p.session.inFlight,
      }));
  }

  /** Delivers segment `req.sn`: from our store, a peer, or HTTP, as the switcher decides. */
  async load(req: SegmentRequest): Promise<SegmentResult> {
    this.lastUsedAt = this.ctx.now();
    const absentFrom = new Set<string>();
    const decisions: string[] = [];
    let p2pFailed = false;
    for (;;) {
      if (req.signal.aborted) throw new AbortedError();
      const stored = this.store.get(req.sn);
      if (stored) return { data: stored.data, source: "cache", httpBytes: 0, p2pBytes: 0, peerId: null, decisions, transferMs: 0 };
      const d = decide({
        sn: req.sn,
        timeToDeadlineMs: req.timeToDeadlineMs(),
        selfId: this.ctx.peerId,
        selfUploadEnabled: this.ctx.uploadEnabled(),
        p2pAllowed: req.expectedSha256 !== null && !this.destroyed,
        peers: this.peerViews(req.sn, absentFrom),
        p2pFailed,
        awaitingPeers:
          this.tracker !== null &&
          this.ctx.now() - this.startedAt < this.ctx.config.peerJoinWaitMs &&
          (this.peers.size === 0 || this.connecting.size > 0 || [...this.peers.values()].some((p) => !p.session.ready)),
        httpUrgentWindowMs: this.ctx.config.httpUrgentWindowMs,
        maxInFlightPerPeer: this.ctx.config.maxInFlightPerPeer,
      });
      if (decisions.length < 20) decisions.push(d.kind === "p2p" ? "p2p" : `${d.kind}:${d.reason}`);
      if (d.kind === "wait") {
        const joinLeftMs = this.startedAt + this.ctx.config.peerJoinWaitMs - this.ctx.now();
        await this.waitForChange(d.reason === "awaiting-peers" ? Math.min(d.maxWaitMs, joinLeftMs) : d.maxWaitMs, req.signal);
        continue;
      }
      const transferStartedAt = this.ctx.now();
      const transferMs = () => this.ctx.now() - transferStartedAt;
      if (d.kind === "http") {
        const data = await this.announcingFetch(req);
        return { data, source: "http", httpBytes: data.length, p2pBytes: 0, peerId: null, decisions, transferMs: transferMs() };
      }
      const peer = this.peers.get(d.peerId);
      if (!peer) continue;
      const outcome = await this.p2pDownload(req, peer.session);
      if (outcome.kind === "retry") {
        absentFrom.add(d.peerId);
        continue;
      }
      const { data, p2pBytes } = outcome;
      if (p2pBytes === 0) {
        decisions.push("http:p2p-stalled");
        return { data, source: "http", httpBytes: data.length, p2pBytes: 0, peerId: null, decisions, transferMs: transferMs() };
      }
      const check = await verifySegment(data, req.expectedSha256!);
      if (check.ok) {
        this.keep(req.sn, data, "p2p");
        if (p2pBytes < data.length) decisions.push("http:resume-range");
        return {
          data,
          source: p2pBytes === data.length ? "p2p" : "http",
          httpBytes: data.length - p2pBytes,
          p2pBytes,
          peerId: d.peerId,
          decisions,
          transferMs: transferMs(),
        };
      }
      // Never let a peer's bad bytes reach the player: discard, ban, refetch over HTTP.
      const err = new IntegrityError(req.sn, req.expectedSha256!, check.actualSha256, binaryStringToHex(d.peerId));
      this.ctx.onIntegrityFailure(err);
      this.ctx.ban(d.peerId, "integrity", err);
      p2pFailed = true;
    }
  }

  /**
   * HTTP fetch of the whole segment while telling peers we are fetching it (so they wait for us
   * instead of fetching it too), until the bytes are verified and announced in HAVE.
   */
  private async announcingFetch(req: SegmentRequest): Promise<Uint8Array> {
    const announce = !this.fetching.has(req.sn);
    if (announce) {
      this.fetching.add(req.sn);
      this.broadcastFetching();
    }
    try {
      const data = await this.httpFetch(req, 0);
      // Only bytes that match the origin's hash are offered to peers.
      if (req.expectedSha256 !== null && (await verifySegment(data, req.expectedSha256)).ok) this.keep(req.sn, data, "http");
      return data;
    } finally {
      if (announce) {
        this.fetching.delete(req.sn);
        this.broadcastFetching();
      }
    }
  }

  /** Downloads from `session`; moves to HTTP (Range) when the peer stalls or the deadline nears. */
  private async p2pDownload(
    req: SegmentRequest,
    session: PeerSession,
  ): Promise<{ kind: "retry" } | { kind: "data"; data: Uint8Array; p2pBytes: number }> {
    const dl: Download = session.request(req.sn, 0);
    let lastReceived = 0;
    let lastRateAt = dl.startedAt;
    let rate = 0;
    const monitor = new Promise<"abandon" | "abort">((resolve) => {
      const onAbort = () => resolve("abort");
      req.signal.addEventListener("abort", onAbort, { once: true });
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
            timeToDeadlineMs: req.timeToDeadlineMs(),
            bytesRemaining: total === null ? Infinity : total - got,
            bytesPerMs: rate,
          },
          this.ctx.config,
        );
        if (abandon) resolve("abandon");
      }, MONITOR_INTERVAL_MS);
      void dl.result.finally(() => {
        clearInterval(timer);
        req.signal.removeEventListener("abort", onAbort);
      });
    });
    const first = await Promise.race([dl.result, monitor]);
    if (first === "abort") {
      dl.cancel();
      throw new AbortedError();
    }
    if (first === "abandon") {
      const partial = dl.partial().slice();
      dl.cancel();
      if (partial.length === 0) {
        // Nothing arrived: straight to HTTP for the whole segment.
        const data = await this.announcingFetch(req);
        return { kind: "data", data, p2pBytes: 0 };
      }
      const rest = await this.httpFetch(req, partial.length);
      const data = new Uint8Array(partial.length + rest.length);
      data.set(partial);
      data.set(rest, partial.length);
      return { kind: "data", data, p2pBytes: partial.length };
    }
    if (first.kind === "done") return { kind: "data", data: first.data, p2pBytes: first.data.length };
    return { kind: "retry" };
  }

  /** GET the segment, or its tail from `offset` with Range. */
  private async httpFetch(req: SegmentRequest, offset: number): Promise<Uint8Array> {
    const headers: Record<string, string> = {};
    const start = (req.rangeStart ?? 0) + offset;
    if (start > 0 || req.rangeEnd !== undefined) {
      headers.Range = `bytes=${start}-${req.rangeEnd !== undefined ? req.rangeEnd - 1 : ""}`;
    }
    {
      let res: Response;
      try {
        res = await this.ctx.fetch(req.url, { headers, signal: req.signal });
      } catch (e) {
        if (req.signal.aborted) throw new AbortedError();
        throw new HttpError(req.url, 0, (e as Error).message);
      }
      if (!res.ok) throw new HttpError(req.url, res.status, `status ${res.status}`);
      const body = new Uint8Array(await res.arrayBuffer());
      // A server that ignored our Range sent the whole resource: take the part we asked for.
      if (headers.Range && res.status === 200) {
        return body.slice(start, req.rangeEnd !== undefined ? req.rangeEnd : undefined);
      }
      return body;
    }
  }
}
