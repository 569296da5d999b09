/**
 * The meshcdn peer protocol: binary frames on one ordered, reliable RTCDataChannel per peer pair.
 * The wire format is specified in docs/peer-protocol.md; this module is its only implementation.
 *
 * Frame = [version u8][type u8][body]; integers are big-endian u32 unless noted.
 * Decoding never trusts the peer: every length is checked and every failure is a PeerProtocolError.
 */
import { PeerProtocolError } from "./errors.js";

/**
 * Highest protocol version we speak. Version 2 adds HAVE_RANGES and STATE (framed with version
 * byte 2) to the version-1 messages (still framed with byte 1, so a version-1 peer reads them);
 * a peer learns from HELLO's flag bit 1 that the other side reads version-2 frames, and only then
 * sends them. A frame with any other version byte drops the peer.
 */
export const PROTOCOL_VERSION = 2;
/** Version byte of the messages version 1 already had (HELLO … ABSENT). */
export const BASE_VERSION = 1;
/** Largest DATA payload, in bytes (64 KiB, the data-channel chunk size browsers interoperate on). */
export const MAX_CHUNK_BYTES = 64 * 1024;
/** Most sequence numbers in one HAVE or FETCHING list. */
export const MAX_LIST_ENTRIES = 4096;
/** Most ranges in one HAVE_RANGES. */
export const MAX_RANGES = 4096;
/** STATE's `playhead` when the sender does not know its position yet. */
export const NO_SN = 0xffffffff;
/** Bytes before the payload of a DATA frame. */
export const DATA_HEADER_BYTES = 2 + 12;

export const MessageType = {
  hello: 0x00,
  have: 0x01,
  fetching: 0x02,
  request: 0x03,
  data: 0x04,
  cancel: 0x05,
  absent: 0x06,
  haveRanges: 0x07,
  state: 0x08,
} as const;

/** First frame on a channel, and again whenever the sender's upload policy changes. */
export interface HelloMessage {
  type: "hello";
  /** False when the sender will not upload (policy or config): it is never elected as an HTTP fetcher for others. */
  uploadEnabled: boolean;
  /** Flag bit 1: the sender reads version-2 frames (HAVE_RANGES, STATE). Version-1 peers ignore the bit. */
  v2: boolean;
}
/** Version 2: the complete set of segments the sender holds, as sorted, disjoint inclusive ranges (replaces HAVE). */
export interface HaveRangesMessage {
  type: "have-ranges";
  ranges: [first: number, last: number][];
}
/**
 * Version 2: where the sender plays and which segments it will fetch (the want window, inclusive;
 * `wantLast < wantFirst` = none). Peers elect HTTP fetchers only among peers whose window covers the segment.
 */
export interface StateMessage {
  type: "state";
  /** The segment at the sender's playhead, or null before playback has a position. */
  playheadSn: number | null;
  wantFirst: number;
  wantLast: number;
}
/** The complete set of segment sequence numbers the sender holds and will serve (replaces the previous set). */
export interface HaveMessage {
  type: "have";
  sns: number[];
}
/** The complete set of segments the sender is fetching from HTTP right now (replaces the previous set). */
export interface FetchingMessage {
  type: "fetching";
  sns: number[];
}
/** Ask for segment `sn` starting at byte `offset` (0 for the whole segment). */
export interface RequestMessage {
  type: "request";
  requestId: number;
  sn: number;
  offset: number;
}
/** One chunk of a requested segment: bytes [offset, offset + bytes.length) of `total`. */
export interface DataMessage {
  type: "data";
  requestId: number;
  offset: number;
  total: number;
  bytes: Uint8Array;
}
/** The requester no longer wants `requestId`; the sender stops sending it. */
export interface CancelMessage {
  type: "cancel";
  requestId: number;
}
/** The sender does not have (or will not send) what `requestId` asked for. */
export interface AbsentMessage {
  type: "absent";
  requestId: number;
}

export type PeerMessage =
  | HelloMessage
  | HaveMessage
  | FetchingMessage
  | RequestMessage
  | DataMessage
  | CancelMessage
  | AbsentMessage
  | HaveRangesMessage
  | StateMessage;

function u32(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`${what} must be a u32, got ${n}`);
  return n;
}

/** Encodes one message. Throws RangeError on API misuse (a caller bug, never peer input). */
export function encode(msg: PeerMessage): Uint8Array {
  switch (msg.type) {
    case "hello": {
      const out = new Uint8Array(3);
      out[0] = BASE_VERSION;
      out[1] = MessageType.hello;
      out[2] = (msg.uploadEnabled ? 1 : 0) | (msg.v2 ? 2 : 0);
      return out;
    }
    case "have":
    case "fetching": {
      if (msg.sns.length > MAX_LIST_ENTRIES) throw new RangeError(`at most ${MAX_LIST_ENTRIES} entries per list`);
      const out = new Uint8Array(4 + 4 * msg.sns.length);
      const v = new DataView(out.buffer);
      out[0] = BASE_VERSION;
      out[1] = MessageType[msg.type];
      v.setUint16(2, msg.sns.length);
      msg.sns.forEach((sn, i) => v.setUint32(4 + 4 * i, u32(sn, "sn")));
      return out;
    }
    case "request": {
      const out = new Uint8Array(14);
      const v = new DataView(out.buffer);
      out[0] = BASE_VERSION;
      out[1] = MessageType.request;
      v.setUint32(2, u32(msg.requestId, "requestId"));
      v.setUint32(6, u32(msg.sn, "sn"));
      v.setUint32(10, u32(msg.offset, "offset"));
      return out;
    }
    case "data": {
      if (msg.bytes.length > MAX_CHUNK_BYTES) throw new RangeError(`DATA payload over ${MAX_CHUNK_BYTES} bytes`);
      if (msg.offset + msg.bytes.length > msg.total) throw new RangeError("DATA chunk extends past total");
      const out = new Uint8Array(DATA_HEADER_BYTES + msg.bytes.length);
      const v = new DataView(out.buffer);
      out[0] = BASE_VERSION;
      out[1] = MessageType.data;
      v.setUint32(2, u32(msg.requestId, "requestId"));
      v.setUint32(6, u32(msg.offset, "offset"));
      v.setUint32(10, u32(msg.total, "total"));
      out.set(msg.bytes, DATA_HEADER_BYTES);
      return out;
    }
    case "cancel":
    case "absent": {
      const out = new Uint8Array(6);
      const v = new DataView(out.buffer);
      out[0] = BASE_VERSION;
      out[1] = MessageType[msg.type];
      v.setUint32(2, u32(msg.requestId, "requestId"));
      return out;
    }
    case "have-ranges": {
      if (msg.ranges.length > MAX_RANGES) throw new RangeError(`at most ${MAX_RANGES} ranges`);
      const out = new Uint8Array(4 + 8 * msg.ranges.length);
      const v = new DataView(out.buffer);
      out[0] = PROTOCOL_VERSION;
      out[1] = MessageType.haveRanges;
      v.setUint16(2, msg.ranges.length);
      let prev = -1;
      msg.ranges.forEach(([a, b], i) => {
        if (u32(a, "first") > u32(b, "last") || a <= prev) throw new RangeError("ranges must be sorted, disjoint, first <= last");
        prev = b;
        v.setUint32(4 + 8 * i, a);
        v.setUint32(8 + 8 * i, b);
      });
      return out;
    }
    case "state": {
      const out = new Uint8Array(14);
      const v = new DataView(out.buffer);
      out[0] = PROTOCOL_VERSION;
      out[1] = MessageType.state;
      v.setUint32(2, msg.playheadSn === null ? NO_SN : u32(msg.playheadSn, "playheadSn"));
      v.setUint32(6, u32(msg.wantFirst, "wantFirst"));
      v.setUint32(10, u32(msg.wantLast, "wantLast"));
      return out;
    }
  }
}

function expectLength(buf: Uint8Array, n: number, what: string): void {
  if (buf.length < n) throw new PeerProtocolError("truncated", `${what} needs ${n} bytes, got ${buf.length}`);
  if (buf.length > n) throw new PeerProtocolError("trailing-bytes", `${what} is ${n} bytes, got ${buf.length}`);
}

/** Decodes one frame from a peer. Throws PeerProtocolError for anything malformed. */
export function decode(input: ArrayBuffer | Uint8Array | string): PeerMessage {
  if (typeof input === "string") throw new PeerProtocolError("not-binary", "text frame on the peer channel");
  const buf = input instanceof Uint8Array ? input : new Uint8Array(input);
  if (buf.length === 0) throw new PeerProtocolError("empty", "zero-length frame");
  const version = buf[0]!;
  if (version !== BASE_VERSION && version !== PROTOCOL_VERSION) {
    throw new PeerProtocolError("bad-version", `version ${version}, expected ${BASE_VERSION} or ${PROTOCOL_VERSION}`);
  }
  if (buf.length < 2) throw new PeerProtocolError("truncated", "frame has no type byte");
  if (version < 2 && buf[1]! > MessageType.absent) throw new PeerProtocolError("unknown-type", `type 0x${buf[1]!.toString(16)} in a version-1 frame`);
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  switch (buf[1]) {
    case MessageType.hello:
      expectLength(buf, 3, "HELLO");
      return { type: "hello", uploadEnabled: (buf[2]! & 1) === 1, v2: (buf[2]! & 2) === 2 };
    case MessageType.have:
    case MessageType.fetching: {
      const what = buf[1] === MessageType.have ? "HAVE" : "FETCHING";
      if (buf.length < 4) throw new PeerProtocolError("truncated", `${what} has no count`);
      const n = v.getUint16(2);
      if (n > MAX_LIST_ENTRIES) throw new PeerProtocolError("too-many-entries", `${what} lists ${n} > ${MAX_LIST_ENTRIES}`);
      expectLength(buf, 4 + 4 * n, what);
      const sns: number[] = [];
      for (let i = 0; i < n; i++) sns.push(v.getUint32(4 + 4 * i));
      return { type: buf[1] === MessageType.have ? "have" : "fetching", sns };
    }
    case MessageType.request:
      expectLength(buf, 14, "REQUEST");
      return { type: "request", requestId: v.getUint32(2), sn: v.getUint32(6), offset: v.getUint32(10) };
    case MessageType.data: {
      if (buf.length < DATA_HEADER_BYTES) throw new PeerProtocolError("truncated", "DATA header");
      const len = buf.length - DATA_HEADER_BYTES;
      if (len > MAX_CHUNK_BYTES) throw new PeerProtocolError("oversized-chunk", `${len} bytes > ${MAX_CHUNK_BYTES}`);
      const offset = v.getUint32(6);
      const total = v.getUint32(10);
      if (offset + len > total) throw new PeerProtocolError("bad-data-range", `[${offset}, ${offset + len}) past total ${total}`);
      // A copy, so the chunk does not pin the whole received frame buffer.
      return { type: "data", requestId: v.getUint32(2), offset, total, bytes: buf.slice(DATA_HEADER_BYTES) };
    }
    case MessageType.cancel:
    case MessageType.absent:
      expectLength(buf, 6, buf[1] === MessageType.cancel ? "CANCEL" : "ABSENT");
      return { type: buf[1] === MessageType.cancel ? "cancel" : "absent", requestId: v.getUint32(2) };
    case MessageType.haveRanges: {
      if (buf.length < 4) throw new PeerProtocolError("truncated", "HAVE_RANGES has no count");
      const n = v.getUint16(2);
      if (n > MAX_RANGES) throw new PeerProtocolError("too-many-entries", `HAVE_RANGES lists ${n} > ${MAX_RANGES}`);
      expectLength(buf, 4 + 8 * n, "HAVE_RANGES");
      const ranges: [number, number][] = [];
      let prev = -1;
      for (let i = 0; i < n; i++) {
        const a = v.getUint32(4 + 8 * i);
        const b = v.getUint32(8 + 8 * i);
        if (a > b || a <= prev) throw new PeerProtocolError("bad-ranges", `range ${i} [${a}, ${b}] not sorted, disjoint, first <= last`);
        prev = b;
        ranges.push([a, b]);
      }
      return { type: "have-ranges", ranges };
    }
    case MessageType.state: {
      expectLength(buf, 14, "STATE");
      const p = v.getUint32(2);
      return { type: "state", playheadSn: p === NO_SN ? null : p, wantFirst: v.getUint32(6), wantLast: v.getUint32(10) };
    }
    default:
      throw new PeerProtocolError("unknown-type", `type 0x${buf[1]!.toString(16)}`);
  }
}
