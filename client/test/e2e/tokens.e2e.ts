/**
 * Swarm tokens over a long session, in real Chromium against the real origin and edge (see
 * swarm.e2e.ts): tokens that expire while viewers watch are replaced before the tracker would
 * refuse them.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { openViewer, segs, sharedBrowser, summary, waitFor, withStack } from "../support/harness.js";

const browser = sharedBrowser();

test("swarm tokens that expire every 10 s are replaced in time: the tracker keeps admitting viewers", { timeout: 180_000 }, async () => {
  const ttlSecs = 10;
  await withStack(async (stack) => {
    const v1 = await openViewer(browser(), stack);
    const v2 = await openViewer(browser(), stack);
    try {
      await waitFor("both viewers playing and connected", async () => {
        const [a, b] = [await v1.snapshot(), await v2.snapshot()];
        return a.started && b.started && a.stats.peers.length >= 1 && b.stats.peers.length >= 1;
      }, 40_000);
      const first = (await v1.snapshot()).stats.tokenExpiresAtMs;
      assert.ok(first !== null, "the origin issued an expiring token");
      // Well past the first token's expiry plus the tracker's 30 s leeway: without refreshing,
      // every announce from here on would be refused.
      const until = first + 30_000 + 2 * ttlSecs * 1000;
      await waitFor("the first token and its leeway long gone", async () => Date.now() > until, 90_000, 1000);
      const before = [await segs(v1), await segs(v2)];
      await waitFor("both viewers still on the tracker, with refreshed tokens, and playing", async () => {
        const [a, b] = [await v1.snapshot(), await v2.snapshot()];
        return [a, b].every((s, i) => s.stats.trackerConnected && s.stats.tokenRefreshes >= 6 && s.stats.tokenExpiresAtMs! > Date.now() && s.stats.segments.length >= before[i]! + 2);
      }, 30_000, 500);
      // A newcomer now joins the swarm and finds the others through the tracker.
      const v3 = await openViewer(browser(), stack);
      try {
        await waitFor("the newcomer connected to a peer", async () => (await v3.snapshot()).stats.peers.length >= 1, 40_000);
        const snaps = [await v1.snapshot(), await v2.snapshot(), await v3.snapshot()];
        snaps.forEach((s, i) => console.log(`# ${summary(`viewer${i + 1}`, s)}; token refreshes ${s.stats.tokenRefreshes}`));
        for (const [i, s] of snaps.slice(0, 2).entries()) {
          const refusals = s.events.filter((e) => e.ev === "error" && /failure reason|connection failed/.test(e.detail));
          assert.deepEqual(refusals, [], `viewer ${i + 1}: the tracker refused it`);
          assert.equal(s.stalls, 0, `viewer ${i + 1} stalled: ${s.stallLog.join(" | ")}`);
          assert.ok(s.events.some((e) => e.ev === "token-refreshed"));
        }
      } finally {
        await v3.context.close();
      }
    } finally {
      await v1.context.close();
      await v2.context.close();
    }
  }, { tokenTtlSecs: ttlSecs });
});
