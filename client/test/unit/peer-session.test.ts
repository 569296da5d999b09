import assert from "node:assert/strict";
import { test } from "node:test";
import { PeerProtocolError } from "../../src/core/errors.js";
import { MAX_UPLOADS_PER_PEER, PeerSession, type PeerSessionDeps } from "../../src/core/peer-session.js";
import { GrowingSegment } from "../../src/core/growing-segment.js";
import { decode, encode, MAX_CHUNK_BYTES } from "../../src/core/protocol.js";
import { TokenBucket } from "../../src/core/switcher.js";
import { channelPair, type FakeChannel } from "../support/fake-channel.js";

/** A started session (what the swarm does after subscribing to its events). */
function session(id: string, ch: FakeChannel, d: PeerSessionDeps, early: unknown[] = []): PeerSession {
  const s = new PeerSession(id, ch, d);
  s.start(early);
  return s;
}

function deps(segments: Map<number, Uint8Array | GrowingSegment>, o: Partial<PeerSessionDeps> = {}): PeerSessionDeps {
  return {
    now: () => Date.now(),
    getSegment: (sn) => segments.get(sn),
    uploadAllowed: () => true,
    uploadBucket: new TokenBucket(Infinity, 0, 0),
    maxSegmentBytes: 1 << 20,
    sendBufferHighBytes: 256 * 1024,
    onUploaded: () => undefined,
    ...o,
  };
}

function segment(n: number): Uint8Array {
  const s = new Uint8Array(n);
  for (let i = 0; i < n; i++) s[i] = (i * 31 + 7) & 0xff;
  return s;
}

test("a segment is downloaded in chunks of at most 64 KiB and reassembled", async () => {
  const [a, b] = channelPair();
  const seg = segment(3 * MAX_CHUNK_BYTES + 123);
  const downloader = session("B", a, deps(new Map()));
  session("A", b, deps(new Map([[5, seg]])));
  const out = await downloader.request(5).result;
  assert.equal(out.kind, "done");
  assert.deepEqual(out.kind === "done" && out.data, seg);
  const chunks = b.sent.map((f) => decode(f)).filter((m) => m.type === "data");
  assert.equal(chunks.length, 4);
  for (const c of chunks) assert.ok(c.type === "data" && c.bytes.length <= MAX_CHUNK_BYTES);
});

test("the uploader uses its configured chunk size", async () => {
  const [a, b] = channelPair();
  const seg = segment(40_000);
  const downloader = session("B", a, deps(new Map()));
  session("A", b, deps(new Map([[1, seg]]), { chunkBytes: 16_384 }));
  const out = await downloader.request(1).result;
  assert.deepEqual(out.kind === "done" && out.data, seg);
  const sizes = b.sent.map((f) => decode(f)).flatMap((m) => (m.type === "data" ? [m.bytes.length] : []));
  assert.deepEqual(sizes, [16_384, 16_384, 7232]);
});

test("a download resumes from an offset", async () => {
  const [a, b] = channelPair();
  const seg = segment(100_000);
  const downloader = session("B", a, deps(new Map()));
  session("A", b, deps(new Map([[1, seg]])));
  const out = await downloader.request(1, 70_000).result;
  assert.deepEqual(out.kind === "done" && out.data, seg.subarray(70_000));
});

test("a missing segment is answered with ABSENT", async () => {
  const [a, b] = channelPair();
  const downloader = session("B", a, deps(new Map()));
  session("A", b, deps(new Map()));
  assert.deepEqual(await downloader.request(9).result, { kind: "absent" });
});

test("with upload off a peer answers ABSENT even for segments it has", async () => {
  const [a, b] = channelPair();
  const downloader = session("B", a, deps(new Map()));
  session("A", b, deps(new Map([[1, segment(10)]]), { uploadAllowed: () => false }));
  assert.deepEqual(await downloader.request(1).result, { kind: "absent" });
});

test("HELLO, HAVE and FETCHING update what we know of the peer", async () => {
  const [a, b] = channelPair();
  const s = session("B", a, deps(new Map()));
  const remote = session("A", b, deps(new Map()));
  let updates = 0;
  s.on("update", () => updates++);
  remote.send({ type: "hello", uploadEnabled: true, v2: false });
  await new Promise((r) => setImmediate(r));
  assert.equal(s.ready, false, "HELLO alone is not enough to decide about the peer");
  remote.sendHave([[1, 2]]);
  remote.sendFetching([3]);
  await new Promise((r) => setImmediate(r));
  assert.equal(updates, 3);
  assert.equal(s.ready, true, "HELLO and HAVE seen");
  assert.equal(s.remoteUploadEnabled, true);
  assert.ok(s.remoteHas(1) && s.remoteHas(2) && !s.remoteHas(0) && !s.remoteHas(3));
  assert.deepEqual([...s.remoteFetching], [3]);
});

test("the uploader stops queueing at the send-buffer limit and resumes when it drains", async () => {
  const [a, b] = channelPair();
  b.paused = true; // the uploader's outgoing frames pile up
  const seg = segment(12 * MAX_CHUNK_BYTES);
  const downloader = session("B", a, deps(new Map()));
  session("A", b, deps(new Map([[1, seg]]), { sendBufferHighBytes: 2 * MAX_CHUNK_BYTES }));
  const dl = downloader.request(1);
  for (let i = 0; i < 20 && b.sent.length < 2; i++) await new Promise((r) => setImmediate(r));
  await new Promise((r) => setTimeout(r, 20));
  const queued = b.sent.length;
  assert.ok(queued >= 2 && queued <= 4, `queued ${queued} frames before back-pressure`);
  b.paused = false;
  b.flush();
  const out = await dl.result;
  assert.equal(out.kind, "done");
  assert.deepEqual(out.kind === "done" && out.data, seg);
});

test("CANCEL stops the upload", async () => {
  const [a, b] = channelPair();
  b.paused = true;
  const seg = segment(20 * MAX_CHUNK_BYTES);
  const downloader = session("B", a, deps(new Map()));
  session("A", b, deps(new Map([[1, seg]]), { sendBufferHighBytes: MAX_CHUNK_BYTES }));
  const dl = downloader.request(1);
  await new Promise((r) => setTimeout(r, 10));
  dl.cancel();
  assert.deepEqual(await dl.result, { kind: "cancelled" });
  await new Promise((r) => setTimeout(r, 10));
  b.paused = false;
  b.flush();
  await new Promise((r) => setTimeout(r, 20));
  assert.ok(b.sent.length < 20, `uploader sent ${b.sent.length} frames after cancel`);
});

async function protocolErrorFrom(frames: (Uint8Array | string)[], maxSegmentBytes = 1 << 20): Promise<PeerProtocolError> {
  const [a] = channelPair();
  const s = new PeerSession("X", a, deps(new Map(), { maxSegmentBytes }));
  const got = new Promise<PeerProtocolError>((resolve) => s.on("protocol-error", resolve));
  const closed = new Promise<void>((resolve) => s.on("close", resolve));
  s.start();
  s.request(1);
  for (const f of frames) a.receive(f);
  const err = await got;
  await closed;
  assert.equal(s.isOpen, false, "session is dropped");
  return err;
}

test("malformed peer messages drop the peer with a typed error", async () => {
  assert.equal((await protocolErrorFrom([new Uint8Array([9, 9])])).reason, "bad-version");
  assert.equal((await protocolErrorFrom(["text"])).reason, "not-binary");
  assert.equal((await protocolErrorFrom([new Uint8Array([1, 0xee])])).reason, "unknown-type");
});

test("an oversized chunk drops the peer", async () => {
  const frame = new Uint8Array(14 + MAX_CHUNK_BYTES + 1);
  frame.set([1, 4, 0, 0, 0, 1]);
  new DataView(frame.buffer).setUint32(10, 1 << 20);
  assert.equal((await protocolErrorFrom([frame])).reason, "oversized-chunk");
});

test("a peer claiming a huge segment is dropped", async () => {
  const f = encode({ type: "data", requestId: 1, offset: 0, total: 1 << 30, bytes: new Uint8Array(1) });
  assert.equal((await protocolErrorFrom([f], 1 << 20)).reason, "segment-too-large");
});

test("chunks out of order drop the peer", async () => {
  const f1 = encode({ type: "data", requestId: 1, offset: 0, total: 10, bytes: new Uint8Array(4) });
  const f2 = encode({ type: "data", requestId: 1, offset: 6, total: 10, bytes: new Uint8Array(4) });
  assert.equal((await protocolErrorFrom([f1, f2])).reason, "out-of-order");
});

test("a changing total drops the peer", async () => {
  const f1 = encode({ type: "data", requestId: 1, offset: 0, total: 10, bytes: new Uint8Array(4) });
  const f2 = encode({ type: "data", requestId: 1, offset: 4, total: 12, bytes: new Uint8Array(4) });
  assert.equal((await protocolErrorFrom([f1, f2])).reason, "bad-data-range");
});

test("closing the channel ends downloads in flight", async () => {
  const [a, b] = channelPair();
  const s = session("B", a, deps(new Map()));
  b.paused = true;
  const dl = s.request(1);
  b.close();
  assert.deepEqual(await dl.result, { kind: "closed" });
});

test("messages that arrived before the session started are replayed", () => {
  const [a] = channelPair();
  const early = [encode({ type: "hello", uploadEnabled: true, v2: false }), encode({ type: "have", sns: [4] })].map((f) => f.buffer);
  const s = session("B", a, deps(new Map()), early);
  assert.equal(s.ready, true);
  assert.ok(s.remoteHas(4) && !s.remoteHas(5));
});

test("a peer cannot make us serve more than a few uploads at once", async () => {
  const [a, b] = channelPair();
  b.paused = true; // keep the uploads in flight
  const seg = segment(8 * MAX_CHUNK_BYTES);
  const downloader = session("B", a, deps(new Map()));
  session("A", b, deps(new Map([[1, seg]]), { sendBufferHighBytes: MAX_CHUNK_BYTES }));
  const dls = Array.from({ length: MAX_UPLOADS_PER_PEER + 2 }, () => downloader.request(1));
  await new Promise((r) => setTimeout(r, 10)); // the uploader has taken every request by now
  b.paused = false;
  b.flush();
  const results = await Promise.all(dls.map((d) => d.result));
  assert.deepEqual(results.map((r) => r.kind), [...Array(MAX_UPLOADS_PER_PEER).fill("done"), "absent", "absent"]);
});

test("a version-2 pair switches to HAVE_RANGES and STATE once both HELLOs are in; a version-1 peer keeps lists", async () => {
  const [a, b] = channelPair();
  const s = session("B", a, deps(new Map()));
  const remote = session("A", b, deps(new Map()));
  // The remote announces before it knows our version: a version-1 list goes out first.
  remote.sendHave([[0, 4999]]);
  remote.sendState({ playheadSn: 10, wantFirst: 10, wantLast: 30 });
  await new Promise((r) => setImmediate(r));
  assert.ok(!s.remoteHas(0), "a version-1 HAVE carries only the newest 4096");
  assert.ok(!s.remoteHas(903) && s.remoteHas(904) && s.remoteHas(4999));
  assert.equal(s.remoteState, null, "no STATE to a peer not known to read version 2");
  s.send({ type: "hello", uploadEnabled: true, v2: true });
  await new Promise((r) => setImmediate(r));
  assert.equal(remote.remoteV2, true);
  assert.ok(s.remoteHas(0) && s.remoteHas(4999) && !s.remoteHas(5000), "resent as ranges: the whole set");
  assert.deepEqual(s.remoteState, { playheadSn: 10, wantFirst: 10, wantLast: 30 });
});

test("ABSENT takes the segment out of the peer's HAVE view until its next HAVE", async () => {
  const [a, b] = channelPair();
  const s = session("B", a, deps(new Map()));
  const remote = session("A", b, deps(new Map()));
  remote.send({ type: "hello", uploadEnabled: true, v2: false });
  remote.sendHave([[1, 3]]);
  await new Promise((r) => setImmediate(r));
  assert.ok(s.remoteHas(2));
  assert.deepEqual(await s.request(2).result, { kind: "absent" });
  assert.ok(!s.remoteHas(2) && s.remoteHas(3));
  remote.sendHave([[1, 3]]);
  await new Promise((r) => setImmediate(r));
  assert.ok(s.remoteHas(2));
});

test("relay: a segment still arriving is served as it comes, and the receiver gets all of it", async () => {
  const [a, b] = channelPair();
  const seg = segment(2 * MAX_CHUNK_BYTES + 500);
  const growing = new GrowingSegment(null);
  const downloader = session("B", a, deps(new Map()));
  const sent = { all: 0, relayed: 0 };
  const onUploaded = (n: number, relayed: boolean) => ((sent.all += n), (sent.relayed += relayed ? n : 0));
  session("A", b, deps(new Map([[3, growing]]), { onUploaded }));
  const dl = downloader.request(3);
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(dl.received(), 0, "nothing before the size is known");
  growing.setTotal(seg.length);
  growing.append(seg.subarray(0, 1000));
  for (let i = 0; i < 20 && dl.received() < 1000; i++) await new Promise((r) => setImmediate(r));
  assert.equal(dl.received(), 1000, "the first bytes went out before the download ended");
  growing.append(seg.subarray(1000));
  growing.finish();
  const out = await dl.result;
  assert.equal(out.kind, "done");
  assert.deepEqual(out.kind === "done" && out.data, seg);
  assert.equal(sent.all, seg.length);
  assert.ok(sent.relayed >= 1000 && sent.relayed <= seg.length, `bytes sent before the end count as relayed (${sent.relayed})`);
});

test("a finished segment's upload is not counted as relayed", async () => {
  const [a, b] = channelPair();
  const seg = segment(5000);
  const sent = { all: 0, relayed: 0 };
  const onUploaded = (n: number, relayed: boolean) => ((sent.all += n), (sent.relayed += relayed ? n : 0));
  const done = new GrowingSegment(seg.length);
  done.append(seg);
  done.finish();
  session("A", b, deps(new Map<number, Uint8Array | GrowingSegment>([[1, seg], [2, done]]), { onUploaded }));
  const downloader = session("B", a, deps(new Map()));
  for (const sn of [1, 2]) assert.equal((await downloader.request(sn).result).kind, "done");
  assert.deepEqual(sent, { all: 2 * seg.length, relayed: 0 });
});

test("relay: when the relayer's own download breaks off, the receiver gets ABSENT (and tries elsewhere)", async () => {
  const [a, b] = channelPair();
  const growing = new GrowingSegment(5000);
  const downloader = session("B", a, deps(new Map()));
  session("A", b, deps(new Map([[3, growing]])));
  const dl = downloader.request(3);
  growing.append(segment(100));
  for (let i = 0; i < 20 && dl.received() < 100; i++) await new Promise((r) => setImmediate(r));
  growing.fail();
  assert.deepEqual(await dl.result, { kind: "absent" });
  // Unknown size and a failure before any byte: ABSENT too.
  const g2 = new GrowingSegment(null);
  const [c, d] = channelPair();
  const dl2 = session("B", c, deps(new Map())).request(4);
  session("A", d, deps(new Map([[4, g2]])));
  g2.fail();
  assert.deepEqual(await dl2.result, { kind: "absent" });
});
