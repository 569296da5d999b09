import assert from "node:assert/strict";
import { test } from "node:test";
import { evictionOrder, inRanges, SegmentStore, toRanges } from "../../src/core/segment-store.js";

const seg = (n: number) => ({ data: new Uint8Array(n), source: "http" as const });

test("ranges: sorted, merged, duplicates folded; lookup by binary search", () => {
  assert.deepEqual(toRanges([]), []);
  assert.deepEqual(toRanges([5, 3, 4, 9, 9, 0, 10, 12]), [[0, 0], [3, 5], [9, 10], [12, 12]]);
  const r = toRanges([0, 3, 4, 5, 9, 10, 12]);
  for (const sn of [0, 3, 4, 5, 9, 10, 12]) assert.ok(inRanges(r, sn), `${sn} in`);
  for (const sn of [-1, 1, 2, 6, 8, 11, 13]) assert.ok(!inRanges(r, sn), `${sn} out`);
});

test("eviction order: out of the live window first, then furthest behind the playhead, then furthest ahead", () => {
  assert.deepEqual(evictionOrder([1, 2, 3, 4, 5, 6], 4, null), [1, 2, 3, 6, 5, 4]);
  assert.deepEqual(evictionOrder([1, 2, 3, 4, 5, 6], 4, 3), [1, 2, 3, 6, 5, 4]);
  assert.deepEqual(evictionOrder([6, 2, 5], null, null), [2, 5, 6], "no playhead: oldest first");
  assert.deepEqual(evictionOrder([10, 11, 2], 11, 9), [2, 10, 11]);
});

test("the store stays within its byte budget, evicting behind the playhead", () => {
  const s = new SegmentStore(100);
  s.setPosition(5, null);
  for (let sn = 0; sn < 10; sn++) s.put(sn, seg(20));
  assert.equal(s.bytes, 100);
  assert.deepEqual(s.sns(), [5, 6, 7, 8, 9], "the playhead and what follows it are kept");
  assert.ok(s.bytes <= s.maxBytes);
});

test("VOD keeps the whole stream while it fits (a first viewer keeps what later ones start with)", () => {
  const s = new SegmentStore(10_000);
  s.setPosition(0, null);
  for (let sn = 0; sn < 60; sn++) {
    s.setPosition(sn, null);
    s.put(sn, seg(100));
  }
  assert.equal(s.size, 60);
  assert.deepEqual(s.ranges(), [[0, 59]]);
});

test("live: segments that left the playlist go at once, whatever the budget", () => {
  const s = new SegmentStore(1 << 20);
  for (let sn = 0; sn < 10; sn++) s.put(sn, seg(10));
  assert.deepEqual(s.setPosition(8, 6), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(s.sns(), [6, 7, 8, 9]);
  assert.equal(s.bytes, 40);
});

test("a segment larger than the budget is not kept; replacing one counts its bytes once", () => {
  const s = new SegmentStore(50);
  assert.deepEqual(s.put(1, seg(60)), [1]);
  assert.equal(s.has(1), false);
  s.put(2, seg(30));
  s.put(2, seg(40));
  assert.equal(s.bytes, 40);
  assert.ok(s.remove(2));
  assert.equal(s.bytes, 0);
  assert.throws(() => new SegmentStore(-1), RangeError);
});
