/** Public types of the client's stats and events (documented in docs/client.md). */
import type { ConnectionTotals } from "./connection-stats.js";
import type { IntegrityError, MeshCdnError, PeerProtocolError } from "./errors.js";

export type SegmentSource = "http" | "p2p" | "cache";

export interface SegmentRecord {
  /** info_hash (40 hex) of the rendition's swarm. */
  swarm: string;
  sn: number;
  source: SegmentSource;
  /** Size of the segment in bytes. */
  bytes: number;
  /** Bytes of it that came over HTTP / from peers (a resumed download has both). */
  httpBytes: number;
  p2pBytes: number;
  /** The peer (40 hex) that delivered it, if any. */
  peerId: string | null;
  /** Time from the player's request to delivery, in ms. */
  durationMs: number;
  /** The switcher's decisions for this segment in order, e.g. `["wait:peer-elected", "p2p"]`. */
  decisions: string[];
}

export interface MeshCdnStats {
  /** A usable bootstrap was found: P2P is on for this stream. */
  p2pEnabled: boolean;
  httpBytes: number;
  p2pBytes: number;
  uploadedBytes: number;
  /** Of `uploadedBytes`, those sent while the segment was still arriving over HTTP (relay while downloading). */
  relayedBytes: number;
  /** p2pBytes / (httpBytes + p2pBytes), 0 before any segment. */
  offloadRatio: number;
  /** Connected peers (40 hex ids) across all swarms. */
  peers: string[];
  bannedPeers: string[];
  trackerConnected: boolean;
  uploadEnabled: boolean;
  integrityFailures: number;
  /** When the swarm token in use expires (Unix ms); null without a token or expiry. */
  tokenExpiresAtMs: number | null;
  /** Swarm tokens fetched to replace expiring ones. */
  tokenRefreshes: number;
  /** Our own peer id (40 hex). */
  peerId: string;
  /** The last segments delivered to the player, oldest first (at most 500). */
  segments: SegmentRecord[];
  /** Peer connection outcomes: opened / failed, candidate pair types, time to open. */
  connections: ConnectionTotals;
}

export type BanReason = "integrity" | "protocol";

export type MeshCdnEvents = {
  /** A segment was handed to the player. */
  "segment-loaded": (rec: SegmentRecord) => void;
  "peer-connected": (e: { swarm: string; peerId: string }) => void;
  "peer-disconnected": (e: { swarm: string; peerId: string }) => void;
  /** A peer was dropped and will not be connected to again. */
  "peer-banned": (e: { peerId: string; reason: BanReason; error: IntegrityError | PeerProtocolError }) => void;
  /** Bytes from a peer did not match the origin's hash; they were discarded and refetched over HTTP. */
  "integrity-failure": (err: IntegrityError) => void;
  "tracker-state": (e: { swarm: string; url: string; connected: boolean }) => void;
  "upload-state": (e: { uploadEnabled: boolean; reason: string | null }) => void;
  /** A new swarm token is in use (fetched before the old one expired); trackers reconnect with it. */
  "token-refreshed": (e: { expiresAtMs: number | null }) => void;
  /** Non-fatal problems (bad bootstrap, tracker refusals, HTTP failures). Playback goes on. */
  error: (err: MeshCdnError) => void;
};
