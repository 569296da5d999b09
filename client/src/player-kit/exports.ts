/** What every adapter entry point exports besides its client: the core, errors, types, helpers. */
export { MeshCore } from "../core/core.js";
export { DEFAULT_CONFIG, resolveConfig, type CoreConfig, type CoreConfigInput } from "../core/config.js";
export type { UploadPolicyConfig } from "../core/upload-policy.js";
export * from "../core/errors.js";
export type { MeshCdnEvents, MeshCdnStats, SegmentRecord, SegmentSource, BanReason } from "../core/types.js";
export { parseBootstrap, BOOTSTRAP_DATA_ID, DASH_BOOTSTRAP_SCHEME, type Bootstrap } from "../core/bootstrap.js";
export { HASH_TAG, sha256Hex, sha256Backend } from "../core/integrity.js";
export { DEFAULT_ICE_SERVERS } from "../core/webrtc.js";
export type { CandidateType, ConnectionRecord, ConnectionTotals, FailureReason, SelectedPair } from "../core/connection-stats.js";
export { MpdError, parseMpd, parseHashDocument, type MpdInfo, type MpdRepresentation, type MpdSegment } from "../dash/mpd.js";
export { DashManifestError } from "../dash/stream.js";
export { timeToDeadlineMs } from "./media.js";
