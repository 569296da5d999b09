/**
 * One peer on one data channel: speaks the binary peer protocol (protocol.ts), keeps what the peer
 * announced, downloads segments from it and uploads segments to it with back-pressure and the
 * shared rate cap. Works on any channel with RTCDataChannel's shape, so node tests drive it in memory.
 */
import { PeerProtocolError } from "./errors.js";
import { TypedEmitter } from "./events.js";
import { decode, encode, MAX_CHUNK_BYTES, MAX_LIST_ENTRIES, MAX_RANGES, type PeerMessage } from "./protocol.js";
import { GrowingSegment } from "./growing-segment.js";
import { inRanges, toRanges, type SnRange } from "./segment-store.js";
import type { TokenBucket } from "./switcher.js";

/** The part of RTCDataChannel the session uses. */
export interface ChannelLike {
  readonly readyState: string;
  readonly bufferedAmount: number;
  bufferedAmountLowThreshold: number;
  binaryType: string;
  send(data: Uint8Array): void;
  close(): void;
  addEventListener(type: "message", fn: (ev: { data: unknown }) => void): void;
  addEventListener(type: "open" | "close" | "bufferedamountlow" | "error", fn: () => void): void;
}

/** Uploads served to one peer at once; further REQUESTs get ABSENT (a peer cannot queue unbounded work). */
export const MAX_UPLOADS_PER_PEER = 4;

export interface PeerSessionDeps {
  now(): number;
  /** A verified segment we hold, or undefined. */
  /** A verified segment we hold, one still arriving (relayed while it downloads), or undefined. */
  getSegment(sn: number): Uint8Array | GrowingSegment | undefined;
  uploadAllowed(): boolean;
  /** Shared across peers: the upload rate cap. */
  uploadBucket: TokenBucket;
  maxSegmentBytes: number;
  sendBufferHighBytes: number;
  /** DATA payload size we send (≤ MAX_CHUNK_BYTES). */
  chunkBytes?: number;
  /** `relayed`: sent while the segment was still arriving over HTTP (relay while downloading). */
  onUploaded(bytes: number, relayed: boolean): void;
}

export type DownloadOutcome =
  | { kind: "done"; data: Uint8Array }
  | { kind: "absent" }
  | { kind: "closed" }
  | { kind: "cancelled" };

/** A download in flight from this peer. */
export interface Download {
  readonly sn: number;
  readonly result: Promise<DownloadOutcome>;
  /** Bytes received so far (contiguous from the requested offset). */
  received(): number;
  /** Segment size as the peer stated it, or null before the first chunk. */
  total(): number | null;
  /** When the last chunk (or the request) happened. */
  lastProgressAt(): number;
  startedAt: number;
  /** The bytes received so far, for resuming over HTTP with Range. */
  partial(): Uint8Array;
  cancel(): void;
}

/** A peer's playhead and want window (protocol version 2 STATE); inclusive. */
export interface PeerState {
  playheadSn: number | null;
  wantFirst: number;
  wantLast: number;
}

export type PeerSessionEvents = {
  /** HELLO, HAVE, FETCHING or STATE changed what we know about the peer. */
  update: () => void;
  /** The peer broke the protocol; the owner drops and bans it. */
  "protocol-error": (err: PeerProtocolError) => void;
  close: () => void;
};

interface DownloadState {
  sn: number;
  startedAt: number;
  offset: number;
  buf: Uint8Array | null;
  received: number;
  total: number | null;
  lastProgressAt: number;
  resolve: (o: DownloadOutcome) => void;
}

export class PeerSession extends TypedEmitter<PeerSessionEvents> {
  remoteUploadEnabled = false;
  private helloSeen = false;
  private haveSeen = false;
  /** What the peer holds (its last HAVE or HAVE_RANGES), minus what it answered ABSENT for since. */
  private remoteRanges: SnRange[] = [];
  private remoteAbsent = new Set<number>();
  remoteFetching = new Set<number>();
  /** The peer's last STATE (null: a version-1 peer, or none yet). */
  remoteState: PeerState | null = null;
  /** The peer reads version-2 frames (its HELLO said so). */
  remoteV2 = false;
  /** Measured delivery rate of this peer's completed downloads (bytes per ms, moving average); 0 = unknown. */
  throughputBytesPerMs = 0;
  private localHave: SnRange[] | null = null;
  private localState: PeerState | null = null;
  private nextRequestId = 1;
  private readonly downloads = new Map<number, DownloadState>();
  private readonly uploads = new Set<number>();
  private closed = false;
  private bufferLowWaiters: (() => void)[] = [];
  uploadedBytes = 0;
  downloadedBytes = 0;

  constructor(
    readonly remoteId: string,
    private readonly channel: ChannelLike,
    private readonly deps: PeerSessionDeps,
  ) {
    super();
    channel.binaryType = "arraybuffer";
    channel.bufferedAmountLowThreshold = Math.floor(deps.sendBufferHighBytes / 2);
  }

  /**
   * Starts handling the channel (after the owner subscribed to events), first replaying the
   * messages that arrived before the session existed.
   */
  start(early: readonly unknown[] = []): void {
    this.channel.addEventListener("message", (ev) => this.onFrame(ev.data));
    this.channel.addEventListener("bufferedamountlow", () => this.wakeSenders());
    this.channel.addEventListener("close", () => this.close());
    for (const data of early) this.onFrame(data);
    if (this.channel.readyState === "closed") this.close();
  }

  /** The peer's HELLO and first HAVE arrived: until then we know too little to decide about it. */
  get ready(): boolean {
    return this.helloSeen && this.haveSeen;
  }

  get isOpen(): boolean {
    return !this.closed && this.channel.readyState === "open";
  }

  get inFlight(): number {
    return this.downloads.size;
  }

  send(msg: PeerMessage): void {
    if (!this.isOpen) return;
    try {
      this.channel.send(encode(msg));
    } catch {
      this.close(); // the channel died under us
    }
  }

  /** True when the peer's last HAVE lists `sn` (and it has not answered ABSENT for it since). */
  remoteHas(sn: number): boolean {
    return inRanges(this.remoteRanges, sn) && !this.remoteAbsent.has(sn);
  }

  /** Announces what we hold: ranges to a version-2 peer, the newest 4096 as a list to a version-1 peer. */
  sendHave(ranges: readonly SnRange[]): void {
    this.localHave = [...ranges];
    const have = this.localHave;
    if (this.remoteV2) {
      this.send({ type: "have-ranges", ranges: have.slice(-MAX_RANGES).map(([a, b]) => [a, b]) });
      return;
    }
    const sns: number[] = [];
    for (let i = have.length - 1; i >= 0 && sns.length < MAX_LIST_ENTRIES; i--) {
      const [a, b] = have[i]!;
      for (let sn = b; sn >= a && sns.length < MAX_LIST_ENTRIES; sn--) sns.push(sn);
    }
    this.send({ type: "have", sns: sns.reverse() });
  }

  /** Tells a version-2 peer our playhead and want window (version-1 peers do not read STATE). */
  sendState(state: PeerState): void {
    const last = this.localState;
    this.localState = state;
    if (!this.remoteV2) return;
    if (last && last.playheadSn === state.playheadSn && last.wantFirst === state.wantFirst && last.wantLast === state.wantLast) return;
    this.send({ type: "state", ...state });
  }

  sendFetching(sns: Iterable<number>): void {
    this.send({ type: "fetching", sns: [...sns].slice(-MAX_LIST_ENTRIES) });
  }

  /** Requests segment `sn` from byte `offset`. */
  request(sn: number, offset = 0): Download {
    const requestId = this.nextRequestId++;
    const startedAt = this.deps.now();
    let resolve!: (o: DownloadOutcome) => void;
    const result = new Promise<DownloadOutcome>((r) => (resolve = r));
    const st: DownloadState = { sn, startedAt, offset, buf: null, received: 0, total: null, lastProgressAt: startedAt, resolve };
    if (!this.isOpen) resolve({ kind: "closed" });
    else {
      this.downloads.set(requestId, st);
      this.send({ type: "request", requestId, sn, offset });
    }
    return {
      sn,
      result,
      startedAt,
      received: () => st.received,
      total: () => st.total,
      lastProgressAt: () => st.lastProgressAt,
      partial: () => (st.buf ? st.buf.subarray(0, st.received) : new Uint8Array(0)),
      cancel: () => {
        if (this.downloads.delete(requestId)) {
          this.send({ type: "cancel", requestId });
          resolve({ kind: "cancelled" });
        }
      },
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const d of this.downloads.values()) d.resolve({ kind: "closed" });
    this.downloads.clear();
    this.uploads.clear();
    this.wakeSenders();
    try {
      this.channel.close();
    } catch {
      // already closed
    }
    this.emit("close");
  }

  private fail(err: PeerProtocolError): void {
    if (this.closed) return;
    this.emit("protocol-error", err);
    this.close();
  }

  private onFrame(data: unknown): void {
    if (this.closed) return;
    let msg: PeerMessage;
    try {
      msg = decode(data as ArrayBuffer | Uint8Array | string);
    } catch (e) {
      if (e instanceof PeerProtocolError) return this.fail(e);
      throw e;
    }
    switch (msg.type) {
      case "hello": {
        this.remoteUploadEnabled = msg.uploadEnabled;
        this.helloSeen = true;
        const learnedV2 = msg.v2 && !this.remoteV2;
        this.remoteV2 = msg.v2;
        if (learnedV2 && this.localHave) {
          // What we sent before we knew, again in the version-2 form.
          this.sendHave(this.localHave);
          const st = this.localState;
          this.localState = null;
          if (st) this.sendState(st);
        }
        this.emit("update");
        break;
      }
      case "have":
        this.remoteRanges = toRanges(msg.sns);
        this.remoteAbsent.clear();
        this.haveSeen = true;
        this.emit("update");
        break;
      case "have-ranges":
        this.remoteRanges = msg.ranges;
        this.remoteAbsent.clear();
        this.haveSeen = true;
        this.emit("update");
        break;
      case "state":
        this.remoteState = { playheadSn: msg.playheadSn, wantFirst: msg.wantFirst, wantLast: msg.wantLast };
        this.emit("update");
        break;
      case "fetching":
        this.remoteFetching = new Set(msg.sns);
        this.emit("update");
        break;
      case "request":
        void this.serve(msg.requestId, msg.sn, msg.offset);
        break;
      case "cancel":
        this.uploads.delete(msg.requestId);
        break;
      case "absent": {
        const d = this.downloads.get(msg.requestId);
        if (d) {
          this.downloads.delete(msg.requestId);
          this.remoteAbsent.add(d.sn);
          d.resolve({ kind: "absent" });
        }
        break;
      }
      case "data":
        this.onData(msg.requestId, msg.offset, msg.total, msg.bytes);
        break;
    }
  }

  private onData(requestId: number, offset: number, total: number, bytes: Uint8Array): void {
    const d = this.downloads.get(requestId);
    // Chunks of a request we cancelled may still be in the pipe: drop them quietly.
    if (!d) return;
    if (total > this.deps.maxSegmentBytes) {
      return this.fail(new PeerProtocolError("segment-too-large", `${total} bytes > ${this.deps.maxSegmentBytes}`));
    }
    if (d.total === null) {
      if (d.offset > total) return this.fail(new PeerProtocolError("bad-data-range", `total ${total} below requested offset ${d.offset}`));
      d.total = total;
      d.buf = new Uint8Array(total - d.offset);
    } else if (d.total !== total) {
      return this.fail(new PeerProtocolError("bad-data-range", `total changed from ${d.total} to ${total}`));
    }
    if (offset !== d.offset + d.received) {
      return this.fail(new PeerProtocolError("out-of-order", `chunk at ${offset}, expected ${d.offset + d.received}`));
    }
    if (bytes.length === 0 && d.offset + d.received < total) {
      return this.fail(new PeerProtocolError("bad-data-range", "empty chunk before the end"));
    }
    d.buf!.set(bytes, d.received);
    d.received += bytes.length;
    this.downloadedBytes += bytes.length;
    d.lastProgressAt = this.deps.now();
    if (d.offset + d.received === total) {
      this.downloads.delete(requestId);
      const ms = Math.max(1, d.lastProgressAt - d.startedAt);
      const rate = d.received / ms;
      this.throughputBytesPerMs = this.throughputBytesPerMs > 0 ? 0.7 * this.throughputBytesPerMs + 0.3 * rate : rate;
      d.resolve({ kind: "done", data: d.buf! });
    }
  }

  private wakeSenders(): void {
    const ws = this.bufferLowWaiters;
    this.bufferLowWaiters = [];
    for (const w of ws) w();
  }

  private async serve(requestId: number, sn: number, offset: number): Promise<void> {
    const src = this.deps.uploadAllowed() ? this.deps.getSegment(sn) : undefined;
    if (!src || this.uploads.has(requestId) || this.uploads.size >= MAX_UPLOADS_PER_PEER) {
      this.send({ type: "absent", requestId });
      return;
    }
    this.uploads.add(requestId);
    if (src instanceof GrowingSegment) {
      // Relay: DATA needs the size, so wait for it (the HTTP response headers usually carry it).
      while (src.total() === null && !src.failed()) await src.next();
    }
    const total = src instanceof GrowingSegment ? src.total() : src.length;
    if (total === null || offset > total || (src instanceof GrowingSegment && src.failed())) {
      this.uploads.delete(requestId);
      this.send({ type: "absent", requestId });
      return;
    }
    let pos = offset;
    do {
      let seg = src instanceof GrowingSegment ? src.bytes() : src;
      while (src instanceof GrowingSegment && seg.length <= pos && pos < total) {
        if (src.failed()) {
          // Our download broke off: the peer takes the rest elsewhere (its partial bytes are kept).
          this.uploads.delete(requestId);
          this.send({ type: "absent", requestId });
          return;
        }
        await src.next();
        if (!this.isOpen || !this.uploads.has(requestId)) return;
        seg = src.bytes();
      }
      // Back-pressure: let the channel drain before queueing more.
      while (this.isOpen && this.channel.bufferedAmount > this.deps.sendBufferHighBytes) {
        await new Promise<void>((r) => this.bufferLowWaiters.push(r));
      }
      const n = Math.min(this.deps.chunkBytes ?? MAX_CHUNK_BYTES, MAX_CHUNK_BYTES, seg.length - pos);
      if (n === 0 && pos < total) continue;
      for (let wait = this.deps.uploadBucket.take(n, this.deps.now()); wait > 0; wait = this.deps.uploadBucket.take(n, this.deps.now())) {
        await new Promise((r) => setTimeout(r, wait));
      }
      if (!this.isOpen || !this.uploads.has(requestId)) return;
      const relayed = src instanceof GrowingSegment && !src.done();
      this.send({ type: "data", requestId, offset: pos, total, bytes: seg.subarray(pos, pos + n) });
      pos += n;
      this.uploadedBytes += n;
      this.deps.onUploaded(n, relayed);
    } while (pos < total);
    this.uploads.delete(requestId);
  }
}
