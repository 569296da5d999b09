import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { binaryStringToHex, hexToBinaryString, isBinaryId, randomBinaryId } from "../../src/core/binary-string.js";
import { encodeBootstrap, parseBootstrap, swarmForPlaylist, trackerUrlWithToken, type Bootstrap } from "../../src/core/bootstrap.js";
import { BootstrapError } from "../../src/core/errors.js";
import { hashFromTagList, sha256Backend, sha256Hex, verifySegment } from "../../src/core/integrity.js";

const H = "0123456789abcdef0123456789abcdef01234567";
const sample: Bootstrap = {
  v: 1,
  content: "live/sample",
  trackers: ["ws://127.0.0.1:8000/announce", "ws://127.0.0.1:8001/announce"],
  token: null,
  swarms: { "360p/index.m3u8": H, "240p/index.m3u8": "f".repeat(40) },
  integrity: "sha256-tags",
};

test("sha-256 matches node's and a wrong hash is reported with the actual one", async () => {
  const data = new TextEncoder().encode("segment bytes");
  const expected = createHash("sha256").update(data).digest("hex");
  assert.equal(await sha256Hex(data), expected);
  assert.deepEqual(await verifySegment(data, expected), { ok: true });
  const bad = await verifySegment(new TextEncoder().encode("segment bytez"), expected);
  assert.equal(bad.ok, false);
  assert.match(!bad.ok ? bad.actualSha256 : "", /^[0-9a-f]{64}$/);
});

test("without WebCrypto (an insecure context) the JS SHA-256 gives the same hashes", async () => {
  assert.equal(sha256Backend(), "webcrypto", "node has crypto.subtle");
  const big = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => (i * 31 + (i >> 8)) & 0xff);
  // A view into a larger buffer: only the viewed bytes are hashed.
  const view = new Uint8Array(big.buffer, 5, 1000);
  for (const data of [new Uint8Array(0), new TextEncoder().encode("abc"), big, view]) {
    const expected = createHash("sha256").update(data).digest("hex");
    assert.equal(await sha256Hex(data, "js"), expected);
    assert.equal(await sha256Hex(data, "webcrypto"), expected);
  }
  assert.equal(await sha256Hex(big.buffer, "js"), createHash("sha256").update(big).digest("hex"));
  // And what the browser without crypto.subtle takes by itself.
  const subtle = Object.getOwnPropertyDescriptor(globalThis.crypto, "subtle");
  Object.defineProperty(globalThis.crypto, "subtle", { value: undefined, configurable: true });
  try {
    assert.equal(sha256Backend(), "js");
    assert.deepEqual(await verifySegment(view, createHash("sha256").update(view).digest("hex")), { ok: true });
  } finally {
    if (subtle) Object.defineProperty(globalThis.crypto, "subtle", subtle);
    else delete (globalThis.crypto as { subtle?: unknown }).subtle;
  }
  assert.equal(sha256Backend(), "webcrypto");
});

test("hash comes from hls.js's tagList entry for the unknown tag", () => {
  const hex = "a".repeat(64);
  assert.equal(hashFromTagList([["INF", "2.0"], ["EXT-X-MESHCDN-SHA256", hex]]), hex);
  assert.equal(hashFromTagList([["INF", "2.0"]]), null);
  assert.equal(hashFromTagList([["EXT-X-MESHCDN-SHA256", "nothex"]]), null);
  assert.equal(hashFromTagList(undefined), null);
});

test("bootstrap round-trips and maps variant URIs to swarms", () => {
  const b = parseBootstrap(encodeBootstrap(sample));
  assert.deepEqual(b, sample);
  assert.equal(swarmForPlaylist(b, "http://o/live/master.m3u8", "http://o/live/360p/index.m3u8?x=1"), H);
  assert.equal(swarmForPlaylist(b, "http://o/live/master.m3u8", "http://o/live/720p/index.m3u8"), null);
});

test("bad bootstraps are BootstrapErrors", () => {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const bad: [string, RegExp][] = [
    ["!!!", /base64url/],
    [Buffer.from("not json").toString("base64url"), /JSON/],
    [enc({ ...sample, v: 2 }), /version/],
    [enc({ ...sample, trackers: [] }), /trackers/],
    [enc({ ...sample, trackers: ["http://x"] }), /ws\(s\)/],
    [enc({ ...sample, swarms: { a: "XYZ" } }), /hex/],
    [enc({ ...sample, integrity: "md5" }), /integrity/],
    [enc({ ...sample, token: 5 }), /token/],
  ];
  for (const [value, re] of bad) {
    assert.throws(() => parseBootstrap(value), (e: unknown) => e instanceof BootstrapError && e.type === "bootstrap" && re.test(e.message));
  }
});

test("token goes into the tracker URL query", () => {
  assert.equal(trackerUrlWithToken("ws://h/announce", null), "ws://h/announce");
  assert.equal(trackerUrlWithToken("ws://h/announce", "a.b.c"), "ws://h/announce?token=a.b.c");
  assert.equal(trackerUrlWithToken("ws://h/announce?x=1", "t"), "ws://h/announce?x=1&token=t");
});

test("info hashes convert to 20-char binary strings and back", () => {
  const bin = hexToBinaryString(H);
  assert.equal(bin.length, 20);
  assert.equal(bin.charCodeAt(0), 0x01);
  assert.equal(binaryStringToHex(bin), H);
  assert.throws(() => hexToBinaryString("xyz"));
  assert.equal(binaryStringToHex("\u0100".repeat(20)), null);
  const id = randomBinaryId("-MC0001-");
  assert.ok(isBinaryId(id) && id.startsWith("-MC0001-"));
});
