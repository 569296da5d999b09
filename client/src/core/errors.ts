/** Errors of the meshcdn client. Each has a string-literal `type` so callers can switch on it. */

/** Why a peer message was rejected; the peer that sent it is dropped and banned. */
export type PeerProtocolErrorReason =
  | "empty"
  | "bad-version"
  | "unknown-type"
  | "truncated"
  | "trailing-bytes"
  | "oversized-chunk"
  | "too-many-entries"
  | "bad-data-range"
  | "segment-too-large"
  | "out-of-order"
  | "unexpected-data"
  | "not-binary"
  | "bad-ranges";

export class PeerProtocolError extends Error {
  readonly type = "peer-protocol" as const;
  constructor(
    readonly reason: PeerProtocolErrorReason,
    message: string,
  ) {
    super(`peer protocol: ${reason}: ${message}`);
    this.name = "PeerProtocolError";
  }
}

/** A segment's bytes did not hash to the value the origin published. */
export class IntegrityError extends Error {
  readonly type = "integrity" as const;
  constructor(
    readonly sn: number,
    readonly expectedSha256: string,
    readonly actualSha256: string,
    /** The peer that delivered (some of) the bytes, if any. */
    readonly peerId: string | null,
  ) {
    super(`segment ${sn}: sha-256 ${actualSha256} does not match the origin's ${expectedSha256}`);
    this.name = "IntegrityError";
  }
}

/** The bootstrap the origin injected into the master playlist is unusable; the client stays HTTP-only. */
export class BootstrapError extends Error {
  readonly type = "bootstrap" as const;
  constructor(message: string) {
    super(`bootstrap: ${message}`);
    this.name = "BootstrapError";
  }
}

/** A new swarm token could not be had (the old one is used until it expires; then P2P pauses, HTTP goes on). */
export class TokenError extends Error {
  readonly type = "token" as const;
  constructor(message: string) {
    super(`swarm token: ${message}`);
    this.name = "TokenError";
  }
}

/** The tracker refused us or sent something we cannot use. P2P pauses; HTTP goes on. */
export class TrackerError extends Error {
  readonly type = "tracker" as const;
  constructor(
    readonly url: string,
    message: string,
  ) {
    super(`tracker ${url}: ${message}`);
    this.name = "TrackerError";
  }
}

/** An HTTP segment fetch failed (network error or non-2xx status). */
export class HttpError extends Error {
  readonly type = "http" as const;
  constructor(
    readonly url: string,
    /** HTTP status, or 0 for a network error. */
    readonly status: number,
    message: string,
  ) {
    super(`GET ${url}: ${message}`);
    this.name = "HttpError";
  }
}

/** The caller aborted the segment load. Never reported to hls.js as an error. */
export class AbortedError extends Error {
  readonly type = "aborted" as const;
  constructor() {
    super("aborted");
    this.name = "AbortedError";
  }
}

export type MeshCdnError =
  | PeerProtocolError
  | IntegrityError
  | BootstrapError
  | TokenError
  | TrackerError
  | HttpError
  | AbortedError;
