/**
 * Browser end-to-end tests: real Chromium viewers (separate browser contexts) with real WebRTC data
 * channels, against the origin + tracker on loopback inside this run's network namespace
 * (test/e2e/run.mjs). Live stream: a sliding window over the sample media, 2 s segments.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import { openViewer, segs, sharedBrowser, summary, waitFor, withStack, type Stack, type Viewer } from "../support/harness.js";

const browser = sharedBrowser();

test("three viewers: the second and third get at least half of their bytes from peers, without stalls", { timeout: 180_000 }, async () => {
  await withStack(async (stack) => {
    const v1 = await openViewer(browser(), stack);
    try {
      await waitFor("viewer 1 playing 4 segments", async () => (await v1.snapshot()).started && (await segs(v1)) >= 4, 40_000);
      const s1 = await v1.snapshot();
      assert.ok(s1.stats.p2pEnabled, "the bootstrap was read");
      assert.ok(s1.tagsSeen, "hls.js kept #EXT-X-MESHCDN-SHA256 in frag.tagList");
      const v2 = await openViewer(browser(), stack);
      let v3: Viewer | undefined;
      try {
        await waitFor("viewer 2 to connect to viewer 1", async () => (await v2.snapshot()).stats.peers.length >= 1, 30_000);
        v3 = await openViewer(browser(), stack);
        const third = v3;
        await waitFor("viewer 3 to connect to both", async () => (await third.snapshot()).stats.peers.length >= 2, 30_000);
        // Long enough that the steady state, not the start-up, dominates (2 s segments).
        await waitFor("viewers 2 and 3 to play 20 segments", async () => (await segs(v2)) >= 20 && (await segs(third)) >= 20, 120_000, 500);
        const [a, b, c] = [await v1.snapshot(), await v2.snapshot(), await third.snapshot()];
        console.log(`# ${summary("viewer1", a)}\n# ${summary("viewer2", b)}\n# ${summary("viewer3", c)}`);
        for (const [name, s] of [["viewer 2", b], ["viewer 3", c]] as const) {
          assert.ok(s.stats.offloadRatio >= 0.5, `${name} got ${(s.stats.offloadRatio * 100).toFixed(1)}% from peers`);
        }
        for (const [name, s] of [["viewer 1", a], ["viewer 2", b], ["viewer 3", c]] as const) {
          assert.equal(s.stalls, 0, `${name} stalled: ${s.stallLog.join(" | ")}`);
          assert.equal(s.badDeliveries, 0, `${name} got bytes that do not match the origin's hash`);
          assert.deepEqual(s.errors.filter((e) => e.endsWith("/true")), [], `${name} had fatal player errors`);
        }
      } finally {
        await v2.context.close();
        await v3?.context.close();
      }
    } finally {
      await v1.context.close();
    }
  });
});

test("relay while downloading: over a slow last mile, a segment still arriving over HTTP is served to the other viewer", { timeout: 180_000 }, async () => {
  // Each segment takes 1.5 s of its 2 s to reach a browser, so a peer that wants the newest live
  // segment usually finds its holder still downloading it.
  await withStack(async (stack) => {
    const v1 = await openViewer(browser(), stack);
    let v2: Viewer | undefined;
    try {
      await waitFor("viewer 1 playing 2 segments", async () => (await v1.snapshot()).started && (await segs(v1)) >= 2, 60_000);
      v2 = await openViewer(browser(), stack);
      const second = v2;
      await waitFor("viewer 2 to connect to viewer 1", async () => (await second.snapshot()).stats.peers.length >= 1, 30_000);
      const relayed = async () => (await v1.snapshot()).stats.relayedBytes + (await second.snapshot()).stats.relayedBytes;
      await waitFor("bytes relayed while their segment was still downloading", async () => (await relayed()) > 0, 90_000, 500);
      const at = await segs(second);
      await waitFor("viewer 2 to play 4 more segments", async () => (await segs(second)) >= at + 4, 60_000, 500);
      const [a, b] = [await v1.snapshot(), await second.snapshot()];
      console.log(`# relayed: viewer1 ${a.stats.relayedBytes} B, viewer2 ${b.stats.relayedBytes} B\n# ${summary("viewer1", a)}\n# ${summary("viewer2", b)}`);
      for (const [name, s] of [["viewer 1", a], ["viewer 2", b]] as const) {
        assert.ok(s.stats.relayedBytes <= s.stats.uploadedBytes, `${name}: relayed bytes are part of the uploaded ones`);
        assert.equal(s.stalls, 0, `${name} stalled: ${s.stallLog.join(" | ")}`);
        assert.equal(s.badDeliveries, 0, `${name} got bytes that do not match the origin's hash`);
        assert.equal(s.stats.integrityFailures, 0, `${name}: a relayed segment failed its hash`);
        assert.deepEqual(s.errors.filter((e) => e.endsWith("/true")), [], `${name} had fatal player errors`);
      }
    } finally {
      await v2?.context.close();
      await v1.context.close();
    }
  }, { segmentTrickleMs: 1500 });
});

test("a peer that serves corrupted bytes never gets them into the player and is banned", { timeout: 180_000 }, async () => {
  await withStack(async (stack) => {
    const bad = await openViewer(browser(), stack, { corrupt: true });
    try {
      await waitFor("the corrupting viewer playing 2 segments", async () => (await bad.snapshot()).started && (await segs(bad)) >= 2, 30_000);
      const badId = (await bad.snapshot()).stats.peerId;
      const good = await openViewer(browser(), stack);
      try {
        await waitFor("the honest viewer to ban the corrupting peer", async () => (await good.snapshot()).stats.bannedPeers.includes(badId), 60_000);
        const atBan = await segs(good);
        await waitFor("the honest viewer to play 4 more segments", async () => (await segs(good)) >= atBan + 4, 60_000, 500);
        const g = await good.snapshot();
        const b = await bad.snapshot();
        console.log(`# ${summary("honest", g)}\n# corrupted DATA frames sent: ${b.corruptedSent}`);
        assert.ok(b.corruptedSent > 0, "the bad peer did send corrupted data");
        assert.ok(g.stats.integrityFailures >= 1, "the corruption was detected");
        assert.ok(g.events.some((e) => e.ev === "peer-banned"), "peer-banned event");
        assert.ok(!g.stats.peers.includes(badId), "the banned peer is disconnected");
        assert.ok(g.delivered > 0);
        assert.equal(g.badDeliveries, 0, "no corrupted segment reached hls.js");
        assert.ok(!g.stats.segments.some((s) => s.peerId === badId && s.p2pBytes > 0), "nothing from the bad peer was used");
        assert.equal(g.stalls, 0, "the honest viewer never stalled");
      } finally {
        await good.context.close();
      }
    } finally {
      await bad.context.close();
    }
  });
});

test("a peer that stalls mid-segment: the rest comes over HTTP with Range, and playback goes on", { timeout: 180_000 }, async () => {
  await withStack(async (stack) => {
    // Small chunks, so the first one is a real part of the segment.
    const slow = await openViewer(browser(), stack, { stall: true, config: { uploadChunkBytes: 8192 } });
    try {
      await waitFor("the stalling viewer playing 2 segments", async () => (await slow.snapshot()).started && (await segs(slow)) >= 2, 30_000);
      const v = await openViewer(browser(), stack);
      try {
        const resumed = await waitFor("a segment resumed over HTTP after a P2P stall", async () =>
          (await v.snapshot()).stats.segments.find((s) => s.decisions.includes("http:resume-range")), 60_000);
        await waitFor("4 more segments", async () => (await segs(v)) >= resumed.sn - (await v.snapshot()).stats.segments[0]!.sn + 5, 60_000, 500);
        const s = await v.snapshot();
        console.log(`# ${summary("viewer", s)}\n# resumed: ${JSON.stringify(resumed)}`);
        assert.ok(resumed.p2pBytes > 0 && resumed.p2pBytes % 8192 === 0, "the first chunk(s) came from the peer");
        assert.ok(resumed.httpBytes > 0 && resumed.p2pBytes + resumed.httpBytes === resumed.bytes, "the rest came over HTTP");
        assert.ok((await slow.snapshot()).droppedSent > 0);
        assert.equal(s.badDeliveries, 0, "resumed segments are intact");
        assert.equal(s.stalls, 0, `stalled: ${s.stallLog.join(" | ")}`);
        assert.ok(!s.stats.bannedPeers.length, "a slow peer is not banned");
      } finally {
        await v.context.close();
      }
    } finally {
      await slow.context.close();
    }
  });
});

test("VOD, with a dead first tracker: viewers fail over, and the second gets most of its bytes from the first", { timeout: 120_000 }, async () => {
  await withStack(async (stack) => {
    const v1 = await openViewer(browser(), stack, { src: stack.vodMasterUrl });
    try {
      // hls.js buffers ahead (30 s by default), so the first viewer soon holds the whole 20 s stream.
      await waitFor("viewer 1 to load all 10 segments", async () => (await segs(v1)) >= 10, 40_000);
      const v2 = await openViewer(browser(), stack, { src: stack.vodMasterUrl });
      try {
        await waitFor("viewer 2 to load all 10 segments", async () => (await segs(v2)) >= 10, 40_000);
        await waitFor("viewer 2 to play 6 s", async () => (await v2.snapshot()).currentTime > 6, 30_000);
        const s = await v2.snapshot();
        console.log(`# ${summary("vod viewer2", s)}`);
        assert.ok(s.stats.offloadRatio >= 0.5, `viewer 2 got ${(s.stats.offloadRatio * 100).toFixed(1)}% from peers`);
        assert.equal(s.stalls, 0, `stalled: ${s.stallLog.join(" | ")}`);
        assert.equal(s.badDeliveries, 0);
        const [dead, live] = stack.trackerUrls as [string, string];
        assert.ok(s.events.some((e) => e.ev === "error" && e.detail.includes(dead)), "the dead tracker was tried and reported");
        assert.ok(s.events.some((e) => e.ev === "tracker-state" && e.detail.includes(live) && e.detail.includes('"connected":true')), "then the second one used");
      } finally {
        await v2.context.close();
      }
    } finally {
      await v1.context.close();
    }
  }, { deadTrackerFirst: true });
});

test("a viewer with upload off still downloads from peers but never uploads", { timeout: 120_000 }, async () => {
  await withStack(async (stack) => {
    const leech = await openViewer(browser(), stack, { config: { uploadPolicy: { disabled: true } } });
    try {
      await waitFor("the non-uploading viewer playing 2 segments", async () => (await leech.snapshot()).started && (await segs(leech)) >= 2, 30_000);
      const v = await openViewer(browser(), stack);
      try {
        await waitFor("both connected", async () => (await v.snapshot()).stats.peers.length >= 1, 30_000);
        const at = await segs(leech);
        await waitFor("6 more segments for the non-uploading viewer", async () => (await segs(leech)) >= at + 6 && (await segs(v)) >= 6, 60_000, 500);
        const [l, s] = [await leech.snapshot(), await v.snapshot()];
        console.log(`# ${summary("upload off", l)}\n# ${summary("uploader", s)}`);
        assert.equal(l.stats.uploadEnabled, false);
        assert.equal(l.stats.uploadedBytes, 0, "nothing uploaded with upload off");
        assert.equal(s.stats.p2pBytes, 0, "so the other viewer got nothing from it");
        assert.ok(l.stats.p2pBytes > 0, "but it did download from the uploading peer");
        for (const x of [l, s]) {
          assert.equal(x.stalls, 0, `stalled: ${x.stallLog.join(" | ")}`);
          assert.equal(x.badDeliveries, 0);
        }
      } finally {
        await v.context.close();
      }
    } finally {
      await leech.context.close();
    }
  });
});

test("a pair whose WebRTC connection failed is offered again at once (meshcdn.failed), not after the tracker's 5 min link timeout", { timeout: 180_000 }, async () => {
  // Peer-to-peer packets between the viewers are dropped (their ICE candidates are the namespace's
  // own addresses; the servers listen on loopback), so their first connection fails while the
  // tracker still relays offers and answers. Then the network heals.
  const addr = process.env.MESHCDN_E2E_ADDR ?? "";
  assert.match(addr, /^\d+\.\d+\.\d+\.\d+$/, "run.mjs gives the namespace's address");
  const subnet = `${addr.split(".").slice(0, 3).join(".")}.0/24`;
  const rule = ["OUTPUT", "-d", subnet, "-j", "DROP"];
  const config = { offerTimeoutMs: 8000, maxAnnounceIntervalMs: 5000 };
  await withStack(async (stack) => {
    execFileSync("iptables", ["-I", ...rule]);
    let blocked = true;
    const unblock = () => blocked && ((blocked = false), execFileSync("iptables", ["-D", ...rule]));
    const v1 = await openViewer(browser(), stack, { config });
    let v2: Viewer | undefined;
    try {
      await waitFor("viewer 1 playing 2 segments", async () => (await v1.snapshot()).started && (await segs(v1)) >= 2, 40_000);
      v2 = await openViewer(browser(), stack, { config });
      const second = v2;
      await waitFor("a failed connection attempt between the viewers", async () =>
        (await v1.snapshot()).stats.connections.failed + (await second.snapshot()).stats.connections.failed > 0, 60_000, 500);
      assert.equal((await second.snapshot()).stats.peers.length, 0, "no connection while the network is cut");
      unblock();
      // Without the report the tracker keeps the failed pair's link for link_timeout_ms (5 min) and
      // never offers them to each other again before; with it, the next announce pairs them.
      await waitFor("the viewers to connect after all", async () => (await second.snapshot()).stats.peers.length >= 1, 60_000, 500);
      const at = await segs(second);
      await waitFor("viewer 2 to play 3 more segments", async () => (await segs(second)) >= at + 3, 60_000, 500);
      const s = await second.snapshot();
      console.log(`# ${summary("viewer2", s)}\n# connections: ${JSON.stringify(s.stats.connections)}`);
      assert.equal(s.stalls, 0, `viewer 2 stalled: ${s.stallLog.join(" | ")}`);
      assert.equal(s.badDeliveries, 0);
    } finally {
      unblock();
      await v2?.context.close();
      await v1.context.close();
    }
  });
});

test("killing the tracker mid-playback leaves playback going over HTTP", { timeout: 180_000 }, async () => {
  await withStack(async (stack) => {
    const v1 = await openViewer(browser(), stack);
    const v2 = await openViewer(browser(), stack);
    try {
      await waitFor("both viewers playing and connected", async () => {
        const [a, b] = [await v1.snapshot(), await v2.snapshot()];
        return a.started && b.started && a.stats.peers.length >= 1 && b.stats.peers.length >= 1;
      }, 40_000);
      await stack.killTracker();
      await waitFor("both viewers to see the tracker gone", async () => !(await v1.snapshot()).stats.trackerConnected && !(await v2.snapshot()).stats.trackerConnected, 30_000);
      const before = [await segs(v1), await segs(v2)];
      const v3 = await openViewer(browser(), stack);
      try {
        await waitFor("4 more segments for the old viewers and 4 for a newcomer", async () =>
          (await segs(v1)) >= before[0]! + 4 && (await segs(v2)) >= before[1]! + 4 && (await segs(v3)) >= 4, 60_000, 500);
        const snaps = [await v1.snapshot(), await v2.snapshot(), await v3.snapshot()];
        snaps.forEach((s, i) => console.log(`# ${summary(`viewer${i + 1}`, s)}`));
        for (const [i, s] of snaps.entries()) {
          assert.equal(s.stalls, 0, `viewer ${i + 1} stalled: ${s.stallLog.join(" | ")}`);
          assert.equal(s.badDeliveries, 0);
          assert.deepEqual(s.errors.filter((e) => e.endsWith("/true")), [], `viewer ${i + 1} had fatal player errors`);
        }
        assert.ok(snaps[2]!.stats.segments.every((s) => s.source === "http"), "the newcomer, with no tracker, used HTTP");
        assert.ok(snaps[2]!.stats.p2pEnabled && !snaps[2]!.stats.trackerConnected);
      } finally {
        await v3.context.close();
      }
    } finally {
      await v1.context.close();
      await v2.context.close();
    }
  });
});

test("without a bootstrap in the master playlist the client stays out of the way (plain hls.js)", { timeout: 60_000 }, async () => {
  const { startUpstream } = await import("../support/upstream.js");
  const upstream = await startUpstream({ host: "127.0.0.1" });
  const stack: Stack = {
    trackerUrls: [],
    masterUrl: `${upstream.url}/live/master.m3u8`,
    vodMasterUrl: `${upstream.url}/vod/master.m3u8`,
    pageUrl: `${upstream.url}/page.html`,
    upstream,
    mode: "plain upstream, no origin plugin",
    killTracker: async () => undefined,
    close: () => upstream.close(),
  };
  const v = await openViewer(browser(), stack);
  try {
    const before = [...upstream.segmentRequests.values()].reduce((a, b) => a + b, 0);
    await waitFor("playback to pass 4 s", async () => (await v.snapshot()).currentTime > 4, 40_000);
    const s = await v.snapshot();
    assert.equal(s.stats.p2pEnabled, false);
    assert.equal(s.stats.segments.length, 0, "no segment went through the meshcdn core");
    assert.equal(s.stats.trackerConnected, false);
    assert.ok([...upstream.segmentRequests.values()].reduce((a, b) => a + b, 0) > before, "hls.js fetched segments itself");
    assert.equal(s.stalls, 0);
  } finally {
    await v.context.close();
    await stack.close();
  }
});
