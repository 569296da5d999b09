/** An in-memory pair of RTCDataChannel-shaped endpoints, for driving PeerSession in node. */
import type { ChannelLike } from "../../src/core/peer-session.js";

type Fn = (ev: { data: unknown }) => void;

export class FakeChannel implements ChannelLike {
  readyState = "open";
  bufferedAmount = 0;
  bufferedAmountLowThreshold = 0;
  binaryType = "blob";
  peer: FakeChannel | null = null;
  /** Frames this end sent, for assertions. */
  sent: Uint8Array[] = [];
  /** When set, frames are held until `flush()` (to observe back-pressure). */
  paused = false;
  private queue: Uint8Array[] = [];
  private readonly fns = new Map<string, Set<Fn>>();

  addEventListener(type: string, fn: Fn): void {
    if (!this.fns.has(type)) this.fns.set(type, new Set());
    this.fns.get(type)!.add(fn);
  }
  fire(type: string, data?: unknown): void {
    for (const fn of this.fns.get(type) ?? []) fn({ data });
  }
  send(data: Uint8Array): void {
    if (this.readyState !== "open") throw new Error("channel closed");
    const copy = data.slice();
    this.sent.push(copy);
    this.bufferedAmount += copy.length;
    this.queue.push(copy);
    if (!this.paused) queueMicrotask(() => this.flush());
  }
  flush(): void {
    while (this.queue.length) {
      const f = this.queue.shift()!;
      const before = this.bufferedAmount;
      this.bufferedAmount -= f.length;
      if (before > this.bufferedAmountLowThreshold && this.bufferedAmount <= this.bufferedAmountLowThreshold) this.fire("bufferedamountlow");
      if (this.peer?.readyState === "open") this.peer.fire("message", f.buffer.slice(f.byteOffset, f.byteOffset + f.byteLength));
    }
  }
  /** Delivers raw bytes to this end as if the peer sent them. */
  receive(bytes: Uint8Array | string): void {
    this.fire("message", typeof bytes === "string" ? bytes : bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  }
  close(): void {
    if (this.readyState === "closed") return;
    this.readyState = "closed";
    this.fire("close");
    this.peer?.close();
  }
}

export function channelPair(): [FakeChannel, FakeChannel] {
  const a = new FakeChannel();
  const b = new FakeChannel();
  a.peer = b;
  b.peer = a;
  return [a, b];
}
