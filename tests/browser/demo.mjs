#!/usr/bin/env node
// Browser test of `meshcdn demo`, as a person would use it: two viewer tabs (separate browser
// contexts) on the demo player; the second tab's overlay must show bytes from peers. Then the
// viewers stop loading and the analytics dashboard (the production one, fed by the client's own
// beacons) must show the segment bytes the demo's media server counted, within TOLERANCE.
// Saves screenshots of the player and the dashboard (test artifacts, in $ARTIFACTS_DIR, default
// test-artifacts/, gitignored) and checks that they are not blank; the dashboard must load nothing
// from another origin.
// Run inside a network namespace with the demo already serving at $DEMO_URL (tests/demo_browser.rs
// does both). Exit code 0 = pass; the last line says `N passed, N failed`.
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, "../../client/package.json"));
const { chromium } = require("playwright-core");

const DEMO_URL = process.env.DEMO_URL ?? "http://127.0.0.1:8080/";
const ARTIFACTS = process.env.ARTIFACTS_DIR ?? join(here, "../../test-artifacts");
const WAIT_MS = Number(process.env.DEMO_WAIT_MS ?? 120_000);
// Dashboard HTTP bytes vs the media server's count: a segment aborted mid-transfer is counted by
// the server but never reported by the client, so a few percent may differ.
const TOLERANCE = 0.05;
mkdirSync(ARTIFACTS, { recursive: true });

const CHROMIUM_ARGS = [
  "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--disable-features=WebRtcHideLocalIpsWithMdns",
  "--autoplay-policy=no-user-gesture-required",
];

/** Polls `fn` until it returns a truthy value or `ms` pass; returns the value or throws `what`. */
async function waitFor(what, fn, ms = WAIT_MS, everyMs = 250) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
}

/** How many distinct colours (quantised) and how much spread a PNG has, decoded by the browser. */
async function pictureStats(page, png) {
  const dataUrl = "data:image/png;base64," + png.toString("base64");
  return page.evaluate(async (src) => {
    const img = new Image();
    img.src = src;
    await img.decode();
    const canvas = document.createElement("canvas");
    canvas.width = img.width;
    canvas.height = img.height;
    const ctx = canvas.getContext("2d");
    ctx.drawImage(img, 0, 0);
    const { data } = ctx.getImageData(0, 0, img.width, img.height);
    const colours = new Set();
    let sum = 0, sumSq = 0, n = 0;
    for (let i = 0; i < data.length; i += 4 * 7) {
      colours.add(((data[i] >> 4) << 8) | ((data[i + 1] >> 4) << 4) | (data[i + 2] >> 4));
      const luma = 0.2126 * data[i] + 0.7152 * data[i + 1] + 0.0722 * data[i + 2];
      sum += luma; sumSq += luma * luma; n++;
    }
    const mean = sum / n;
    return { width: img.width, height: img.height, colours: colours.size, stddev: Math.sqrt(sumSq / n - mean * mean) };
  }, dataUrl);
}

const results = [];
async function test(name, fn) {
  const started = Date.now();
  try {
    await fn();
    results.push(true);
    console.log(`ok - ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    results.push(false);
    console.log(`not ok - ${name}\n  ${e.stack ?? e}`);
  }
}

await waitFor(`the demo at ${DEMO_URL}`, async () => (await fetch(DEMO_URL)).ok);
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: CHROMIUM_ARGS });
try {
  const viewers = [];
  for (let i = 0; i < 2; i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    const page = await context.newPage();
    page.on("pageerror", (e) => console.log(`  [viewer ${i + 1} page error] ${e.message}`));
    await page.goto(DEMO_URL + "?stream=live");
    viewers.push(page);
    // The first viewer plays (and so holds segments) before the second one arrives.
    await waitFor(`viewer ${i + 1} to play`, () =>
      page.evaluate(() => {
        const v = document.querySelector("video");
        return v && v.currentTime > 1 && window.meshcdnClient?.stats().trackerConnected;
      }),
    );
  }
  const [first, second] = viewers;

  await test("the second tab's overlay shows bytes from peers", async () => {
    const stats = await waitFor("bytes from peers in the second tab", async () => {
      const s = await second.evaluate(() => window.meshcdnClient.stats());
      const overlay = await second.locator("#p2p-bytes").innerText();
      return s.p2pBytes > 0 && overlay !== "0 B" ? { s, overlay } : null;
    });
    console.log(`  second tab: ${stats.overlay} from peers, ${stats.s.httpBytes} B over HTTP, ${stats.s.peers.length} peer(s)`);
    const share = await second.locator("#p2p-share").innerText();
    if (!(Number(share) > 0)) throw new Error(`overlay P2P share is ${share}%`);
  });

  await test("both players keep playing", async () => {
    for (const [i, page] of viewers.entries()) {
      const t0 = await page.evaluate(() => document.querySelector("video").currentTime);
      await waitFor(`viewer ${i + 1} to advance`, () =>
        page.evaluate((t) => document.querySelector("video").currentTime > t + 1, t0),
      );
    }
  });

  await test("player screenshot is not blank", async () => {
    const png = await first.screenshot({ path: join(ARTIFACTS, "demo-player.png") });
    const s = await pictureStats(first, png);
    console.log(`  player screenshot ${s.width}x${s.height}: ${s.colours} colours, luma stddev ${s.stddev.toFixed(1)}`);
    if (s.colours < 20 || s.stddev < 10) throw new Error(`screenshot looks blank: ${JSON.stringify(s)}`);
  });

  const info = await (await fetch(DEMO_URL + "api/demo-info")).json();
  const within = (a, b) => Math.abs(a - b) <= TOLERANCE * Math.max(a, b);
  let served = 0, clientP2p = 0;

  await test("the analytics API reports the bytes the media server sent, within 5%", async () => {
    // Stop loading, then wait until the media server's count stays put.
    for (const page of viewers) await page.evaluate(() => window.hls.stopLoad());
    let last = -1, same = 0;
    await waitFor("the media server's segment count to settle", async () => {
      const now = (await (await fetch(DEMO_URL + "api/demo-info")).json()).segment_bytes_served["demo/live"];
      same = now === last ? same + 1 : 0;
      last = now;
      return same >= 4;
    }, WAIT_MS, 500);
    served = last;
    clientP2p = 0;
    for (const page of viewers) clientP2p += await page.evaluate(() => window.meshcdnClient.stats().p2pBytes);
    const stream = await waitFor("beacons to add up to the served bytes", async () => {
      const res = await fetch(DEMO_URL + "v1/analytics?window_secs=3600", { headers: { authorization: "Bearer " + info.publisher_api_key } });
      const report = await res.json();
      const s = report.streams.find((x) => x.content === "demo/live");
      return s && within(s.http_bytes, served) && within(s.p2p_bytes, clientP2p) ? { ...s, connections: report.connections } : null;
    });
    console.log(`  media server sent ${served} B; dashboard: ${stream.http_bytes} B over HTTP, ${stream.p2p_bytes} B from peers (clients: ${clientP2p} B), offload ${(stream.offload * 100).toFixed(1)}%, ${stream.peers_per_viewer.toFixed(2)} peers/viewer`);
    if (!(stream.p2p_bytes > 0 && stream.peers_per_viewer > 0)) throw new Error(`no P2P in the analytics: ${JSON.stringify(stream)}`);
    if (stream.startup_ms_avg === null) throw new Error("no startup time reported");
    // The viewers' connection outcomes (stats().connections) arrive by candidate pair type.
    const opened = stream.connections.filter((c) => c.candidate !== "none" && c.ok > 0);
    if (!opened.length) throw new Error(`no opened peer connection in the analytics: ${JSON.stringify(stream.connections)}`);
    console.log(`  connections: ${stream.connections.map((c) => `${c.candidate} ${c.ok} opened / ${c.failed} failed`).join(", ")}`);
    const unauth = await fetch(DEMO_URL + "v1/analytics");
    if (unauth.status !== 401) throw new Error(`the API answered ${unauth.status} without a login`);
  });

  await test("the dashboard shows those figures and its screenshot is not blank", async () => {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 1400 } })).newPage();
    page.on("pageerror", (e) => console.log(`  [dashboard page error] ${e.message}`));
    // Everything the dashboard loads (page, uPlot, styles, API) comes from this server: it works offline.
    const requested = [];
    page.on("request", (r) => requested.push(r.url()));
    await page.goto(DEMO_URL + "analytics#key=" + encodeURIComponent(info.publisher_api_key));
    const shown = await waitFor("the dashboard's totals", async () => {
      const http = Number(await page.locator("#total-http").getAttribute("data-value"));
      const p2p = Number(await page.locator("#total-p2p").getAttribute("data-value"));
      const rows = await page.locator("#streams tbody").innerText();
      return within(http, served) && p2p > 0 && /demo\/live/.test(rows) ? { http, p2p, text: await page.locator("#total-http").innerText() } : null;
    });
    console.log(`  dashboard shows ${shown.text} over HTTP (${shown.http} B; media server ${served} B), ${shown.p2p} B saved`);
    const offload = await page.locator("#total-offload").innerText();
    if (!(parseFloat(offload) > 0)) throw new Error(`offload shown as ${offload}`);
    await waitFor("four charts drawn by uPlot", () => page.evaluate(() => document.querySelectorAll(".chart .uplot canvas").length >= 4));
    if (await page.locator("#login").isVisible()) throw new Error("the login form is still shown");
    const origin = new URL(DEMO_URL).origin;
    const foreign = requested.filter((u) => !u.startsWith("data:") && new URL(u).origin !== origin);
    if (foreign.length) throw new Error(`the dashboard loaded from elsewhere: ${foreign.join(", ")}`);
    if (!requested.some((u) => u.endsWith("/analytics/assets/uPlot.iife.min.js"))) throw new Error(`uPlot not loaded locally: ${requested.join(", ")}`);
    const png = await page.screenshot({ path: join(ARTIFACTS, "demo-dashboard.png"), fullPage: true });
    const s = await pictureStats(page, png);
    console.log(`  dashboard screenshot ${s.width}x${s.height}: ${s.colours} colours, luma stddev ${s.stddev.toFixed(1)}`);
    if (s.colours < 10 || s.stddev < 5) throw new Error(`screenshot looks blank: ${JSON.stringify(s)}`);
  });

  await test("DASH live: a Shaka tab and a dash.js tab share segments (one swarm per representation, whatever the player)", async () => {
    const tabs = [];
    for (const player of ["shaka", "dashjs"]) {
      const page = await (await browser.newContext()).newPage();
      page.on("pageerror", (e) => console.log(`  [${player} page error] ${e.message}`));
      await page.goto(DEMO_URL + `?stream=dash-live&player=${player}`);
      await waitFor(`the ${player} tab to play`, () =>
        page.evaluate(() => {
          const v = document.querySelector("video");
          return v && v.currentTime > 1 && window.meshcdnClient?.stats().trackerConnected;
        }),
      );
      tabs.push(page);
    }
    const [shakaTab, dashTab] = tabs;
    const stats = await waitFor("bytes from peers in either DASH tab", async () => {
      const [a, b] = await Promise.all(tabs.map((t) => t.evaluate(() => window.meshcdnClient.stats())));
      return a.p2pBytes + b.p2pBytes > 0 ? { a, b } : null;
    });
    console.log(`  DASH live: Shaka tab ${stats.a.p2pBytes} B from peers, dash.js tab ${stats.b.p2pBytes} B from peers`);
    for (const page of [shakaTab, dashTab]) {
      const t0 = await page.evaluate(() => document.querySelector("video").currentTime);
      await waitFor("the DASH tab to advance", () => page.evaluate((t) => document.querySelector("video").currentTime > t + 1, t0));
    }
  });

  await test("the dashboard asks for a login without a key and issues swarm tokens with one", async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(DEMO_URL + "analytics");
    await waitFor("the login form", () => page.locator("#login-key").isVisible());
    await page.fill("#login-key", "mcdn_not_a_key");
    await page.click("#login-form button");
    await waitFor("the refusal", async () => /refused/.test(await page.locator("#login-error").innerText()));
    await page.fill("#login-key", info.publisher_api_key);
    await page.click("#login-form button");
    await waitFor("the dashboard", () => page.locator("#token-form").isVisible());
    await page.fill("#token-form input[name=content]", "demo/live");
    await page.click("#token-form button");
    const text = await waitFor("the token", async () => {
      const t = await page.locator("#token-result").innerText();
      return t.length ? t : null;
    });
    if (!/^200 /.test(text) || !/"token"\s*:\s*"ey/.test(text)) throw new Error(`unexpected answer: ${text}`);
  });
} finally {
  await browser.close();
}
const passed = results.filter(Boolean).length;
console.log(`${passed} passed, ${results.length - passed} failed`);
process.exit(passed === results.length ? 0 : 1);
