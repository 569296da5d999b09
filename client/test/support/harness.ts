/**
 * What the browser e2e tests share: the server stack (upstream + origin + tracker), Chromium with
 * viewers as separate browser contexts, and condition waits with bounds (no fixed sleeps).
 */
import { after, before } from "node:test";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import type { ConnectionTotals } from "../../src/core/connection-stats.js";
import { startUpstream, type Upstream } from "./upstream.js";
import { freePort, makeKeys, meshcdnParts, startEdge, startOrigin } from "./meshcdn.js";

export const HOST = "127.0.0.1";

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-features=WebRtcHideLocalIpsWithMdns",
  "--autoplay-policy=no-user-gesture-required",
];

export interface Stack {
  /** Tracker URLs in the bootstrap, primary first. */
  trackerUrls: string[];
  /** URL of the live master playlist as viewers load it (through the origin). */
  masterUrl: string;
  /** URL of the VOD master playlist (the same media, not looped). */
  vodMasterUrl: string;
  /** URL of the viewer page (same origin as the playlists). */
  pageUrl: string;
  upstream: Upstream;
  /** Which tracker and origin run (engine, token mode). */
  mode: string;
  killTracker(): Promise<void>;
  close(): Promise<void>;
}

export interface StackOptions {
  /** List a tracker URL where nothing listens first in the bootstrap, to exercise failover. */
  deadTrackerFirst?: boolean;
  /** Per-viewer swarm tokens valid this long (origin `[tokens] ttl_secs`); default: the origin's own. */
  tokenTtlSecs?: number;
  /** Address the servers listen on (default 127.0.0.1; a page from any other is not a secure context). */
  host?: string;
  /** A slow last mile: each segment reaches a browser over this many ms (see startUpstream). */
  segmentTrickleMs?: number;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const parts = meshcdnParts();
  const host = opts.host ?? HOST;
  const cleanups: (() => Promise<void> | void)[] = [];
  const close = async () => {
    for (const c of cleanups.reverse()) await c();
  };
  try {
    // Swarm tokens issued by the origin and verified by the edge, as in production.
    const keys = makeKeys(parts);
    cleanups.push(() => keys.remove());
    const edge = await startEdge(parts, host, keys.jwksFile);
    const tracker = { url: edge.url, close: () => edge.proc.stop() };
    const trackerName = `meshcdn edge (${edge.engine}, tokens)`;
    let trackerClosed = false;
    cleanups.push(() => (trackerClosed ? undefined : tracker.close()));
    const trackerUrls = opts.deadTrackerFirst ? [`ws://${host}:${await freePort(host)}/announce`, tracker.url] : [tracker.url];
    // `meshcdn origin` in front of the test's upstream (static VOD + a live sliding window).
    const upstream = await startUpstream({ host, segmentTrickleMs: opts.segmentTrickleMs });
    cleanups.push(() => upstream.close());
    const origin = await startOrigin(parts, host, upstream.url, trackerUrls, keys.keysDir, { tokenTtlSecs: opts.tokenTtlSecs });
    cleanups.push(() => origin.proc.stop());
    const base = origin.url;
    const originName = "meshcdn origin";
    return {
      trackerUrls,
      masterUrl: `${base}/live/master.m3u8`,
      vodMasterUrl: `${base}/vod/master.m3u8`,
      pageUrl: `${base}/page.html`,
      upstream,
      mode: `${trackerName} + ${originName}`,
      killTracker: async () => {
        trackerClosed = true;
        await tracker.close();
      },
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: CHROMIUM_ARGS });
}

/**
 * The Chromium every test of an e2e file shares: launched before the first test, closed after the
 * last. Call once at the top of the file; refuses to run outside `npm run test:e2e`.
 */
export function sharedBrowser(): () => Browser {
  if (!process.env.MESHCDN_E2E_NETNS) {
    throw new Error("run the browser tests with `npm run test:e2e` (it makes the network namespace they need)");
  }
  let browser: Browser | undefined;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });
  return () => {
    if (!browser) throw new Error("the shared browser is only there while the file's tests run");
    return browser;
  };
}

export interface Viewer {
  context: BrowserContext;
  page: Page;
  snapshot(): Promise<ViewerSnapshot>;
}

export interface ViewerSnapshot {
  stats: {
    p2pEnabled: boolean;
    httpBytes: number;
    p2pBytes: number;
    uploadedBytes: number;
    relayedBytes: number;
    uploadEnabled: boolean;
    offloadRatio: number;
    peers: string[];
    bannedPeers: string[];
    trackerConnected: boolean;
    integrityFailures: number;
    tokenExpiresAtMs: number | null;
    tokenRefreshes: number;
    peerId: string;
    segments: { sn: number; source: string; bytes: number; p2pBytes: number; httpBytes: number; peerId: string | null; decisions: string[] }[];
    connections: ConnectionTotals;
  };
  started: boolean;
  stalls: number;
  stallLog: string[];
  seekLog: string[];
  /** `waiting` events with data buffered ahead (not stalls), for the log. */
  otherWaits: string[];
  errors: string[];
  events: { ev: string; at: number; detail: string }[];
  badDeliveries: number;
  delivered: number;
  corruptedSent: number;
  droppedSent: number;
  currentTime: number;
  tagsSeen: boolean;
  secureContext: boolean;
  webCrypto: boolean;
}

export interface ViewerOptions {
  /** Flip a byte in every DATA frame this viewer sends (a lying peer). */
  corrupt?: boolean;
  /** Send only the first 8 KiB of each requested segment (a peer that stalls). */
  stall?: boolean;
  /** meshcdn client config. */
  config?: object;
  /** Master playlist to play (default: the live one). */
  src?: string;
}

export async function openViewer(browser: Browser, stack: Stack, opts: ViewerOptions = {}): Promise<Viewer> {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error(`[page error] ${e.message}`));
  const q = new URLSearchParams({ src: opts.src ?? stack.masterUrl, config: JSON.stringify(opts.config ?? {}) });
  if (opts.corrupt) q.set("corrupt", "1");
  if (opts.stall) q.set("stall", "1");
  await page.goto(`${stack.pageUrl}?${q}`);
  return {
    context,
    page,
    snapshot: () => page.evaluate(() => (window as any).__viewer.snapshot()),
  };
}

/**
 * Polls `probe` until it returns a truthy value; fails with `what` after `timeoutMs`, plus what
 * `explain` tells (e.g. the viewers' state) so a timeout says why.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T>,
  timeoutMs = 60_000,
  intervalMs = 250,
  explain?: () => Promise<string>,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const why = explain ? `\n${await explain().catch((e) => `(explain failed: ${e})`)}` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${String(last)})${why}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export function summary(name: string, s: ViewerSnapshot): string {
  const st = s.stats;
  const src = st.segments.map((x) => `${x.sn}:${x.source[0]}(${x.decisions.join(">")})`).join(" ");
  const stalls =
    (s.stallLog.length ? ` stallLog=${JSON.stringify(s.stallLog)}` : "") +
    (s.otherWaits.length ? ` waitsWithBuffer=${JSON.stringify(s.otherWaits)}` : "");
  return `${name}: http=${st.httpBytes} p2p=${st.p2pBytes} offload=${(st.offloadRatio * 100).toFixed(1)}% peers=${st.peers.length} stalls=${s.stalls}${stalls} seeks=${s.seekLog.join(",")} segs=[${src}]`;
}

/** The viewers' summaries and their last events: what a timed-out wait prints. */
export function describeViewers(viewers: Record<string, Viewer>, lastEvents = 15): () => Promise<string> {
  return async () => {
    const lines: string[] = [];
    for (const [name, v] of Object.entries(viewers)) {
      const s = await v.snapshot();
      lines.push(summary(name, s), ...s.events.slice(-lastEvents).map((e) => `  ${name} ${e.at} ${e.ev} ${e.detail}`));
    }
    return lines.join("\n");
  };
}

/** Runs `fn` against a fresh stack, closed afterwards whatever happens. */
export async function withStack(fn: (stack: Stack) => Promise<void>, opts: StackOptions = {}): Promise<void> {
  const stack = await startStack(opts);
  console.log(`# stack: ${stack.mode} (${stack.masterUrl})`);
  try {
    await fn(stack);
  } finally {
    await stack.close();
  }
}

/** Segments handed to the player so far. */
export const segs = async (v: Viewer) => (await v.snapshot()).stats.segments.length;
