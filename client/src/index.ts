/**
 * meshcdn browser client. ES module entry; the script-tag build exposes the same names on `window.MeshCdn`.
 *
 * ```js
 * const mesh = new MeshCdnClient({ httpUrgentWindowMs: 1500 });
 * const hls = new Hls(mesh.hlsConfig({ lowLatencyMode: false }));
 * mesh.attach(hls);
 * hls.loadSource(url); hls.attachMedia(video);
 * mesh.on("segment-loaded", (s) => console.log(s.sn, s.source));
 * mesh.stats().offloadRatio;
 * ```
 */
export { MeshCdnClient, MeshCdnClient as Client, timeToDeadlineMs, type MeshCdnClientConfig } from "./hlsjs/client.js";
export { createFragmentLoaderClass } from "./hlsjs/fragment-loader.js";
export { MeshCore } from "./core/core.js";
export { DEFAULT_CONFIG, resolveConfig, type CoreConfig, type CoreConfigInput } from "./core/config.js";
export type { UploadPolicyConfig } from "./core/upload-policy.js";
export * from "./core/errors.js";
export type { MeshCdnEvents, MeshCdnStats, SegmentRecord, SegmentSource, BanReason } from "./core/types.js";
export { parseBootstrap, encodeBootstrap, BOOTSTRAP_DATA_ID, type Bootstrap } from "./core/bootstrap.js";
export { PROTOCOL_VERSION, MAX_CHUNK_BYTES, encode as encodePeerMessage, decode as decodePeerMessage, type PeerMessage } from "./core/protocol.js";
export { HASH_TAG, sha256Hex, sha256Backend } from "./core/integrity.js";
export { DEFAULT_ICE_SERVERS } from "./core/webrtc.js";
export type { CandidateType, ConnectionRecord, ConnectionTotals, FailureReason, SelectedPair } from "./core/connection-stats.js";
