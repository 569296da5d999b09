/**
 * A segment still arriving (over HTTP), served to peers while it downloads: peers get the bytes
 * as they come and verify the whole segment's SHA-256 at the end, as for any P2P segment.
 */

export class GrowingSegment {
  private buf: Uint8Array;
  private len = 0;
  private size: number | null;
  private bad = false;
  private complete = false;
  private waiters: (() => void)[] = [];

  /** `total`: the size when known up front (Content-Length), else null until the end. */
  constructor(total: number | null) {
    this.size = total;
    this.buf = new Uint8Array(total ?? 64 * 1024);
  }

  /** The segment's size, once known (null before: DATA frames need it). */
  total(): number | null {
    return this.size;
  }

  /** Bytes [0, n) received so far. */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }

  failed(): boolean {
    return this.bad;
  }

  done(): boolean {
    return this.complete;
  }

  /** Resolves on the next chunk, the end, or a failure. */
  next(): Promise<void> {
    if (this.bad || this.complete) return Promise.resolve();
    return new Promise((r) => this.waiters.push(r));
  }

  /** The size became known (e.g. the response's Content-Length). A wrong or second size fails it. */
  setTotal(n: number): void {
    if (this.bad || this.complete) return;
    if (this.size !== null || n < this.len) {
      if (this.size !== n) this.fail();
      return;
    }
    this.size = n;
    if (this.buf.length !== n) {
      const sized = new Uint8Array(n);
      sized.set(this.buf.subarray(0, this.len));
      this.buf = sized;
    }
    this.wake();
  }

  append(chunk: Uint8Array): void {
    if (this.bad || this.complete) return;
    if (this.size !== null && this.len + chunk.length > this.size) return this.fail();
    if (this.len + chunk.length > this.buf.length) {
      const grown = new Uint8Array(Math.max(this.buf.length * 2, this.len + chunk.length));
      grown.set(this.buf.subarray(0, this.len));
      this.buf = grown;
    }
    this.buf.set(chunk, this.len);
    this.len += chunk.length;
    this.wake();
  }

  /** The download ended: a size stated up front must have been reached. */
  finish(): void {
    if (this.bad || this.complete) return;
    if (this.size !== null && this.len !== this.size) return this.fail();
    this.size = this.len;
    this.complete = true;
    this.wake();
  }

  fail(): void {
    if (this.complete) return;
    this.bad = true;
    this.wake();
  }

  private wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }
}
