import assert from "node:assert/strict";
import { test } from "node:test";
import { peerView, switcherInput } from "../support/switcher-input.js";
import { awaitingPeers, planHttpPrefetch, wantWindow, decide, fetcherCandidates, planPrefetch, type PrefetchInput, type SchedulerPeer } from "../../src/core/switcher.js";

const view = peerView;
const input = switcherInput;

test("election: only peers whose want window covers the segment are candidates", () => {
  const peers = [view("past", { wants: false }), view("ahead"), view("v1"), view("holder", { has: true }), view("noup", { uploadEnabled: false })];
  assert.deepEqual(fetcherCandidates("me", true, peers).sort(), ["ahead", "me", "v1"].sort());
  assert.deepEqual(fetcherCandidates("me", false, [view("a", { wants: false })]), []);
});

test("election: a viewer whose only other peer is past the segment fetches it itself, without waiting", () => {
  // Without windows the peer might be elected and we would wait until the segment turned urgent.
  for (let sn = 0; sn < 20; sn++) {
    assert.deepEqual(decide(input({ sn, peers: [view("gone-past", { wants: false })] })), { kind: "http", reason: "elected" }, `sn ${sn}`);
  }
});

test("election: every member with the same view elects the same fetcher among window-covering peers", () => {
  const ids = ["a", "b", "c", "d"];
  const wants = (id: string) => id !== "d"; // d is far behind
  for (let sn = 0; sn < 40; sn++) {
    const verdicts = ids.filter(wants).map((self) =>
      decide(input({ sn, selfId: self, peers: ids.filter((x) => x !== self).map((x) => view(x, { wants: wants(x) })) })),
    );
    const fetchers = verdicts.filter((d) => d.kind === "http");
    assert.equal(fetchers.length, 1, `sn ${sn}: exactly one fetcher`);
    assert.ok(verdicts.every((d) => d.kind === "http" || (d.kind === "wait" && d.reason === "peer-elected")));
  }
});

test("waits stay below the player's own load timeout", () => {
  const d = decide(input({ timeToDeadlineMs: 60_000, waitCapMs: 4000, peers: [view("a", { fetching: true })] }));
  assert.deepEqual(d, { kind: "wait", reason: "peer-fetching", maxWaitMs: 4000 });
  assert.deepEqual(decide(input({ timeToDeadlineMs: 60_000, waitCapMs: 0, peers: [view("a", { fetching: true })] })), { kind: "http", reason: "urgent" });
});

test("join: alone means no wait; peers present means waiting for the first connection, bounded", () => {
  const base = { othersInSwarm: null as number | null, readyPeers: 0, msSinceJoin: 100, joinWaitMs: 3000 };
  assert.equal(awaitingPeers({ ...base, othersInSwarm: 0 }), false, "the tracker says we are alone");
  assert.equal(awaitingPeers({ ...base, othersInSwarm: 2 }), true, "others are there: wait for a connection");
  assert.equal(awaitingPeers({ ...base, othersInSwarm: 2, readyPeers: 1 }), false, "connected: decide on what peers hold");
  assert.equal(awaitingPeers({ ...base, othersInSwarm: 2, msSinceJoin: 3000 }), false, "bounded by the join wait");
  assert.equal(awaitingPeers(base), true, "no answer from the tracker yet: a short wait");
});

const peer = (id: string, has: number[], o: Partial<SchedulerPeer> = {}): SchedulerPeer => ({
  id,
  uploadEnabled: true,
  inFlight: 0,
  bytesPerMs: 0,
  has: (sn) => has.includes(sn),
  ...o,
});
const win = (...sns: number[]) => sns.map((sn, i) => ({ sn, timeToDeadlineMs: 4000 + 2000 * i }));
const plan = (o: Partial<PrefetchInput>) =>
  planPrefetch({ window: [], busy: () => false, peers: [], inFlight: 0, maxDownloads: 3, maxInFlightPerPeer: 2, httpUrgentWindowMs: 1500, ...o });

test("prefetch: nearest missing segments first, several in flight, spread across holders", () => {
  const p = plan({ window: win(1, 2, 3, 4, 5), busy: (sn) => sn === 1, peers: [peer("a", [1, 2, 3, 4, 5]), peer("b", [2, 3, 4, 5])] });
  assert.deepEqual(p.map((x) => x.sn), [2, 3, 4], "three at once, the held one skipped");
  assert.equal(new Set(p.map((x) => x.peerId)).size, 2, "both holders used");
  assert.ok(p.filter((x) => x.peerId === "a").length <= 2 && p.filter((x) => x.peerId === "b").length <= 2);
});

test("prefetch: the faster measured holder gets the work", () => {
  const p = plan({ window: win(1, 2), maxDownloads: 2, peers: [peer("slow", [1, 2], { bytesPerMs: 10 }), peer("fast", [1, 2], { bytesPerMs: 1000 })] });
  assert.deepEqual(p, [{ sn: 1, peerId: "fast" }, { sn: 2, peerId: "fast" }]);
});

test("prefetch: nothing urgent, nothing nobody holds, no busy or non-uploading peers, no more than the budget", () => {
  const w = [{ sn: 1, timeToDeadlineMs: 1000 }, { sn: 2, timeToDeadlineMs: 5000 }, { sn: 3, timeToDeadlineMs: 7000 }];
  assert.deepEqual(plan({ window: w, peers: [peer("a", [1, 3])] }), [{ sn: 3, peerId: "a" }], "1 is urgent (the player's request takes HTTP), 2 nobody has");
  assert.deepEqual(plan({ window: w, peers: [peer("a", [2, 3], { inFlight: 2 })] }), []);
  assert.deepEqual(plan({ window: w, peers: [peer("a", [2, 3], { uploadEnabled: false })] }), []);
  assert.deepEqual(plan({ window: w, inFlight: 3, peers: [peer("a", [2, 3])] }), []);
});

test("prefetch: the same input gives the same plan", () => {
  const i = { window: win(5, 6, 7), peers: [peer("x", [5, 6, 7]), peer("y", [5, 6, 7]), peer("z", [5, 6, 7])] };
  assert.deepEqual(plan(i), plan(i));
});

test("relay: a version-2 peer fetching the segment is asked for it at once (served while it arrives); real holders first", () => {
  assert.deepEqual(decide(input({ peers: [view("f", { fetching: true, relays: true })] })), { kind: "p2p", peerId: "f" });
  assert.deepEqual(decide(input({ peers: [view("f", { fetching: true, relays: true }), view("h", { has: true })] })), { kind: "p2p", peerId: "h" });
  assert.equal(decide(input({ peers: [view("v1", { fetching: true })] })).kind, "wait", "a version-1 fetcher is waited for");
});

test("want window: playhead segment to the horizon; live extends past the playlist's end", () => {
  const segs = Array.from({ length: 6 }, (_, i) => ({ sn: 10 + i, startSec: 20 + 2 * i, durationSec: 2 }));
  assert.deepEqual(wantWindow(segs, 23, 1, 6000, false), { playheadSn: 11, lastSn: 14 }, "VOD: [23 s, 29 s)");
  assert.deepEqual(wantWindow(segs, 23, 1, 40_000, false), { playheadSn: 11, lastSn: 15 }, "VOD: nothing past the end");
  assert.deepEqual(wantWindow(segs, 23, 1, 40_000, true), { playheadSn: 11, lastSn: 15 + 16 }, "live: up to 63 s, by 2 s segments");
  assert.deepEqual(wantWindow(segs, 23, 2, 6000, false), { playheadSn: 11, lastSn: 15 }, "faster playback, further ahead");
  assert.equal(wantWindow([], 0, 1, 1000, true), null);
});

test("HTTP prefetch: only self-elected segments nobody holds or fetches, up to the furthest player's horizon", () => {
  const base = {
    window: [10, 11, 12, 13, 14, 15].map((sn) => ({ sn })),
    busy: (sn: number) => sn === 11,
    selfId: "me",
    selfUploadEnabled: true,
    horizonSn: 14,
    inFlight: 0,
    maxDownloads: 10,
  };
  // Alone with a peer that holds 12 and fetches 13: of the rest, the ones the election gives us.
  const peers = (sn: number) => [view("p", { has: sn === 12, fetching: sn === 13 })];
  const got = planHttpPrefetch({ ...base, peers });
  for (const sn of got) {
    assert.ok(![11, 12, 13, 15].includes(sn), `${sn}: busy, held, fetched or past the horizon`);
    assert.deepEqual(decide(input({ sn, peers: peers(sn) })), { kind: "http", reason: "elected" }, "the same election as the player's request");
  }
  const elected = [10, 14].filter((sn) => decide(input({ sn, peers: peers(sn) })).kind === "http");
  assert.deepEqual(got, elected);
  assert.deepEqual(planHttpPrefetch({ ...base, peers, maxDownloads: 0 }), []);
  // A peer past the segments (its window does not cover them): we are the only candidate.
  assert.deepEqual(planHttpPrefetch({ ...base, peers: () => [view("p", { wants: false })] }), [10, 12, 13, 14]);
});

test("a peer that failed to deliver a segment is not asked again, yet stays out of the election (it holds it)", () => {
  // We stalled on "h" for this segment; "h" holds it. Electing "h" would wait for a fetch it never makes.
  const peers = [view("h", { has: true, avoid: true }), view("o")];
  const d = decide(input({ peers }));
  assert.ok(d.kind !== "p2p" || d.peerId !== "h", "not asked again");
  assert.deepEqual(fetcherCandidates("me", true, peers).sort(), ["me", "o"]);
  assert.equal(decide(input({ peers: [view("f", { fetching: true, avoid: true })] })).kind, "http", "no wait for a fetcher we avoid");
});
