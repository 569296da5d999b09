import assert from "node:assert/strict";
import { test } from "node:test";
import { AbortedError, HttpError } from "../../src/core/errors.js";
import { createFragmentLoaderClass } from "../../src/hlsjs/fragment-loader.js";

interface Pending {
  resolve(v: { data: Uint8Array }): void;
  reject(e: unknown): void;
  req: any;
}

function setup(p2pEnabled = true) {
  const pending: Pending[] = [];
  const core = {
    p2pEnabled,
    load: (req: any) => new Promise<{ data: Uint8Array }>((resolve, reject) => pending.push({ resolve, reject, req })),
  };
  const Loader = createFragmentLoaderClass({ core: core as any, timeToDeadlineMs: (s) => s * 1000 });
  const calls: string[] = [];
  const callbacks = {
    onSuccess: (r: any, stats: any) => calls.push(`success:${(r.data as ArrayBuffer).byteLength}:${stats.loaded}`),
    onError: (e: any) => calls.push(`error:${e.code}`),
    onTimeout: () => calls.push("timeout"),
    onAbort: () => calls.push("abort"),
  };
  const frag = { sn: 7, start: 14, baseurl: "http://o/live/360p/index.m3u8", tagList: [["EXT-X-MESHCDN-SHA256", "a".repeat(64)]] };
  const context = { url: "http://o/live/360p/seg/7.ts", frag, part: null, responseType: "arraybuffer", type: "fragment", rangeStart: 0, rangeEnd: 0 };
  const config = { loadPolicy: { maxLoadTimeMs: 60_000 }, timeout: 0 };
  return { pending, Loader, calls, callbacks, context, config };
}

test("a segment from the core reaches hls.js with stats and the hash from tagList", async () => {
  const { pending, Loader, calls, callbacks, context, config } = setup();
  const loader = new Loader({} as any);
  loader.load(context as any, config as any, callbacks as any);
  assert.equal(pending[0]!.req.expectedSha256, "a".repeat(64));
  assert.equal(pending[0]!.req.sn, 7);
  assert.equal(pending[0]!.req.rangeEnd, undefined, "rangeEnd 0 means no byte range");
  assert.equal(pending[0]!.req.timeToDeadlineMs(), 14_000);
  const called = performance.now();
  await new Promise((r) => setTimeout(r, 50)); // "waiting for a peer"
  pending[0]!.resolve({ data: new Uint8Array(100), transferMs: 10 } as any);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(calls, ["success:100:100"]);
  const { start, first, end } = loader.stats.loading;
  assert.ok(end >= first && first >= start);
  assert.ok(start > called + 30, "the wait before the transfer is not counted as loading time");
  assert.ok(end - start >= 10 && end - start < 30, `loading took ${end - start} ms`);
  loader.destroy();
});

test("after abort() hls.js hears nothing, not even the error the abort causes", async () => {
  const { pending, Loader, calls, callbacks, context, config } = setup();
  const loader = new Loader({} as any);
  loader.load(context as any, config as any, callbacks as any);
  loader.abort();
  assert.equal(pending[0]!.req.signal.aborted, true, "the core's load is cancelled");
  pending[0]!.reject(new AbortedError());
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(calls, []);
  assert.equal(loader.stats.aborted, true);
});

test("HTTP failures are reported with their status", async () => {
  const { pending, Loader, calls, callbacks, context, config } = setup();
  new Loader({} as any).load(context as any, config as any, callbacks as any);
  // (the load settles below, which clears its timeout)
  pending[0]!.reject(new HttpError("u", 503, "status 503"));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(calls, ["error:503"]);
});

test("without a bootstrap every load goes to hls.js's own loader", () => {
  const { Loader, callbacks, context, config } = setup(false);
  const used: string[] = [];
  class DefaultLoader {
    stats = { retry: 0 } as any;
    load(ctx: any) {
      used.push(ctx.url);
    }
    abort() {}
    destroy() {}
  }
  const loader = new Loader({ loader: DefaultLoader } as any);
  loader.load(context as any, config as any, callbacks as any);
  assert.deepEqual(used, [context.url]);
});

test("hls.js's load timeout is honoured", async () => {
  const { Loader, calls, callbacks, context } = setup();
  const loader = new Loader({} as any);
  loader.load(context as any, { loadPolicy: { maxLoadTimeMs: 20 }, timeout: 0 } as any, callbacks as any);
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(calls, ["timeout"]);
});

test("a loader instance loads once", () => {
  const { Loader, callbacks, context, config } = setup();
  const loader = new Loader({} as any);
  loader.load(context as any, config as any, callbacks as any);
  assert.throws(() => loader.load(context as any, config as any, callbacks as any), /loads once/);
  loader.destroy();
});

test("the deadline is the time until playback reaches the fragment, bounded by the buffer", async () => {
  const { timeToDeadlineMs } = await import("../../src/hlsjs/client.js");
  const media = (currentTime: number, ranges: [number, number][], playbackRate = 1) =>
    ({ currentTime, playbackRate, buffered: { length: ranges.length, start: (i: number) => ranges[i]![0], end: (i: number) => ranges[i]![1] } }) as unknown as HTMLMediaElement;
  assert.equal(timeToDeadlineMs(null, 10), 0, "no media element: needed now");
  assert.equal(timeToDeadlineMs(media(0, []), 40), 0, "nothing buffered at the playhead (start-up): needed now");
  assert.equal(timeToDeadlineMs(media(10, [[6, 14]]), 14), 4000);
  assert.equal(timeToDeadlineMs(media(10, [[6, 14]]), 20), 4000, "a gap after the buffer: the buffer is what we have");
  assert.equal(timeToDeadlineMs(media(10, [[6, 14]]), 12), 2000, "replacing buffered data: until the playhead reaches it");
  assert.equal(timeToDeadlineMs(media(10, [[6, 14]], 2), 14), 2000, "faster playback, sooner deadline");
  assert.equal(timeToDeadlineMs(media(10, [[10.1, 14]]), 14), 4000, "a tiny gap at the playhead is jumped");
});
