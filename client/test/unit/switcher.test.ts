import assert from "node:assert/strict";
import { test } from "node:test";
import { peerView, switcherInput } from "../support/switcher-input.js";
import { decide, electFetcher, shouldAbandonP2P, TokenBucket } from "../../src/core/switcher.js";

const peer = peerView;
const input = switcherInput;

test("urgent segments go to HTTP even when a peer has them", () => {
  assert.deepEqual(decide(input({ timeToDeadlineMs: 1500, peers: [peer("a", { has: true })] })), { kind: "http", reason: "urgent" });
  assert.deepEqual(decide(input({ timeToDeadlineMs: 0, peers: [peer("a", { has: true })] })), { kind: "http", reason: "urgent" });
});

test("a segment with no hash or no swarm never goes P2P", () => {
  assert.deepEqual(decide(input({ p2pAllowed: false, peers: [peer("a", { has: true })] })), { kind: "http", reason: "no-p2p" });
});

test("after a failed P2P attempt the segment goes to HTTP", () => {
  assert.deepEqual(decide(input({ p2pFailed: true, peers: [peer("a", { has: true })] })), { kind: "http", reason: "p2p-failed" });
});

test("later segments go to a peer that has them, least busy first", () => {
  const d = decide(input({ peers: [peer("a", { has: true, inFlight: 1 }), peer("b"), peer("c", { has: true })] }));
  assert.deepEqual(d, { kind: "p2p", peerId: "c" });
});

test("peers that do not upload are not asked", () => {
  const d = decide(input({ peers: [peer("a", { has: true, uploadEnabled: false })] }));
  assert.equal(d.kind, "http");
});

test("while a peer fetches the segment from HTTP we wait for it, within the P2P window", () => {
  assert.deepEqual(decide(input({ timeToDeadlineMs: 5000, peers: [peer("a", { fetching: true })] })), {
    kind: "wait",
    reason: "peer-fetching",
    maxWaitMs: 3500,
  });
});

test("busy holders make us wait rather than fetch the segment again", () => {
  const d = decide(input({ peers: [peer("a", { has: true, inFlight: 2 })] }));
  assert.equal(d.kind, "wait");
});

test("alone, we are elected and fetch from HTTP", () => {
  assert.deepEqual(decide(input()), { kind: "http", reason: "elected" });
});

test("exactly one member of a fully connected swarm fetches each new segment", () => {
  const ids = ["peer-a", "peer-b", "peer-c", "peer-d"];
  const counts = new Map(ids.map((id) => [id, 0]));
  for (let sn = 100; sn < 140; sn++) {
    const httpers = ids.filter((self) => {
      const d = decide(input({ sn, selfId: self, peers: ids.filter((x) => x !== self).map((x) => peer(x)) }));
      if (d.kind !== "http") assert.deepEqual(d, { kind: "wait", reason: "peer-elected", maxWaitMs: 4500 });
      return d.kind === "http";
    });
    assert.equal(httpers.length, 1, `sn ${sn}: ${httpers}`);
    counts.set(httpers[0]!, counts.get(httpers[0]!)! + 1);
  }
  // Rotation spreads the HTTP work evenly.
  for (const [id, n] of counts) assert.equal(n, 10, `${id} fetched ${n}`);
});

test("a client that does not upload is never elected, and waits for an elected peer", () => {
  const d = decide(input({ selfUploadEnabled: false, peers: [peer("a"), peer("b")] }));
  assert.equal(d.kind, "wait");
  assert.deepEqual(decide(input({ selfUploadEnabled: false, peers: [] })), { kind: "http", reason: "no-candidates" });
});

test("just after joining, a non-urgent segment waits for the first peer connections", () => {
  assert.deepEqual(decide(input({ awaitingPeers: true })), { kind: "wait", reason: "awaiting-peers", maxWaitMs: 4500 });
  assert.deepEqual(decide(input({ awaitingPeers: true, timeToDeadlineMs: 1000 })), { kind: "http", reason: "urgent" });
  assert.deepEqual(decide(input({ awaitingPeers: false })), { kind: "http", reason: "elected" });
});

test("election is deterministic and independent of peer order", () => {
  assert.equal(electFetcher(5, ["x", "y", "z"]), electFetcher(5, ["z", "x", "y"]));
  assert.equal(electFetcher(5, []), undefined);
});

test("P2P download is abandoned when the peer stalls or cannot make the deadline", () => {
  const cfg = { p2pStallTimeoutMs: 1000, httpUrgentWindowMs: 1500 };
  assert.equal(shouldAbandonP2P({ msSinceProgress: 1000, timeToDeadlineMs: 9000, bytesRemaining: 1, bytesPerMs: 100 }, cfg), true);
  assert.equal(shouldAbandonP2P({ msSinceProgress: 10, timeToDeadlineMs: 9000, bytesRemaining: 1e9, bytesPerMs: 1 }, cfg), false);
  assert.equal(shouldAbandonP2P({ msSinceProgress: 10, timeToDeadlineMs: 1000, bytesRemaining: 1e6, bytesPerMs: 100 }, cfg), true);
  assert.equal(shouldAbandonP2P({ msSinceProgress: 10, timeToDeadlineMs: 1000, bytesRemaining: 1000, bytesPerMs: 100 }, cfg), false);
});

test("token bucket caps the upload rate", () => {
  const b = new TokenBucket(1000, 1000, 0);
  assert.equal(b.take(1000, 0), 0);
  assert.equal(b.take(500, 0), 500, "500 bytes at 1000 B/s need 500 ms");
  assert.equal(b.take(500, 500), 0);
  assert.equal(new TokenBucket(Infinity, 0, 0).take(1e9, 0), 0);
});
