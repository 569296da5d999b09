/**
 * A page served over plain http:// from an address other than localhost is not a secure context:
 * `crypto.subtle` is missing there. P2P must still verify every segment (JS SHA-256) and playback
 * must not suffer. The stack listens on the test namespace's non-loopback address.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { describeViewers, openViewer, segs, sharedBrowser, summary, waitFor, withStack } from "../support/harness.js";

const browser = sharedBrowser();

test("without WebCrypto (http:// from a non-local address) viewers still share verified segments without stalls", { timeout: 150_000 }, async () => {
  const host = process.env.MESHCDN_E2E_ADDR;
  assert.ok(host && host !== "127.0.0.1", "run.mjs passes the namespace's own address");
  await withStack(
    async (stack) => {
      const v1 = await openViewer(browser(), stack);
      try {
        await waitFor("viewer 1 playing 3 segments", async () => (await v1.snapshot()).started && (await segs(v1)) >= 3, 40_000);
        const first = await v1.snapshot();
        assert.equal(first.secureContext, false, `${stack.pageUrl} is not a secure context`);
        assert.equal(first.webCrypto, false, "crypto.subtle is missing there");
        const v2 = await openViewer(browser(), stack);
        const explain = describeViewers({ viewer1: v1, viewer2: v2 });
        try {
          await waitFor("viewer 2 to get segments from viewer 1", async () => (await v2.snapshot()).stats.p2pBytes > 0, 60_000, 500, explain);
          const at = await segs(v2);
          await waitFor("viewer 2 to play 4 more segments", async () => (await segs(v2)) >= at + 4, 60_000, 500, explain);
          const [a, b] = [await v1.snapshot(), await v2.snapshot()];
          console.log(`# ${summary("viewer1", a)}\n# ${summary("viewer2", b)}`);
          for (const [name, s] of [["viewer 1", a], ["viewer 2", b]] as const) {
            assert.equal(s.stalls, 0, `${name} stalled: ${s.stallLog.join(" | ")}`);
            assert.equal(s.badDeliveries, 0, `${name} got bytes that do not match the origin's hash`);
            assert.ok(s.delivered > 0, `${name}: delivered segments were checked`);
            assert.equal(s.stats.integrityFailures, 0);
            assert.deepEqual(s.errors.filter((e) => e.includes("fragLoadError") || e.endsWith("/true")), [], `${name} had load errors`);
          }
          // Verified P2P segments: the client only hands peer bytes to the player after its hash check.
          assert.ok(b.stats.segments.some((r) => r.source === "p2p"), "viewer 2 played segments from its peer");
        } finally {
          await v2.context.close();
        }
      } finally {
        await v1.context.close();
      }
    },
    { host },
  );
});
