/**
 * The player-free core: bootstrap, swarms (one per rendition), bans, upload policy, stats and
 * events. The hls.js adapter (../hlsjs) feeds it segment requests; other players could too.
 */
import { BeaconReporter, PlaybackWatcher, type MediaLike, type NetworkFacts } from "./beacon.js";
import { binaryStringToHex, randomBinaryId } from "./binary-string.js";
import { swarmForPlaylist, type Bootstrap } from "./bootstrap.js";
import { resolveConfig, type CoreConfig, type CoreConfigInput } from "./config.js";
import { ConnectionStats } from "./connection-stats.js";
import { AbortedError, HttpError, type IntegrityError, type MeshCdnError, type PeerProtocolError } from "./errors.js";
import { TypedEmitter } from "./events.js";
import { Swarm } from "./swarm.js";
import type { PlaybackInfo, SegmentInfo, SegmentRequest } from "./segment-loader.js";
import { TokenBucket } from "./switcher.js";
import type { BanReason, MeshCdnEvents, MeshCdnStats, SegmentRecord } from "./types.js";
import { fetchBootstrapFromMaster, TokenKeeper } from "./token.js";
import { uploadOffReason, watchDeviceState, type DeviceState } from "./upload-policy.js";
import { resolveIceServers } from "./webrtc.js";

/** Swarms (renditions) kept connected at once; ABR switches make the older ones idle. */
const MAX_SWARMS = 2;
const MAX_SEGMENT_RECORDS = 500;

export interface LoadRequest extends Omit<SegmentRequest, "expectedSha256"> {
  /** Absolute URL of the media playlist the segment belongs to (selects the swarm). */
  playlistUrl: string;
  expectedSha256: string | null;
}

export interface LoadResult {
  data: Uint8Array;
  record: SegmentRecord;
  /** ms the transfer itself took (time spent waiting for peers excluded). */
  transferMs: number;
}

export class MeshCore extends TypedEmitter<MeshCdnEvents> {
  readonly config: CoreConfig;
  /** Our WebTorrent peer id (20-char binary string). */
  readonly peerId = randomBinaryId("-MC0001-");
  private bootstrap: Bootstrap | null = null;
  private masterUrl = "";
  private tokens: TokenKeeper | null = null;
  private readonly swarms = new Map<string, Swarm>();
  private readonly banned = new Map<string, BanReason>();
  private readonly uploadBucket: TokenBucket;
  private device: DeviceState = {};
  private uploadOff: string | null = null;
  private stopWatching: (() => void) | null = null;
  private readonly totals = { httpBytes: 0, p2pBytes: 0, uploadedBytes: 0, relayedBytes: 0, integrityFailures: 0, tokenRefreshes: 0 };
  private readonly records: SegmentRecord[] = [];
  private trackerUp = new Map<string, boolean>();
  /** Analytics beacons of the current bootstrap (when it names a beacon URL). */
  private beacons: BeaconReporter | null = null;
  private readonly playback = new PlaybackWatcher(() => Date.now());
  /** info_hash of the swarm of the last segment loaded (the rendition playing). */
  private lastSwarm = "";
  /** The ICE servers of the latest bootstrap (replaced when a token refresh brings a new one). */
  private bootstrapIce: RTCIceServer[] | undefined;
  private readonly connections = new ConnectionStats(() => Date.now());
  /** What the edge last told us of our network (sent in the beacons). */
  private networkFacts: NetworkFacts | undefined;

  /** The player's name and version in the analytics beacons (`setPlayer`). */
  private player = "";
  /** Swarms are made but not joined (no tracker, no peers) until releaseJoins(): see holdJoins(). */
  private joinsHeld = false;
  /** While joins are held: the start-up's first media segment is still the player's to load. */
  private startupSegmentPending = false;

  constructor(config: CoreConfigInput = {}) {
    super();
    this.config = resolveConfig(config);
    const rate = this.config.uploadRateLimitBytesPerSec;
    this.uploadBucket = new TokenBucket(rate > 0 ? rate : Infinity, Math.max(64 * 1024, rate), Date.now());
    this.uploadOff = uploadOffReason(this.config.uploadPolicy, this.device);
    this.stopWatching = watchDeviceState((d) => {
      this.device = d;
      this.refreshUploadState();
    });
  }

  /** Sets (or clears, with null) the stream's bootstrap. Replacing it drops every swarm. */
  setBootstrap(bootstrap: Bootstrap | null, masterUrl: string): void {
    for (const s of this.swarms.values()) s.destroy();
    this.swarms.clear();
    this.tokens?.stop();
    this.tokens = null;
    this.bootstrap = bootstrap;
    this.bootstrapIce = bootstrap?.ice;
    this.masterUrl = masterUrl;
    if (bootstrap?.token) this.tokens = this.keepTokenFresh(bootstrap.token, masterUrl);
    this.startBeacons(bootstrap, masterUrl);
  }

  /** Names the player (and its version) for the analytics beacons, e.g. `hls.js 1.6.2`. */
  setPlayer(name: string): void {
    this.player = name.slice(0, 64);
  }

  /** Follows a media element for the beacons' startup time and stalls. */
  watchMedia(media: MediaLike): void {
    this.playback.attach(media);
  }

  private startBeacons(bootstrap: Bootstrap | null, masterUrl: string): void {
    this.beacons?.stop();
    this.beacons = null;
    if (!bootstrap?.beacons || !bootstrap.token) return;
    const b = bootstrap;
    try {
      this.beacons = new BeaconReporter({
        target: b.beacons!,
        baseUrl: masterUrl,
        content: b.content,
        viewer: binaryStringToHex(this.peerId) ?? "",
        player: () => this.player,
        token: () => this.tokens?.current ?? b.token,
        rendition: () => Object.entries(b.swarms).find(([, hash]) => hash === this.lastSwarm)?.[0] ?? "",
        stats: () => this.stats(),
        playback: this.playback,
        now: () => Date.now(),
        network: () => this.networkFacts,
      });
      this.beacons.start();
    } catch {
      this.beacons = null; // a beacon URL that does not parse: no analytics, playback unaffected
    }
  }

  private keepTokenFresh(initial: string, masterUrl: string): TokenKeeper {
    const getToken = this.config.getToken;
    const keeper = new TokenKeeper(initial, {
      // The master playlist's bootstrap also brings fresh TURN credentials (they expire with the token).
      fetchToken:
        getToken ??
        (async () => {
          const b = await fetchBootstrapFromMaster(masterUrl);
          if (this.tokens === keeper) this.bootstrapIce = b.ice;
          return b.token;
        }),
      marginMs: this.config.tokenRefreshMarginMs,
      now: () => Date.now(),
      retryMs: Math.max(5_000, this.config.trackerReconnectMaxMs),
    });
    keeper.on("token", (_token, expiresAtMs) => {
      if (this.tokens !== keeper) return;
      this.totals.tokenRefreshes++;
      this.emit("token-refreshed", { expiresAtMs });
      for (const s of this.swarms.values()) s.reconnectTracker();
    });
    keeper.on("error", (err) => this.emit("error", err));
    return keeper;
  }

  /**
   * Joins the swarm of a media playlist now (tracker socket, first offers), before any segment is
   * requested: call it as soon as the player knows which rendition it starts with. While joins are
   * held (holdJoins()) the swarm is made now and joined at releaseJoins().
   */
  prepare(playlistUrl: string): void {
    this.swarmFor(playlistUrl);
  }

  /**
   * Holds swarm joins back: swarms made from now on connect to nothing until releaseJoins(); the
   * player loads the start-up's first segment itself (playerLoadsStartupSegment, adopt()), and
   * later loads wait for the join as in a swarm that is connecting (bounded by their deadline).
   * For the player's start-up: the tracker socket, the first offers (RTCPeerConnections) and the
   * first peer transfers compete with the start-up's own work (playlist parsing, the first
   * segment's transmuxing and append) for the page's main thread and the device's CPU, and the
   * first segment goes to HTTP anyway (nothing is buffered).
   */
  holdJoins(): void {
    this.joinsHeld = true;
    this.startupSegmentPending = true;
  }

  /** Whether swarm joins are held (start-up). */
  get joinsAreHeld(): boolean {
    return this.joinsHeld;
  }

  /**
   * Whether the next media segment is the start-up's first, for the player's own loader (a copy
   * comes back through adopt()). Later segments go through the core even while joins are held:
   * they wait for the join (bounded by their deadline and `peerJoinWaitMs`, as for any swarm that
   * is connecting) instead of all going to HTTP before the first peer connection can open.
   */
  get playerLoadsStartupSegment(): boolean {
    return this.joinsHeld && this.startupSegmentPending;
  }

  /** Joins the swarms made while joins were held, and any made later, at once. */
  releaseJoins(): void {
    if (!this.joinsHeld) return;
    this.joinsHeld = false;
    this.startupSegmentPending = false;
    for (const s of this.swarms.values()) s.start();
  }

  /**
   * The media playlist's segments, on every (re)load of it: the scheduler fetches from peers
   * within them, and live windows tell the store what no peer can ask for any more.
   */
  setSegments(playlistUrl: string, segments: readonly SegmentInfo[], live: boolean): void {
    this.swarmFor(playlistUrl)?.setSegments(segments, live);
  }

  /** Where playback is (media time): call it often (every ~250 ms and on seeks). */
  setPlayback(p: PlaybackInfo): void {
    for (const s of this.swarms.values()) s.setPlayback(p);
  }

  /** Reports a problem found outside the core (e.g. a bad bootstrap) as an `error` event. */
  reportError(err: MeshCdnError): void {
    this.emit("error", err);
  }

  get p2pEnabled(): boolean {
    return this.bootstrap !== null;
  }

  get uploadEnabled(): boolean {
    return this.uploadOff === null;
  }

  /** Re-reads the upload policy (e.g. after a config change by the page). */
  private refreshUploadState(): void {
    const off = uploadOffReason(this.config.uploadPolicy, this.device);
    if (off === this.uploadOff) return;
    this.uploadOff = off;
    for (const s of this.swarms.values()) s.announceUploadState();
    this.emit("upload-state", { uploadEnabled: off === null, reason: off });
  }

  /** Turns upload on or off by the page's own decision (on top of the policy). */
  setUploadDisabled(disabled: boolean): void {
    this.config.uploadPolicy.disabled = disabled;
    this.refreshUploadState();
  }

  private swarmFor(playlistUrl: string): Swarm | null {
    const b = this.bootstrap;
    if (!b) return null;
    const infoHash = swarmForPlaylist(b, this.masterUrl, playlistUrl);
    if (!infoHash) return null;
    let s = this.swarms.get(infoHash);
    if (!s) {
      const keeper = this.tokens;
      s = new Swarm(infoHash, b.trackers, () => keeper?.current ?? b.token, {
        config: this.config,
        peerId: this.peerId,
        now: () => Date.now(),
        uploadBucket: this.uploadBucket,
        uploadEnabled: () => this.uploadEnabled,
        isBanned: (id) => this.banned.has(id),
        ban: (id, reason, error) => this.ban(id, reason, error),
        onPeer: (swarm, id, connected) =>
          this.emit(connected ? "peer-connected" : "peer-disconnected", { swarm, peerId: binaryStringToHex(id) ?? "" }),
        onTrackerRefused: () => keeper?.refreshIfStale(),
        onNetworkFacts: (facts) => {
          this.networkFacts = facts;
        },
        onTrackerState: (swarm, url, connected) => {
          this.trackerUp.set(swarm, connected);
          this.emit("tracker-state", { swarm, url, connected });
        },
        onError: (err) => this.emit("error", err),
        onIntegrityFailure: (err) => {
          this.totals.integrityFailures++;
          this.emit("integrity-failure", err);
        },
        onUploaded: (n, relayed) => {
          this.totals.uploadedBytes += n;
          if (relayed) this.totals.relayedBytes += n;
        },
        fetch: (input, init) => globalThis.fetch(input, init),
        iceServers: () => resolveIceServers(this.config.iceServers, this.bootstrapIce),
        connections: this.connections,
      });
      this.swarms.set(infoHash, s);
      if (!this.joinsHeld) s.start();
      // Keep the most recently used swarms only.
      while (this.swarms.size > MAX_SWARMS) {
        const oldest = [...this.swarms.values()].reduce((a, b2) => (a.lastUsedAt <= b2.lastUsedAt ? a : b2));
        oldest.destroy();
        this.swarms.delete(oldest.infoHash);
        this.trackerUp.delete(oldest.infoHash);
      }
    }
    return s;
  }

  private ban(peerId: string, reason: BanReason, error: IntegrityError | PeerProtocolError): void {
    if (this.banned.has(peerId)) return;
    this.banned.set(peerId, reason);
    for (const s of this.swarms.values()) s.dropPeer(peerId);
    this.emit("peer-banned", { peerId: binaryStringToHex(peerId) ?? "", reason, error });
  }

  /** Loads one media segment via the swarm of its playlist (HTTP-only when there is none). */
  async load(req: LoadRequest): Promise<LoadResult> {
    const started = Date.now();
    const swarm = this.swarmFor(req.playlistUrl);
    if (swarm) this.lastSwarm = swarm.infoHash;
    let result;
    try {
      if (swarm) {
        result = await swarm.load(req);
      } else {
        const data = await plainHttp(req);
        result = { data, source: "http" as const, httpBytes: data.length, p2pBytes: 0, peerId: null, decisions: ["http:no-swarm"], transferMs: Date.now() - started };
      }
    } catch (e) {
      if (e instanceof HttpError) this.emit("error", e);
      throw e;
    }
    const record = this.recordLoad(swarm, req.sn, result, Date.now() - started);
    return { data: result.data, record, transferMs: result.transferMs };
  }

  /**
   * A media segment the player loaded over HTTP with its own loader (while joins are held, so the
   * start-up is the player's alone): counted as HTTP bytes and, once its bytes match the origin's
   * hash, kept for peers. `data` must be the caller's own copy.
   */
  adopt(req: { sn: number; playlistUrl: string; expectedSha256: string | null }, data: Uint8Array, durationMs: number): void {
    this.startupSegmentPending = false;
    const swarm = this.swarmFor(req.playlistUrl);
    if (swarm) this.lastSwarm = swarm.infoHash;
    swarm?.adopt(req.sn, data, req.expectedSha256);
    const result = { data, source: "http" as const, httpBytes: data.length, p2pBytes: 0, peerId: null, decisions: ["http:startup"] };
    this.recordLoad(swarm, req.sn, result, durationMs);
  }

  private recordLoad(swarm: Swarm | null, sn: number, result: Omit<SegmentRecord, "swarm" | "sn" | "bytes" | "durationMs" | "peerId"> & { data: Uint8Array; peerId: string | null }, durationMs: number): SegmentRecord {
    this.totals.httpBytes += result.httpBytes;
    this.totals.p2pBytes += result.p2pBytes;
    const record: SegmentRecord = {
      swarm: swarm?.infoHash ?? "",
      sn,
      source: result.source,
      bytes: result.data.length,
      httpBytes: result.httpBytes,
      p2pBytes: result.p2pBytes,
      peerId: result.peerId ? binaryStringToHex(result.peerId) : null,
      durationMs,
      decisions: result.decisions,
    };
    this.records.push(record);
    if (this.records.length > MAX_SEGMENT_RECORDS) this.records.shift();
    this.emit("segment-loaded", record);
    return record;
  }

  stats(): MeshCdnStats {
    const { httpBytes, p2pBytes } = this.totals;
    const peers = new Set<string>();
    for (const s of this.swarms.values()) for (const id of s.peerIds()) peers.add(binaryStringToHex(id) ?? "");
    return {
      p2pEnabled: this.p2pEnabled,
      httpBytes,
      p2pBytes,
      uploadedBytes: this.totals.uploadedBytes,
      relayedBytes: this.totals.relayedBytes,
      offloadRatio: httpBytes + p2pBytes > 0 ? p2pBytes / (httpBytes + p2pBytes) : 0,
      peers: [...peers],
      bannedPeers: [...this.banned.keys()].map((id) => binaryStringToHex(id) ?? ""),
      trackerConnected: [...this.swarms.values()].some((s) => s.trackerConnected),
      uploadEnabled: this.uploadEnabled,
      integrityFailures: this.totals.integrityFailures,
      tokenExpiresAtMs: this.tokens?.expiresAtMs ?? null,
      tokenRefreshes: this.totals.tokenRefreshes,
      peerId: binaryStringToHex(this.peerId) ?? "",
      segments: this.records.map((r) => ({ ...r })),
      connections: this.connections.totals(),
    };
  }

  destroy(): void {
    this.stopWatching?.();
    this.stopWatching = null;
    this.setBootstrap(null, "");
    this.playback.detach();
  }
}

/** HTTP for segments outside any swarm (no bootstrap entry for the rendition). */
async function plainHttp(req: SegmentRequest): Promise<Uint8Array> {
  const headers: Record<string, string> = {};
  if (req.rangeStart !== undefined || req.rangeEnd !== undefined) {
    headers.Range = `bytes=${req.rangeStart ?? 0}-${req.rangeEnd !== undefined ? req.rangeEnd - 1 : ""}`;
  }
  let res: Response;
  try {
    res = await fetch(req.url, { headers, signal: req.signal });
  } catch (e) {
    if (req.signal.aborted) throw new AbortedError();
    throw new HttpError(req.url, 0, (e as Error).message);
  }
  if (!res.ok) throw new HttpError(req.url, res.status, `status ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}
