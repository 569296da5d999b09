import assert from "node:assert/strict";
import { test } from "node:test";
import { GrowingSegment } from "../../src/core/growing-segment.js";

test("a growing segment collects chunks, learns its size and ends", async () => {
  const g = new GrowingSegment(null);
  assert.equal(g.total(), null);
  let woke = 0;
  void g.next().then(() => woke++);
  g.append(new Uint8Array([1, 2]));
  await Promise.resolve();
  assert.equal(woke, 1);
  g.setTotal(5);
  g.append(new Uint8Array([3, 4, 5]));
  g.finish();
  assert.deepEqual([...g.bytes()], [1, 2, 3, 4, 5]);
  assert.ok(g.done() && !g.failed());
  await g.next(); // resolves at once once done
});

test("a growing segment fails on more bytes than stated, on a short end, or on a changed size", () => {
  const a = new GrowingSegment(2);
  a.append(new Uint8Array(3));
  assert.ok(a.failed());
  const b = new GrowingSegment(4);
  b.append(new Uint8Array(2));
  b.finish();
  assert.ok(b.failed() && !b.done());
  const c = new GrowingSegment(null);
  c.append(new Uint8Array(100_000)); // grows past its first buffer
  c.setTotal(10);
  assert.ok(c.failed(), "a size below what arrived");
  const d = new GrowingSegment(null);
  d.finish();
  assert.equal(d.total(), 0, "an empty body is a complete empty segment");
});
