import assert from "node:assert/strict";
import { test } from "node:test";
import { PeerProtocolError } from "../../src/core/errors.js";
import { BASE_VERSION, decode, encode, MAX_CHUNK_BYTES, MAX_LIST_ENTRIES, MAX_RANGES, PROTOCOL_VERSION, type PeerMessage } from "../../src/core/protocol.js";

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
    { type: "hello", uploadEnabled: true, v2: true },
    { type: "hello", uploadEnabled: false, v2: false },
    { type: "hello", uploadEnabled: true, v2: false },
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
    assert.equal(bytes[0], BASE_VERSION, "version-1 messages keep version byte 1, so version-1 peers read them");
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
  assert.equal(reasonOf(() => decode(new Uint8Array([3, 0, 1]))), "bad-version");
  assert.equal(reasonOf(() => decode(new Uint8Array([0, 0, 1]))), "bad-version");
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

test("version 2: HAVE_RANGES and STATE round-trip under version byte 2", () => {
  const msgs: PeerMessage[] = [
    { type: "have-ranges", ranges: [] },
    { type: "have-ranges", ranges: [[0, 0], [2, 9], [11, 4294967295]] },
    { type: "state", playheadSn: 7, wantFirst: 7, wantLast: 27 },
    { type: "state", playheadSn: null, wantFirst: 1, wantLast: 0 },
  ];
  for (const m of msgs) {
    const bytes = encode(m);
    assert.equal(bytes[0], PROTOCOL_VERSION);
    assert.deepEqual(decode(bytes), m);
  }
  assert.deepEqual([...encode({ type: "have-ranges", ranges: [[1, 258]] })], [2, 7, 0, 1, 0, 0, 0, 1, 0, 0, 1, 2]);
  // A HELLO's flag bit 1 says "I read version 2"; a version-1 decoder only looks at bit 0.
  assert.deepEqual([...encode({ type: "hello", uploadEnabled: true, v2: true })], [1, 0, 3]);
  // Version-1 framing of the old messages is accepted under byte 2 as well.
  assert.deepEqual(decode(new Uint8Array([2, 5, 0, 0, 0, 9])), { type: "cancel", requestId: 9 });
});

test("version 2: a whole long VOD fits in one HAVE_RANGES (no 4096 cut)", () => {
  const m: PeerMessage = { type: "have-ranges", ranges: [[0, 99_999]] };
  assert.equal(encode(m).length, 12);
  assert.deepEqual(decode(encode(m)), m);
});

test("version 2: malformed HAVE_RANGES and STATE are rejected", () => {
  assert.equal(reasonOf(() => decode(new Uint8Array([1, 7, 0, 0]))), "unknown-type", "a version-1 frame cannot carry the new types");
  assert.equal(reasonOf(() => decode(new Uint8Array([2, 7, 0]))), "truncated");
  assert.equal(reasonOf(() => decode(new Uint8Array([2, 7, 0, 1, 0, 0, 0, 1]))), "truncated");
  assert.equal(reasonOf(() => decode(new Uint8Array([2, 7, 0, 1, 0, 0, 0, 5, 0, 0, 0, 4]))), "bad-ranges", "first > last");
  assert.equal(
    reasonOf(() => decode(new Uint8Array([2, 7, 0, 2, 0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0, 5, 0, 0, 0, 6]))),
    "bad-ranges",
    "overlapping",
  );
  const big = new Uint8Array(4);
  big.set([2, 7]);
  new DataView(big.buffer).setUint16(2, MAX_RANGES + 1);
  assert.equal(reasonOf(() => decode(big)), "too-many-entries");
  assert.equal(reasonOf(() => decode(new Uint8Array([2, 8, 0, 0, 0, 1]))), "truncated");
  assert.equal(reasonOf(() => decode(new Uint8Array(15).fill(0).map((_, i) => (i === 0 ? 2 : i === 1 ? 8 : 0)))), "trailing-bytes");
  assert.throws(() => encode({ type: "have-ranges", ranges: [[5, 4]] }), RangeError);
  assert.throws(() => encode({ type: "have-ranges", ranges: [[1, 4], [3, 9]] }), RangeError);
});
