/**
 * One swarm (one rendition of one content): the tracker connection, the peers, the segments we
 * hold for them, and the per-segment loop that follows the switcher's decisions.
 */
import type { NetworkFacts } from "./beacon.js";
import { binaryStringToHex, hexToBinaryString, randomBinaryId } from "./binary-string.js";
import type { CoreConfig } from "./config.js";
import type { Attempt, ConnectionStats } from "./connection-stats.js";
import type { HttpError, IntegrityError, PeerProtocolError, TrackerError } from "./errors.js";
import { PeerSession, type ChannelLike } from "./peer-session.js";
import { SegmentLoader, type PlaybackInfo, type SegmentInfo, type SegmentRequest, type SegmentResult } from "./segment-loader.js";
import { awaitingPeers, type TokenBucket } from "./switcher.js";
import { TrackerClient } from "./tracker-client.js";
import type { BanReason } from "./types.js";
import { acceptOffer, channelOpen, createOffer } from "./webrtc.js";

export type { SegmentRequest, SegmentResult } from "./segment-loader.js";

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
  /** The tracker told us what it saw of our network (for the analytics beacons). */
  onNetworkFacts(facts: NetworkFacts): void;
  /** The tracker refused a connection or a request: the token may have expired. */
  onTrackerRefused(): void;
  onError(err: TrackerError | HttpError): void;
  onIntegrityFailure(err: IntegrityError): void;
  onUploaded(bytes: number, relayed: boolean): void;
  fetch: typeof fetch;
  /** STUN/TURN servers for new connections (page override, else the bootstrap's, else the default). */
  iceServers(): RTCIceServer[];
  /** Connection outcomes (stats()). */
  connections: ConnectionStats;
}

interface ConnectedPeer {
  session: PeerSession;
  pc: RTCPeerConnection;
  /** Binary id of the side that sent the offer; used to settle duplicate connections. */
  offerer: string;
}

export class Swarm {
  readonly infoHashBin: string;
  lastUsedAt: number;
  /** When the swarm was joined (start()): the join wait counts from there. */
  private startedAt: number;
  private started = false;
  private tracker: TrackerClient | null = null;
  private readonly peers = new Map<string, ConnectedPeer>();
  private readonly pendingOffers = new Map<
    string,
    { pc: RTCPeerConnection; channel: RTCDataChannel; takeEarly: () => unknown[]; timer: ReturnType<typeof setTimeout> }
  >();
  private readonly connecting = new Set<string>();
  private readonly loader: SegmentLoader;
  /** Other peers in the swarm by the tracker's last announce response (null before one). */
  private othersInSwarm: number | null = null;
  /** Peers whose connection with us failed or closed since the last announce (reported to the tracker). */
  private readonly failedPeers = new Set<string>();
  private destroyed = false;

  constructor(
    readonly infoHash: string,
    private readonly trackers: string[],
    private readonly token: () => string | null,
    private readonly ctx: SwarmContext,
  ) {
    this.infoHashBin = hexToBinaryString(infoHash);
    this.lastUsedAt = this.startedAt = ctx.now();
    this.loader = new SegmentLoader({
      config: ctx.config,
      selfId: ctx.peerId,
      now: ctx.now,
      uploadEnabled: ctx.uploadEnabled,
      peers: () => [...this.peers.values()].map((p) => p.session),
      // A swarm not started yet is one whose join is held (start-up): it will connect soon.
      awaitingPeers: () =>
        (this.tracker !== null || !this.started) &&
        awaitingPeers({
          othersInSwarm: this.othersInSwarm,
          readyPeers: [...this.peers.values()].filter((p) => p.session.isOpen && p.session.ready).length,
          msSinceJoin: ctx.now() - this.startedAt,
          joinWaitMs: ctx.config.peerJoinWaitMs,
        }),
      joinWaitLeftMs: () => this.startedAt + ctx.config.peerJoinWaitMs - ctx.now(),
      ban: ctx.ban,
      onIntegrityFailure: ctx.onIntegrityFailure,
      fetch: ctx.fetch,
    });
  }

  /**
   * Connects to the tracker; without WebRTC in this browser the swarm stays HTTP-only. Before it,
   * loads go to HTTP (no peers). Once only: later calls do nothing.
   */
  start(): void {
    if (this.started || this.destroyed) return;
    this.started = true;
    this.startedAt = this.ctx.now();
    this.loader.start();
    // Loads waiting for the held join decide again (connecting now, or HTTP-only).
    this.loader.notify();
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
      connectedPeers: () => this.peers.size,
      failedPeers: () => {
        const out = [...this.failedPeers].filter((id) => !this.peers.has(id));
        this.failedPeers.clear();
        return out;
      },
    });
    this.tracker.on("swarm", (complete, incomplete) => {
      this.othersInSwarm = Math.max(0, complete + incomplete - 1);
      this.loader.notify();
    });
    this.tracker.on("offer", (from, offerId, sdp) => void this.onOffer(from, offerId, sdp));
    this.tracker.on("answer", (from, offerId, sdp) => void this.onAnswer(from, offerId, sdp));
    this.tracker.on("state", (url, connected) => this.ctx.onTrackerState(this.infoHash, url, connected));
    this.tracker.on("network", (facts) => this.ctx.onNetworkFacts(facts));
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
    this.loader.destroy();
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
      p.session.send({ type: "hello", uploadEnabled: this.ctx.uploadEnabled(), v2: true });
    }
    this.loader.broadcastHave();
  }

  /** The rendition's segment list (every playlist load; live windows slide). */
  setSegments(segments: readonly SegmentInfo[], live: boolean): void {
    this.loader.setSegments(segments, live);
  }

  /** Where the player is: the scheduler fetches the window ahead of it from peers. */
  setPlayback(p: PlaybackInfo): void {
    this.loader.setPlayback(p);
  }

  /** A segment the player fetched over HTTP itself: kept for peers once verified. */
  adopt(sn: number, data: Uint8Array, expectedSha256: string | null): void {
    this.lastUsedAt = this.ctx.now();
    this.loader.adopt(sn, data, expectedSha256);
  }

  /** Delivers one segment to the player: from the store, a peer or HTTP. */
  load(req: SegmentRequest): Promise<SegmentResult> {
    this.lastUsedAt = this.ctx.now();
    return this.loader.load(req);
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
      const attempt = this.ctx.connections.begin(this.infoHash, binaryStringToHex(from) ?? "", "answerer");
      this.tracker?.sendAnswer(from, offerId, answer);
      const ch = await Promise.race([channel, new Promise<null>((r) => setTimeout(() => r(null), c.offerTimeoutMs))]);
      const outcome = ch ? await channelOpen(ch.channel, c.offerTimeoutMs, pc) : "timeout";
      if (!ch || outcome !== "open") {
        attempt.failed(outcome === "open" ? "timeout" : outcome);
        this.failedPeers.add(from);
        return pc.close();
      }
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
    const attempt = this.ctx.connections.begin(this.infoHash, binaryStringToHex(from) ?? "", "offerer");
    try {
      await pending.pc.setRemoteDescription({ type: "answer", sdp });
      const outcome = await channelOpen(pending.channel, this.ctx.config.offerTimeoutMs, pending.pc);
      if (outcome !== "open") {
        attempt.failed(outcome);
        this.failedPeers.add(from);
        return pending.pc.close();
      }
      this.attach(from, pending.pc, pending.channel, pending.takeEarly, this.ctx.peerId, attempt);
    } catch {
      attempt.failed("failed");
      this.failedPeers.add(from);
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
      getSegment: (sn) => this.loader.servable(sn),
      uploadAllowed: () => this.ctx.uploadEnabled(),
      uploadBucket: this.ctx.uploadBucket,
      maxSegmentBytes: this.ctx.config.maxSegmentBytes,
      sendBufferHighBytes: this.ctx.config.sendBufferHighBytes,
      chunkBytes: this.ctx.config.uploadChunkBytes,
      onUploaded: (n, relayed) => this.ctx.onUploaded(n, relayed),
    });
    const entry: ConnectedPeer = { session, pc, offerer };
    this.peers.set(peerId, entry);
    session.on("update", () => this.loader.notify());
    session.on("protocol-error", (err) => this.ctx.ban(peerId, "protocol", err));
    session.on("close", () => {
      attempt.closed();
      if (this.peers.get(peerId) === entry) {
        this.peers.delete(peerId);
        this.ctx.onPeer(this.infoHash, peerId, false);
        this.failedPeers.add(peerId);
        // Lost a peer: look for others (and tell the tracker the link is gone).
        this.tracker?.announceNow();
      }
      pc.close();
      this.loader.notify();
    });
    pc.addEventListener("connectionstatechange", () => {
      if (pc.connectionState === "failed" || pc.connectionState === "closed") session.close();
    });
    session.start(takeEarly());
    session.send({ type: "hello", uploadEnabled: this.ctx.uploadEnabled(), v2: true });
    this.loader.onPeerOpened(session);
    this.ctx.onPeer(this.infoHash, peerId, true);
    this.loader.notify();
  }

  /** Drops a peer (banned elsewhere, or now). */
  dropPeer(peerId: string): void {
    this.peers.get(peerId)?.session.close();
  }
}
