/**
 * Connection outcomes: for each peer connection we try, whether it opened, over which ICE
 * candidate pair (host, srflx, prflx, relay; from `RTCPeerConnection.getStats()`), and how long
 * it took; totals for `stats().connections`. (The swarm reports failed peers to the tracker
 * itself: `meshcdn.failed`, docs/protocol.md.)
 *
 * The parsing of stats reports is pure (`selectedPair`, `pairType`); `ConnectionStats` only
 * keeps records. Time comes from the caller.
 */

export type CandidateType = "host" | "srflx" | "prflx" | "relay";

/** Why an attempt failed: ICE/DTLS gave up (`failed`), or the channel did not open in time (`timeout`). */
export type FailureReason = "failed" | "timeout";

export interface SelectedPair {
  localType: CandidateType;
  remoteType: CandidateType;
  /** Transport of our candidate: "udp" or "tcp". */
  protocol: string | null;
  /** For a relayed local candidate: how we reach the TURN server ("udp", "tcp", "tls"). */
  relayProtocol: string | null;
  /** Addresses as the browser reports them (may be absent or an mDNS name for privacy). */
  localAddress: string | null;
  remoteAddress: string | null;
}

export interface ConnectionRecord {
  /** info_hash (40 hex) of the swarm. */
  swarm: string;
  /** The remote peer (40 hex). */
  peerId: string;
  /** Whether we sent the offer or answered one. */
  role: "offerer" | "answerer";
  state: "connecting" | "open" | "failed" | "closed";
  failure: FailureReason | null;
  /** ms from having both descriptions to the data channel opening; null until open. */
  timeToOpenMs: number | null;
  /** The selected candidate pair, summarised: relay if either side relays, else srflx, else prflx, else host. */
  pairType: CandidateType | null;
  pair: SelectedPair | null;
  /** Bytes over this connection (segment data), while it is open and after. */
  bytesReceived: number;
  bytesSent: number;
}

export interface ConnectionTotals {
  /** Connection attempts with a known peer (offers nobody answered are not counted). */
  attempts: number;
  opened: number;
  failed: number;
  /** Opened connections by selected candidate pair type. */
  byType: Record<CandidateType, number>;
  /** Mean time to open of the opened ones, ms; null before the first. */
  meanTimeToOpenMs: number | null;
  /** The latest attempts, oldest first (at most 50). */
  recent: ConnectionRecord[];
}

/** What `getStats()` resolves to, reduced to what is read here (a Map works in tests). */
export type StatsLike = { forEach(cb: (value: Record<string, unknown>, key: string) => void): void };

const TYPES: readonly CandidateType[] = ["host", "srflx", "prflx", "relay"];

function candidateType(v: unknown): CandidateType | null {
  return TYPES.includes(v as CandidateType) ? (v as CandidateType) : null;
}

/**
 * The selected candidate pair of a stats report: the transport's `selectedCandidatePairId`
 * (Chromium, Safari), else a pair flagged `selected` (Firefox), else a nominated succeeded pair.
 * Null when none is selected (yet) or its candidates are missing.
 */
export function selectedPair(report: StatsLike): SelectedPair | null {
  const byId = new Map<string, Record<string, unknown>>();
  report.forEach((v, k) => byId.set(String(v.id ?? k), v));
  let pair: Record<string, unknown> | undefined;
  for (const v of byId.values()) {
    if (v.type === "transport" && typeof v.selectedCandidatePairId === "string") pair = byId.get(v.selectedCandidatePairId);
  }
  if (!pair) for (const v of byId.values()) if (v.type === "candidate-pair" && v.selected === true) pair = v;
  if (!pair) for (const v of byId.values()) if (v.type === "candidate-pair" && v.nominated === true && v.state === "succeeded") pair = v;
  if (!pair) return null;
  const local = byId.get(String(pair.localCandidateId));
  const remote = byId.get(String(pair.remoteCandidateId));
  const localType = candidateType(local?.candidateType);
  const remoteType = candidateType(remote?.candidateType);
  if (!local || !remote || !localType || !remoteType) return null;
  const str = (x: unknown) => (typeof x === "string" && x !== "" ? x : null);
  return {
    localType,
    remoteType,
    protocol: str(local.protocol),
    relayProtocol: localType === "relay" ? str(local.relayProtocol) : null,
    localAddress: str(local.address) ?? str(local.ip),
    remoteAddress: str(remote.address) ?? str(remote.ip),
  };
}

/** One word for a pair: relay if either side relays, else srflx, else prflx, else host. */
export function pairType(p: Pick<SelectedPair, "localType" | "remoteType">): CandidateType {
  for (const t of ["relay", "srflx", "prflx"] as const) if (p.localType === t || p.remoteType === t) return t;
  return "host";
}

const MAX_RECENT = 50;

interface Entry {
  record: ConnectionRecord;
  /** Live byte counts while the connection is open. */
  bytes: (() => { received: number; sent: number }) | null;
  stopWatching?: () => void;
}

/** What `opened` needs of an RTCPeerConnection. */
export interface PeerConnectionLike {
  getStats(): Promise<StatsLike>;
  /** Where browsers expose the ICE transport and its `selectedcandidatepairchange` event. */
  readonly sctp?: { transport?: { iceTransport?: EventTarget | null } | null } | null;
}

export interface Attempt {
  readonly record: ConnectionRecord;
  /**
   * The data channel is open: reads the selected pair from `pc.getStats()`, and again whenever
   * the ICE agent switches pairs (the first pair that works is not always the one it keeps).
   */
  opened(pc: PeerConnectionLike, bytes: () => { received: number; sent: number }): Promise<void>;
  failed(reason: FailureReason): void;
  closed(): void;
}

export class ConnectionStats {
  private attempts = 0;
  private opened = 0;
  private failed = 0;
  private openMsSum = 0;
  private readonly byType: Record<CandidateType, number> = { host: 0, srflx: 0, prflx: 0, relay: 0 };
  private readonly recent: Entry[] = [];

  constructor(private readonly now: () => number) {}

  /** A connection attempt with a known peer (40 hex), from the moment both descriptions are known. */
  begin(swarm: string, peerIdHex: string, role: "offerer" | "answerer"): Attempt {
    const record: ConnectionRecord = {
      swarm, peerId: peerIdHex, role, state: "connecting", failure: null, timeToOpenMs: null, pairType: null, pair: null, bytesReceived: 0, bytesSent: 0,
    };
    const entry: Entry = { record, bytes: null };
    this.attempts++;
    this.recent.push(entry);
    if (this.recent.length > MAX_RECENT) this.recent.shift();
    const startedAt = this.now();
    return {
      record,
      opened: async (pc, bytes) => {
        if (record.state !== "connecting") return;
        record.state = "open";
        record.timeToOpenMs = this.now() - startedAt;
        entry.bytes = bytes;
        this.opened++;
        this.openMsSum += record.timeToOpenMs;
        const read = async () => {
          let pair: SelectedPair | null;
          try {
            pair = selectedPair(await pc.getStats());
          } catch {
            return; // A connection closed meanwhile has no stats: the outcome keeps what it had.
          }
          if (!pair) return;
          if (record.pairType) this.byType[record.pairType]--;
          record.pair = pair;
          record.pairType = pairType(pair);
          this.byType[record.pairType]++;
        };
        const ice = pc.sctp?.transport?.iceTransport;
        const onChange = () => void read();
        ice?.addEventListener("selectedcandidatepairchange", onChange);
        entry.stopWatching = () => ice?.removeEventListener("selectedcandidatepairchange", onChange);
        await read();
      },
      failed: (reason) => {
        if (record.state !== "connecting") return;
        record.state = "failed";
        record.failure = reason;
        this.failed++;
      },
      closed: () => {
        entry.stopWatching?.();
        entry.stopWatching = undefined;
        if (entry.bytes) {
          const b = entry.bytes();
          record.bytesReceived = b.received;
          record.bytesSent = b.sent;
          entry.bytes = null;
        }
        if (record.state === "open") record.state = "closed";
      },
    };
  }

  totals(): ConnectionTotals {
    return {
      attempts: this.attempts,
      opened: this.opened,
      failed: this.failed,
      byType: { ...this.byType },
      meanTimeToOpenMs: this.opened > 0 ? this.openMsSum / this.opened : null,
      recent: this.recent.map(({ record, bytes }) => {
        const r = { ...record, pair: record.pair && { ...record.pair } };
        if (bytes) {
          const b = bytes();
          r.bytesReceived = b.received;
          r.bytesSent = b.sent;
        }
        return r;
      }),
    };
  }
}
