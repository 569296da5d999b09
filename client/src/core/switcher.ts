/**
 * The hybrid switcher's decisions: pure functions of what the caller observed, no clock, no I/O.
 * The swarm re-asks `decide` whenever something changes (a peer's HAVE/FETCHING, a timer).
 */

/** What the switcher needs to know about one connected peer for one segment. */
export interface PeerView {
  id: string;
  /** The peer said (HELLO) it uploads; peers that do not are never waited for. */
  uploadEnabled: boolean;
  /** The segment is in the peer's last HAVE. */
  has: boolean;
  /** The segment is in the peer's last FETCHING. */
  fetching: boolean;
  /** Requests from us to this peer still in flight (spreads load across peers). */
  inFlight: number;
  /**
   * The peer's want window (its STATE) covers the segment: it will fetch it itself. False for a
   * peer already past it or too far behind, which is never elected; absent (a version-1 peer, or
   * no STATE yet) counts as wanting it, as before windows existed.
   */
  wants?: boolean;
  /** The peer is fetching it over HTTP and serves it while it arrives (peer protocol v2: relay). */
  relays?: boolean;
  /**
   * It already failed to deliver this segment to us (stalled, absent): not asked again. Its `has`
   * stays true, so it is still no fetcher candidate (every member must elect the same fetcher).
   */
  avoid?: boolean;
}

export interface SwitcherInput {
  sn: number;
  /** Time until the player needs this segment (playback reaches it), in ms. 0 = needed now. */
  timeToDeadlineMs: number;
  selfId: string;
  selfUploadEnabled: boolean;
  /** P2P is possible for this segment at all (we have its hash and a swarm). */
  p2pAllowed: boolean;
  peers: readonly PeerView[];
  /** We already tried P2P for this segment and it failed; HTTP now. */
  p2pFailed: boolean;
  /** We just joined the swarm and connections to peers are being set up: worth waiting for them. */
  awaitingPeers: boolean;
  httpUrgentWindowMs: number;
  /** Most requests in flight to a single peer before it counts as busy. */
  maxInFlightPerPeer: number;
  /** Upper bound of any wait (below the player's own load timeout); none when absent. */
  waitCapMs?: number;
}

export type Decision =
  | { kind: "http"; reason: "urgent" | "no-p2p" | "elected" | "p2p-failed" | "no-candidates" }
  | { kind: "p2p"; peerId: string }
  /** Nothing to do yet: re-decide on the next peer update or after `maxWaitMs` at the latest. */
  | { kind: "wait"; reason: "peer-fetching" | "peer-elected" | "awaiting-peers"; maxWaitMs: number };

/** FNV-1a over a string: a small, stable hash every client computes identically. */
export function stableHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * Elects the one client (among `candidateIds`) that fetches segment `sn` from HTTP for the others.
 * Candidates are ordered by a hash of their id and the fetcher rotates with `sn`, so every client
 * with the same view elects the same fetcher and HTTP fetches spread evenly over the swarm.
 */
export function electFetcher(sn: number, candidateIds: readonly string[]): string | undefined {
  if (candidateIds.length === 0) return undefined;
  const ordered = [...candidateIds].sort((a, b) => stableHash(a) - stableHash(b) || (a < b ? -1 : a > b ? 1 : 0));
  return ordered[sn % ordered.length];
}

/**
 * The HTTP-fetcher candidates for a segment: us (when we upload) and the uploading peers that lack
 * it and whose want window covers it. Peers that will never fetch it are left out, so nobody waits
 * for them.
 */
export function fetcherCandidates(selfId: string, selfUploadEnabled: boolean, peers: readonly PeerView[]): string[] {
  const out = peers.filter((p) => p.uploadEnabled && !p.has && p.wants !== false).map((p) => p.id);
  if (selfUploadEnabled) out.push(selfId);
  return out;
}

/** Per segment, by deadline: HTTP when urgent, else a peer that has it, else wait for the elected fetcher. */
export function decide(i: SwitcherInput): Decision {
  if (!i.p2pAllowed) return { kind: "http", reason: "no-p2p" };
  if (i.p2pFailed) return { kind: "http", reason: "p2p-failed" };
  // Urgent segments are never delayed by P2P; no wait outlasts the player's own load timeout.
  const p2pWindowMs = Math.min(i.timeToDeadlineMs - i.httpUrgentWindowMs, i.waitCapMs ?? Infinity);
  if (p2pWindowMs <= 0) return { kind: "http", reason: "urgent" };

  const holders = i.peers.filter((p) => (p.has || p.relays) && !p.avoid && p.uploadEnabled && p.inFlight < i.maxInFlightPerPeer);
  if (holders.length > 0) {
    // Peers holding it before peers still receiving it, then the least busy; ties broken by a
    // per-segment hash so load spreads across holders.
    holders.sort(
      (a, b) =>
        Number(!a.has) - Number(!b.has) ||
        a.inFlight - b.inFlight ||
        stableHash(`${a.id}/${i.sn}`) - stableHash(`${b.id}/${i.sn}`),
    );
    return { kind: "p2p", peerId: holders[0]!.id };
  }
  if (i.peers.some((p) => p.uploadEnabled && !p.avoid && (p.fetching || (p.has && p.inFlight >= i.maxInFlightPerPeer)))) {
    return { kind: "wait", reason: "peer-fetching", maxWaitMs: p2pWindowMs };
  }
  // Alone only because our first connections are still opening: they may well have it.
  if (i.peers.length === 0 && i.awaitingPeers) return { kind: "wait", reason: "awaiting-peers", maxWaitMs: p2pWindowMs };
  const fetcher = electFetcher(i.sn, fetcherCandidates(i.selfId, i.selfUploadEnabled, i.peers));
  if (fetcher === undefined) return { kind: "http", reason: "no-candidates" };
  if (fetcher === i.selfId) return { kind: "http", reason: "elected" };
  return { kind: "wait", reason: "peer-elected", maxWaitMs: p2pWindowMs };
}

/** A connected peer as the scheduler sees it. */
export interface SchedulerPeer {
  id: string;
  uploadEnabled: boolean;
  /** Requests from us in flight to it. */
  inFlight: number;
  /** Measured throughput of its past deliveries to us, bytes per ms; 0 = not measured yet. */
  bytesPerMs: number;
  has(sn: number): boolean;
}

export interface PrefetchInput {
  /** Segments of the P2P window ahead of the playhead, nearest first, with ms until each is needed. */
  window: readonly { sn: number; timeToDeadlineMs: number }[];
  /** Held already, or being fetched (by us, from a peer or HTTP). */
  busy(sn: number): boolean;
  peers: readonly SchedulerPeer[];
  /** P2P downloads in flight now, and the most allowed at once. */
  inFlight: number;
  maxDownloads: number;
  maxInFlightPerPeer: number;
  /** Segments needed sooner than this are left to the player's own request (HTTP when urgent). */
  httpUrgentWindowMs: number;
}

/**
 * Which P2P downloads to start now: nearest missing segments first, each from the holder that
 * should deliver it soonest (fewest requests queued per measured byte/ms; unmeasured peers count as
 * the median of the measured ones), up to `maxDownloads` in flight. Pure: the same input gives the same plan.
 */
export function planPrefetch(i: PrefetchInput): { sn: number; peerId: string }[] {
  const out: { sn: number; peerId: string }[] = [];
  const load = new Map(i.peers.map((p) => [p.id, p.inFlight]));
  const measured = i.peers.map((p) => p.bytesPerMs).filter((r) => r > 0).sort((a, b) => a - b);
  const fallbackRate = measured.length ? measured[measured.length >> 1]! : 1;
  let slots = i.maxDownloads - i.inFlight;
  for (const seg of i.window) {
    if (slots <= 0) break;
    if (seg.timeToDeadlineMs <= i.httpUrgentWindowMs || i.busy(seg.sn)) continue;
    let best: SchedulerPeer | undefined;
    let bestCost = Infinity;
    for (const p of i.peers) {
      const q = load.get(p.id)!;
      if (!p.uploadEnabled || q >= i.maxInFlightPerPeer || !p.has(seg.sn)) continue;
      const cost = (q + 1) / (p.bytesPerMs > 0 ? p.bytesPerMs : fallbackRate);
      if (cost < bestCost || (cost === bestCost && best && stableHash(`${p.id}/${seg.sn}`) < stableHash(`${best.id}/${seg.sn}`))) {
        best = p;
        bestCost = cost;
      }
    }
    if (!best) continue;
    out.push({ sn: seg.sn, peerId: best.id });
    load.set(best.id, load.get(best.id)! + 1);
    slots--;
  }
  return out;
}

export interface HttpPrefetchInput {
  /** Segments of the want window, nearest first. */
  window: readonly { sn: number }[];
  /** Held, or being fetched by us already. */
  busy(sn: number): boolean;
  selfId: string;
  selfUploadEnabled: boolean;
  /** The peers as the switcher sees them for `sn`. */
  peers(sn: number): readonly PeerView[];
  /**
   * The furthest segment some player (ours or a peer's, by STATE) will ask for soon: its playhead
   * plus the player's forward buffer. Fetching beyond it could load bytes nobody plays.
   */
  horizonSn: number;
  inFlight: number;
  maxDownloads: number;
}

/**
 * Self-elected segments to fetch over HTTP ahead of our own player: the election made us the
 * fetcher, nobody holds or fetches it, and some player will need it soon. Without this, peers
 * ahead of us wait for our player to get there (until their copy turns urgent).
 */
export function planHttpPrefetch(i: HttpPrefetchInput): number[] {
  const out: number[] = [];
  let slots = i.maxDownloads - i.inFlight;
  for (const { sn } of i.window) {
    if (slots <= 0 || sn > i.horizonSn) break;
    if (i.busy(sn)) continue;
    const peers = i.peers(sn);
    if (peers.some((p) => p.uploadEnabled && !p.avoid && (p.has || p.fetching))) continue;
    if (electFetcher(sn, fetcherCandidates(i.selfId, i.selfUploadEnabled, peers)) !== i.selfId) continue;
    out.push(sn);
    slots--;
  }
  return out;
}

/**
 * Whether a non-urgent segment should wait for the first peer connections: not when the tracker
 * said we are alone, not once a connected peer told us what it holds; otherwise (others are in the
 * swarm, or the tracker has not answered yet) until `joinWaitMs` after joining at the most.
 */
export function awaitingPeers(s: {
  /** Other peers in the swarm by the tracker's last announce response; null before the first. */
  othersInSwarm: number | null;
  readyPeers: number;
  msSinceJoin: number;
  joinWaitMs: number;
}): boolean {
  if (s.readyPeers > 0 || s.othersInSwarm === 0) return false;
  return s.msSinceJoin < s.joinWaitMs;
}

/**
 * The want window a viewer announces (STATE) and the scheduler fetches within: from the segment
 * at the playhead to the one at `windowMs` of media ahead. For live, segments the playlist does
 * not list yet count too (extrapolated by the last segment's duration): the window grows, and a
 * peer that reloaded the playlist first must not leave us out of the election for new segments.
 * `segments` sorted by sn; null when there are none.
 */
export function wantWindow(
  segments: readonly { sn: number; startSec: number; durationSec: number }[],
  positionSec: number,
  rate: number,
  windowMs: number,
  live: boolean,
): { playheadSn: number; lastSn: number } | null {
  if (segments.length === 0) return null;
  const end = segments[segments.length - 1]!;
  const at = segments.find((s) => s.startSec + s.durationSec > positionSec + 0.05) ?? end;
  const horizon = positionSec + (windowMs / 1000) * (rate > 0 ? rate : 1);
  let last = at.sn;
  for (const s of segments) if (s.sn >= at.sn && s.startSec < horizon) last = s.sn;
  const endSec = end.startSec + end.durationSec;
  if (live && last === end.sn && horizon > endSec && end.durationSec > 0) last += Math.ceil((horizon - endSec) / end.durationSec);
  return { playheadSn: at.sn, lastSn: last };
}

export interface P2PProgress {
  /** ms since the last DATA chunk arrived (or since the request was sent, before any). */
  msSinceProgress: number;
  timeToDeadlineMs: number;
  bytesRemaining: number;
  /** Observed rate of this download in bytes per ms; 0 when unknown. */
  bytesPerMs: number;
}

/**
 * True when a running P2P download should move to HTTP (resuming with Range): the peer went quiet
 * for `p2pStallTimeoutMs`, or the segment became urgent and the peer will not finish before the deadline.
 */
export function shouldAbandonP2P(p: P2PProgress, cfg: { p2pStallTimeoutMs: number; httpUrgentWindowMs: number }): boolean {
  if (p.msSinceProgress >= cfg.p2pStallTimeoutMs) return true;
  if (p.timeToDeadlineMs > cfg.httpUrgentWindowMs) return false;
  if (p.bytesPerMs <= 0) return true;
  return p.bytesRemaining / p.bytesPerMs > p.timeToDeadlineMs / 2;
}

/** A token bucket for the upload rate cap; time is passed in. */
export class TokenBucket {
  private tokens: number;
  private lastMs: number;
  constructor(
    /** Refill rate, bytes per second. `Infinity` disables the cap. */
    private readonly bytesPerSec: number,
    /** Bucket size in bytes (largest burst). */
    private readonly burstBytes: number,
    nowMs: number,
  ) {
    this.tokens = burstBytes;
    this.lastMs = nowMs;
  }
  /** ms to wait before `bytes` may be sent (0 = now); takes the tokens when it returns 0. */
  take(bytes: number, nowMs: number): number {
    if (!Number.isFinite(this.bytesPerSec)) return 0;
    this.tokens = Math.min(this.burstBytes, this.tokens + ((nowMs - this.lastMs) * this.bytesPerSec) / 1000);
    this.lastMs = nowMs;
    if (this.tokens >= bytes) {
      this.tokens -= bytes;
      return 0;
    }
    return Math.ceil(((bytes - this.tokens) * 1000) / this.bytesPerSec);
  }
}
