import assert from "node:assert/strict";
import { test } from "node:test";
import { PeerProtocolError } from "../../src/core/errors.js";
import { decode, encode, MAX_CHUNK_BYTES, MAX_LIST_ENTRIES, PROTOCOL_VERSION, type PeerMessage } from "../../src/core/protocol.js";

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof PeerProtocolError, `expected PeerProtocolError, got ${e}`);
    assert.equal(e.type, "peer-protocol");
    return e.reason;
  }
  assert.fail("expected a PeerProtocolError");
}

test("every message round-trips through encode/decode", () => {
  const msgs: PeerMessage[] = [
    { type: "hello", uploadEnabled: true },
    { type: "hello", uploadEnabled: false },
    { type: "have", sns: [] },
    { type: "have", sns: [0, 1, 4294967295] },
    { type: "fetching", sns: [17] },
    { type: "request", requestId: 7, sn: 123456, offset: 65536 },
    { type: "data", requestId: 7, offset: 10, total: 13, bytes: new Uint8Array([1, 2, 3]) },
    { type: "data", requestId: 1, offset: 0, total: MAX_CHUNK_BYTES, bytes: new Uint8Array(MAX_CHUNK_BYTES).fill(9) },
    { type: "cancel", requestId: 4294967295 },
    { type: "absent", requestId: 2 },
  ];
  for (const m of msgs) {
    const bytes = encode(m);
    assert.equal(bytes[0], PROTOCOL_VERSION);
    assert.deepEqual(decode(bytes), m);
    assert.deepEqual(decode(bytes.buffer.slice(0) as ArrayBuffer), m, "ArrayBuffer input too");
  }
});

test("wire layout is big-endian and stable", () => {
  assert.deepEqual([...encode({ type: "request", requestId: 1, sn: 0x01020304, offset: 0 })], [1, 3, 0, 0, 0, 1, 1, 2, 3, 4, 0, 0, 0, 0]);
  assert.deepEqual([...encode({ type: "have", sns: [258] })], [1, 1, 0, 1, 0, 0, 1, 2]);
});

test("malformed frames are rejected with typed reasons", () => {
  assert.equal(reasonOf(() => decode(new Uint8Array(0))), "empty");
  assert.equal(reasonOf(() => decode(new Uint8Array([2, 0, 1]))), "bad-version");
  assert.equal(reasonOf(() => decode(new Uint8Array([1]))), "truncated");
  assert.equal(reasonOf(() => decode(new Uint8Array([1, 0x7f]))), "unknown-type");
  assert.equal(reasonOf(() => decode(new Uint8Array([1, 3, 0, 0]))), "truncated");
  assert.equal(reasonOf(() => decode(new Uint8Array([1, 5, 0, 0, 0, 1, 0]))), "trailing-bytes");
  assert.equal(reasonOf(() => decode(new Uint8Array([1, 1, 0, 2, 0, 0, 0, 1]))), "truncated", "HAVE claims 2 entries, has 1");
  assert.equal(reasonOf(() => decode("hello")), "not-binary");
});

test("oversized DATA chunks are rejected", () => {
  const frame = new Uint8Array(14 + MAX_CHUNK_BYTES + 1);
  const v = new DataView(frame.buffer);
  frame[0] = 1;
  frame[1] = 4;
  v.setUint32(10, 10 * MAX_CHUNK_BYTES);
  assert.equal(reasonOf(() => decode(frame)), "oversized-chunk");
});

test("DATA past its stated total is rejected", () => {
  const frame = encode({ type: "data", requestId: 1, offset: 0, total: 4, bytes: new Uint8Array(4) });
  new DataView(frame.buffer).setUint32(10, 3);
  assert.equal(reasonOf(() => decode(frame)), "bad-data-range");
});

test("lists longer than the cap are rejected", () => {
  const n = MAX_LIST_ENTRIES + 1;
  const frame = new Uint8Array(4 + 4 * n);
  frame[0] = 1;
  frame[1] = 1;
  new DataView(frame.buffer).setUint16(2, n);
  assert.equal(reasonOf(() => decode(frame)), "too-many-entries");
});

test("encode refuses API misuse", () => {
  assert.throws(() => encode({ type: "data", requestId: 1, offset: 0, total: MAX_CHUNK_BYTES + 1, bytes: new Uint8Array(MAX_CHUNK_BYTES + 1) }), RangeError);
  assert.throws(() => encode({ type: "request", requestId: -1, sn: 0, offset: 0 }), RangeError);
  assert.throws(() => encode({ type: "have", sns: [1.5] }), RangeError);
});
