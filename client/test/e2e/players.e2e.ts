/**
 * Browser end-to-end tests of the Shaka Player and dash.js adapters: real Chromium viewers with
 * real WebRTC, against the real `meshcdn origin` (DASH descriptor + hash document, HLS session
 * data + hash tags) and `meshcdn edge`, inside this run's network namespace (test/e2e/run.mjs).
 * DASH streams (test/support/upstream.ts): VOD with SegmentTimeline, VOD with
 * SegmentTemplate@duration, live with SegmentTimeline (sliding window), live with @duration; two
 * renditions each, viewers pinned to the lower one. Each test runs its streams side by side in one
 * browser, so the file stays short. Every segment the player received is hashed by the page
 * against hashes it fetched itself (page-common.js).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Browser } from "playwright-core";
import { sharedBrowser, summary, waitFor, withStack, type Stack, type Viewer, type ViewerSnapshot } from "../support/harness.js";

const browser = sharedBrowser();

type Player = "shaka" | "dashjs";

interface PlayerViewer extends Viewer {
  name: string;
  snapshot(): Promise<ViewerSnapshot & { unverified: number; renditions: number; checks: string[] }>;
}

async function open(b: Browser, stack: Stack, player: Player, path: string, name: string, opts: { corrupt?: boolean } = {}): Promise<PlayerViewer> {
  const context = await b.newContext();
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error(`[${name} page error] ${e.message}`));
  const base = new URL(stack.pageUrl).origin;
  const q = new URLSearchParams({ src: `${base}${path}`, config: "{}" });
  if (opts.corrupt) q.set("corrupt", "1");
  await page.goto(`${base}/page-${player}.html?${q}`);
  return { name, context, page, snapshot: () => page.evaluate(() => (window as any).__viewer.snapshot()) };
}

const played = async (v: PlayerViewer) => (await v.snapshot()).stats.segments.length;

async function closeAll(vs: (PlayerViewer | undefined)[]): Promise<void> {
  for (const v of vs) await v?.context.close();
}

function assertClean(s: Awaited<ReturnType<PlayerViewer["snapshot"]>>, name: string): void {
  assert.equal(s.stalls, 0, `${name} stalled: ${s.stallLog.join(" | ")}`);
  assert.equal(s.badDeliveries, 0, `${name}: the player got bytes that do not match the origin's hash (${s.checks.join(", ")})`);
  assert.deepEqual(s.errors.filter((e) => e.endsWith("/true")), [], `${name} had fatal player errors`);
  assert.ok(s.renditions >= 2, `${name}: the stream has two renditions (saw ${s.renditions})`);
}

/**
 * A first viewer plays; a second joins and gets bytes from the first. VOD: most of them (the first
 * holds the whole stream). Live: the two take turns fetching each new segment over HTTP (the
 * election rotates by segment number), so each gets a share from the other.
 */
async function assertOffload(first: PlayerViewer, second: PlayerViewer, minSegments: number, live: boolean): Promise<void> {
  await waitFor(`${second.name} to play ${minSegments} segments`, async () => (await played(second)) >= minSegments, 90_000, 500);
  const [a, b] = [await first.snapshot(), await second.snapshot()];
  console.log(`# ${summary(first.name, a)}\n# ${summary(second.name, b)}`);
  assert.ok(a.stats.p2pEnabled && b.stats.p2pEnabled, "the bootstrap was read from the manifest");
  const min = live ? 0.3 : 0.5;
  assert.ok(b.stats.offloadRatio >= min, `${second.name} got ${(b.stats.offloadRatio * 100).toFixed(1)}% from peers (≥ ${min * 100}% expected)`);
  if (live) assert.ok(a.stats.p2pBytes > 0, `${first.name} got segments from ${second.name} too`);
  assert.ok(b.delivered >= minSegments, `${second.name}: the page verified ${b.delivered} segments`);
  for (const [s, n] of [[a, first.name], [b, second.name]] as const) assertClean(s, n);
}

/** A corrupting first viewer; the honest second one bans it and never hands its bytes to the player. */
async function assertBan(bad: PlayerViewer, good: PlayerViewer): Promise<void> {
  const badId = (await bad.snapshot()).stats.peerId;
  await waitFor(`${good.name} to ban the corrupting peer`, async () => (await good.snapshot()).stats.bannedPeers.includes(badId), 60_000);
  const atBan = await played(good);
  await waitFor(`${good.name} to play 3 more segments`, async () => (await played(good)) >= atBan + 3 || (await good.snapshot()).currentTime > 17, 60_000, 500);
  const [g, b] = [await good.snapshot(), await bad.snapshot()];
  console.log(`# ${summary(good.name, g)}\n# corrupted DATA frames sent: ${b.corruptedSent}`);
  assert.ok(b.corruptedSent > 0, "the bad peer did send corrupted data");
  assert.ok(g.stats.integrityFailures >= 1, "the corruption was detected");
  assert.ok(!g.stats.peers.includes(badId), "the banned peer is disconnected");
  assert.ok(!g.stats.segments.some((s) => s.peerId === badId && s.p2pBytes > 0), "nothing from the bad peer was used");
  assert.ok(g.delivered > 0, "the page verified what the player got");
  assertClean(g, good.name);
}

test("dash.js: live DASH (SegmentTimeline) offloads to peers, a corrupting peer on VOD (@duration) is banned, live @duration stays on HTTP", { timeout: 240_000 }, async () => {
  await withStack(async (stack) => {
    const vs: (PlayerViewer | undefined)[] = [];
    try {
      const live1 = await open(browser(), stack, "dashjs", "/dash/live/manifest.mpd", "dashjs live 1");
      const bad = await open(browser(), stack, "dashjs", "/dash/vod-num/manifest.mpd", "dashjs vod corrupting", { corrupt: true });
      const liveNum = await open(browser(), stack, "dashjs", "/dash/live-num/manifest.mpd", "dashjs live @duration");
      vs.push(live1, bad, liveNum);
      await waitFor("the first dash.js viewers playing", async () => (await live1.snapshot()).started && (await played(live1)) >= 3 && (await played(bad)) >= 4, 60_000);
      const live2 = await open(browser(), stack, "dashjs", "/dash/live/manifest.mpd", "dashjs live 2");
      const good = await open(browser(), stack, "dashjs", "/dash/vod-num/manifest.mpd", "dashjs vod honest");
      vs.push(live2, good);
      await assertBan(bad, good);
      await assertOffload(live1, live2, 10, true);
      const n = await liveNum.snapshot();
      console.log(`# ${summary(liveNum.name, n)} unverified=${n.unverified}`);
      assert.ok(n.started && n.currentTime > 5, "the @duration live stream plays");
      assert.ok(n.stats.p2pEnabled, "its MPD carries the bootstrap");
      assert.equal(n.stats.segments.length, 0, "no hashes for live @duration segments: all of them stay on dash.js's HTTP");
      assert.equal(n.stalls, 0, `stalled: ${n.stallLog.join(" | ")}`);
    } finally {
      await closeAll(vs);
    }
  });
});

test("Shaka Player: live DASH, VOD DASH (SegmentTimeline) and live HLS offload to peers; a corrupting HLS peer is banned", { timeout: 240_000 }, async () => {
  await withStack(async (stack) => {
    const vs: (PlayerViewer | undefined)[] = [];
    try {
      const live1 = await open(browser(), stack, "shaka", "/dash/live/manifest.mpd", "shaka dash live 1");
      const vod1 = await open(browser(), stack, "shaka", "/dash/vod/manifest.mpd", "shaka dash vod 1");
      const bad = await open(browser(), stack, "shaka", "/live/master.m3u8", "shaka hls corrupting", { corrupt: true });
      vs.push(live1, vod1, bad);
      await waitFor("the first Shaka viewers playing", async () =>
        (await live1.snapshot()).started && (await played(live1)) >= 3 && (await played(vod1)) >= 8 && (await played(bad)) >= 3, 60_000);
      const live2 = await open(browser(), stack, "shaka", "/dash/live/manifest.mpd", "shaka dash live 2");
      const vod2 = await open(browser(), stack, "shaka", "/dash/vod/manifest.mpd", "shaka dash vod 2");
      const good = await open(browser(), stack, "shaka", "/live/master.m3u8", "shaka hls honest");
      vs.push(live2, vod2, good);
      await assertBan(bad, good);
      await assertOffload(vod1, vod2, 8, false);
      await assertOffload(live1, live2, 10, true);
    } finally {
      await closeAll(vs);
    }
  });
});
