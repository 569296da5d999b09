/** Configuration of the meshcdn client. Every field is optional for the caller; defaults below. */
import type { UploadPolicyConfig } from "./upload-policy.js";

export interface CoreConfig {
  /** Segments the player needs within this time go to HTTP at once; P2P never delays them. @default 1500 */
  httpUrgentWindowMs: number;
  /** A P2P download with no bytes for this long moves to HTTP (resuming with Range). @default 1000 */
  p2pStallTimeoutMs: number;
  /**
   * After joining a swarm, non-urgent segments wait this long at most for the first peer
   * connections (which may have them) before going to HTTP. @default 3000
   */
  peerJoinWaitMs: number;
  /**
   * When a player adapter joins the swarm (tracker socket, offers) at start-up: at the manifest
   * ("manifest"), once the first segment is requested ("first-request"), once its bytes are in
   * ("first-segment"), once it is appended to the buffer ("first-buffered"), or at the first
   * `playing` ("playing"). Until then hls.js's own loader fetches the first segment and later
   * ones wait in the core for the join (bounded by their deadline). docs/client.md "Joining".
   * @default "playing"
   */
  startupJoin: "manifest" | "first-request" | "first-segment" | "first-buffered" | "playing";
  /** Most connected peers per swarm. @default 15 */
  maxPeers: number;
  /** SDP offers sent with each announce (each goes to a different peer). @default 5 */
  offersPerAnnounce: number;
  /** An offer nobody answered is dropped after this long. @default 30000 */
  offerTimeoutMs: number;
  /** ICE gathering (offers and answers are sent with all candidates) is cut off after this long. @default 5000 */
  iceGatheringTimeoutMs: number;
  /**
   * STUN/TURN servers for RTCPeerConnection, overriding the ones the origin puts in the bootstrap
   * (`ice`). null: the bootstrap's, else DEFAULT_ICE_SERVERS (a public STUN server). `[]`: none
   * (works on one network only). @default null
   */
  iceServers: RTCIceServer[] | null;
  /** Re-announce at least this often even if the tracker's interval is longer. @default 60000 */
  maxAnnounceIntervalMs: number;
  /** First reconnect delay after a tracker connection fails; doubles per failure. @default 1000 */
  trackerReconnectMinMs: number;
  /** Largest reconnect delay. @default 30000 */
  trackerReconnectMaxMs: number;
  /** Requests in flight from us to one peer before it counts as busy. @default 2 */
  maxInFlightPerPeer: number;
  /**
   * Bytes of segments kept in memory (for the player and to serve peers); evicted behind the
   * playhead first, for VOD the whole stream while it fits, for live what left the playlist at
   * once. 0 = by device: 256 MiB on desktops, 64 MiB on phones. @default 0
   */
  storeMaxBytes: number;
  /** The scheduler fetches segments from peers this far ahead of the playhead (media time). @default 40000 */
  p2pWindowMs: number;
  /** P2P downloads the scheduler keeps in flight at once (across peers). @default 3 */
  maxP2PDownloads: number;
  /**
   * The player's own forward buffer is capped at this (hls.js `maxBufferLength`), so the scheduler,
   * not the player, decides what is fetched ahead; 0 leaves the player's setting. @default 12000
   */
  playerBufferMs: number;
  /** A peer claiming a segment larger than this is dropped and banned. @default 52428800 (50 MiB) */
  maxSegmentBytes: number;
  /** Upload rate cap across all peers, bytes per second; 0 = no cap. @default 0 */
  uploadRateLimitBytesPerSec: number;
  /** Size of the DATA chunks we send, in bytes (at most 65536; 16384 is the most portable across browsers). @default 65536 */
  uploadChunkBytes: number;
  /** Data-channel send buffer above which the uploader waits (back-pressure). @default 1048576 (1 MiB) */
  sendBufferHighBytes: number;
  /** When upload is off. */
  uploadPolicy: UploadPolicyConfig;
  /**
   * Where a fresh swarm token comes from before the current one expires (e.g. your backend calling
   * the origin's `POST /v1/tokens`, for per-viewer tokens). Default (null): the master playlist is
   * fetched again and the token of its bootstrap is used. @default null
   */
  getToken: (() => Promise<string | null>) | null;
  /** The swarm token is replaced this long before it expires. @default 60000 */
  tokenRefreshMarginMs: number;
}

export type CoreConfigInput = Partial<Omit<CoreConfig, "uploadPolicy">> & { uploadPolicy?: Partial<UploadPolicyConfig> };

export const DEFAULT_CONFIG: CoreConfig = {
  httpUrgentWindowMs: 1500,
  p2pStallTimeoutMs: 1000,
  peerJoinWaitMs: 3000,
  startupJoin: "playing",
  maxPeers: 15,
  offersPerAnnounce: 5,
  offerTimeoutMs: 30_000,
  iceGatheringTimeoutMs: 5000,
  iceServers: null,
  maxAnnounceIntervalMs: 60_000,
  trackerReconnectMinMs: 1000,
  trackerReconnectMaxMs: 30_000,
  maxInFlightPerPeer: 2,
  storeMaxBytes: 0,
  p2pWindowMs: 40_000,
  maxP2PDownloads: 3,
  playerBufferMs: 12_000,
  maxSegmentBytes: 50 * 1024 * 1024,
  uploadRateLimitBytesPerSec: 0,
  uploadChunkBytes: 64 * 1024,
  sendBufferHighBytes: 1024 * 1024,
  uploadPolicy: { disabled: false, offOnSaveData: true, offOnMetered: true, offBelowBatteryLevel: 0.2, offWhenHidden: false },
  getToken: null,
  tokenRefreshMarginMs: 60_000,
};

/** Merges caller config over the defaults; throws TypeError on unknown keys or wrong types (API misuse). */
export function resolveConfig(input: CoreConfigInput = {}): CoreConfig {
  const out: CoreConfig = { ...DEFAULT_CONFIG, uploadPolicy: { ...DEFAULT_CONFIG.uploadPolicy } };
  for (const [k, v] of Object.entries(input)) {
    if (v === undefined) continue;
    if (!(k in DEFAULT_CONFIG)) throw new TypeError(`meshcdn: unknown config field "${k}"`);
    if (k === "uploadPolicy") {
      for (const [pk, pv] of Object.entries(v as object)) {
        if (!(pk in DEFAULT_CONFIG.uploadPolicy)) throw new TypeError(`meshcdn: unknown config field "uploadPolicy.${pk}"`);
        (out.uploadPolicy as unknown as Record<string, unknown>)[pk] = pv;
      }
      continue;
    }
    const def = (DEFAULT_CONFIG as unknown as Record<string, unknown>)[k];
    if (typeof def === "number" && (typeof v !== "number" || !(v >= 0))) throw new TypeError(`meshcdn: "${k}" must be a number >= 0`);
    if (k === "iceServers" && v !== null && !(Array.isArray(v) && v.every((x) => typeof x === "object" && x !== null && (typeof x.urls === "string" || Array.isArray(x.urls))))) {
      throw new TypeError('meshcdn: "iceServers" must be null or an array of RTCIceServer ({ urls, username?, credential? })');
    }
    if (k === "startupJoin" && !["manifest", "first-request", "first-segment", "first-buffered", "playing"].includes(v as string)) {
      throw new TypeError('meshcdn: "startupJoin" must be "manifest", "first-request", "first-segment", "first-buffered" or "playing"');
    }
    if (k === "getToken" && v !== null && typeof v !== "function") throw new TypeError('meshcdn: "getToken" must be a function returning a Promise of the token');
    (out as unknown as Record<string, unknown>)[k] = v;
  }
  if (out.uploadChunkBytes < 1 || out.uploadChunkBytes > 64 * 1024) throw new TypeError('meshcdn: "uploadChunkBytes" must be 1..65536');
  return out;
}
