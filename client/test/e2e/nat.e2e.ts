/**
 * Viewers on different networks, as on the Internet: the origin, the edge and a real coturn in a
 * "public" namespace; each viewer's Chromium in its own namespace behind a NAT router namespace
 * (scripts/nat-topology.sh); Chromium with its default WebRTC privacy (mDNS host candidates).
 * The origin's `[ice]` config names coturn for STUN and TURN; the page configures nothing.
 *
 * One live stream, viewers joining one at a time, so each new viewer's connections are the case
 * under test: a2 joins a1 in the same LAN (direct: host/mDNS), b1 behind another ordinary NAT
 * (srflx: hole punching), s1 behind a symmetric NAT (TURN relay), u1 behind a router that drops
 * UDP (TURN over TCP, or HTTP without stalls). Each case asserts the candidate pair type of the
 * new viewer's connections and that segments came over them and matched the origin's hashes.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Browser } from "playwright-core";
import type { ConnectionRecord } from "../../src/core/connection-stats.js";
import { openViewer, segs, summary, waitFor, type Stack, type Viewer, type ViewerSnapshot } from "../support/harness.js";
import { freePort, makeKeys, meshcdnParts, startEdge, startOrigin } from "../support/meshcdn.js";
import { launchBrowserIn, startCoturn, topologyUp, type Topology } from "../support/nat.js";
import { startUpstream } from "../support/upstream.js";

if (!process.env.MESHCDN_E2E_NETNS) throw new Error("run the browser tests with `npm run test:e2e`");

let topology: Topology;
let stack: Stack;
const cleanups: (() => Promise<void> | void)[] = [];
const browsers = new Map<string, Browser>();
const viewers = new Map<string, Viewer>();

before(async () => {
  topology = topologyUp();
  cleanups.push(() => topology.down());
  const { PUBLIC_NS: pub, PUBLIC_ADDR: addr, CALLER_ADDR: caller } = topology.env;
  const parts = meshcdnParts();
  const coturn = await startCoturn(topology, pub, addr);
  cleanups.push(() => coturn.close());
  const keys = makeKeys(parts);
  cleanups.push(() => keys.remove());
  // Ports inside the public namespace: nobody else uses it; any port free here is free there.
  const edge = await startEdge(parts, addr, keys.jwksFile, { wrap: topology.wrap(pub), port: await freePort("127.0.0.1") });
  cleanups.push(() => edge.proc.stop());
  const upstream = await startUpstream({ host: caller });
  cleanups.push(() => upstream.close());
  const origin = await startOrigin(parts, addr, upstream.url, [edge.url], keys.keysDir, {
    iceToml: coturn.iceToml,
    wrap: topology.wrap(pub),
    port: await freePort("127.0.0.1"),
  });
  cleanups.push(() => origin.proc.stop());
  stack = {
    trackerUrls: [edge.url],
    masterUrl: `${origin.url}/live/master.m3u8`,
    vodMasterUrl: `${origin.url}/vod/master.m3u8`,
    pageUrl: `${origin.url}/page.html`,
    upstream,
    mode: `meshcdn edge (${edge.engine}) + origin + coturn behind NATs`,
    killTracker: () => edge.proc.stop(),
    close: async () => {},
  };
  console.log(`# nat topology: ${JSON.stringify(topology.env)}`);
});

after(async () => {
  for (const v of viewers.values()) await v.context.close().catch(() => {});
  for (const b of browsers.values()) await b.close().catch(() => {});
  for (const c of cleanups.reverse()) await c();
});

/** Opens viewer `name` (a1, a2, b1, s1, u1) in its own namespace's Chromium. */
async function join(name: string): Promise<Viewer> {
  const ns = topology.env[`VIEWER_${name}`];
  assert.ok(ns, `no namespace for viewer ${name}`);
  const browser = await launchBrowserIn(topology, ns);
  browsers.set(name, browser);
  const v = await openViewer(browser, stack);
  viewers.set(name, v);
  return v;
}

const open = (s: ViewerSnapshot) => s.stats.connections.recent.filter((r) => r.state === "open" || r.state === "closed");
/** Open connections, and closed ones that carried something or whose pair was read (one that closed before its stats were read, having carried nothing, says nothing of the path). */
const carrying = (s: ViewerSnapshot) => open(s).filter((r) => r.state === "open" || r.pairType !== null || r.bytesReceived > 0);
const describe = (r: ConnectionRecord) =>
  `${r.peerId.slice(-8)} ${r.role} ${r.state} ${r.pairType}(${r.pair?.localType}/${r.pair?.remoteType} ${r.pair?.protocol}${r.pair?.relayProtocol ? `/relay ${r.pair.relayProtocol}` : ""} ${r.pair?.remoteAddress}) ${r.timeToOpenMs}ms rx=${r.bytesReceived}`;

function report(name: string, s: ViewerSnapshot): void {
  console.log(`# ${summary(name, s)}`);
  for (const r of s.stats.connections.recent) console.log(`#   ${name} ${describe(r)}`);
}

/** The viewer played on, nothing bad reached the player, no stalls. */
function assertHealthy(name: string, s: ViewerSnapshot): void {
  assert.equal(s.stalls, 0, `${name} stalled: ${s.stallLog.join(" | ")}`);
  assert.equal(s.badDeliveries, 0, `${name} got bytes that do not match the origin's hash`);
  assert.equal(s.stats.integrityFailures, 0, `${name}: integrity failures`);
  assert.deepEqual(s.errors.filter((e) => e.endsWith("/true")), [], `${name} had fatal player errors`);
}

/**
 * Waits until `name` received segment bytes over connections that all satisfy `ok`, and returns
 * those connections. Every connection of the new viewer is checked, not just one.
 */
async function receivedOver(v: Viewer, name: string, ok: (r: ConnectionRecord) => boolean, timeoutMs = 60_000): Promise<ConnectionRecord[]> {
  const s = await waitFor(
    `${name} to receive segments from a peer`,
    async () => {
      const snap = await v.snapshot();
      // Every open connection's selected pair known (it is read from getStats() after the
      // connection opens: one opened a moment ago has none yet), and bytes over one of them.
      const conns = carrying(snap);
      const settled = conns.every((r) => r.pairType !== null);
      return snap.stats.p2pBytes > 0 && settled && conns.some((r) => r.bytesReceived > 0) ? snap : null;
    },
    timeoutMs,
    500,
  );
  report(name, s);
  const conns = carrying(s);
  for (const r of conns) assert.ok(ok(r), `${name}: unexpected connection ${describe(r)}`);
  return conns.filter((r) => r.bytesReceived > 0);
}

test("two viewers in one LAN behind the same NAT connect directly (host / mDNS)", { timeout: 120_000 }, async () => {
  const a1 = await join("a1");
  await waitFor("a1 playing 3 segments", async () => (await a1.snapshot()).started && (await segs(a1)) >= 3, 40_000);
  const a2 = await join("a2");
  const direct = await receivedOver(a2, "a2", (r) => (r.pairType === "host" || r.pairType === "prflx") && r.pair?.remoteAddress?.startsWith("198.51.100.") !== true);
  assert.ok(direct.length >= 1);
  // Verified: the client hands peer bytes to the player only after the hash check, and the page
  // checks every delivered segment against the playlist's tag again.
  const s = await a2.snapshot();
  assert.ok(s.stats.segments.some((r) => r.source === "p2p"), "a2 played segments from a1");
  assertHealthy("a2", s);
  assertHealthy("a1", await a1.snapshot());
});

test("a viewer behind another ordinary NAT connects over server-reflexive candidates", { timeout: 120_000 }, async () => {
  const b1 = await join("b1");
  const wans = [topology.env.ROUTER_A_WAN];
  const conns = await receivedOver(b1, "b1", (r) => (r.pairType === "srflx" || r.pairType === "prflx") && wans.includes(r.pair?.remoteAddress ?? ""));
  assert.ok(conns.length >= 1);
  const s = await b1.snapshot();
  assert.ok(s.stats.connections.byType.srflx + s.stats.connections.byType.prflx >= 1);
  assert.equal(s.stats.connections.byType.relay, 0, "no relay needed between two ordinary NATs");
  assertHealthy("b1", s);
});

test("a viewer behind a symmetric NAT connects over a TURN relay", { timeout: 120_000 }, async () => {
  const s1 = await join("s1");
  const conns = await receivedOver(s1, "s1", (r) => r.pairType === "relay");
  assert.ok(conns.length >= 1);
  const s = await s1.snapshot();
  assert.ok(s.stats.connections.byType.relay >= 1);
  assertHealthy("s1", s);
});

test("a viewer whose UDP is blocked relays over TURN/TCP, or plays over HTTP without stalls", { timeout: 120_000 }, async () => {
  const u1 = await join("u1");
  await waitFor("u1 playing 6 segments", async () => (await u1.snapshot()).started && (await segs(u1)) >= 6, 60_000, 500);
  const relayed = await waitFor(
    "u1 to receive segments over TURN/TCP",
    async () => {
      const s = await u1.snapshot();
      return open(s).some((r) => r.bytesReceived > 0 && r.pairType === "relay") ? s : null;
    },
    30_000,
    500,
  ).catch(() => null);
  const s = relayed ?? (await u1.snapshot());
  report("u1", s);
  for (const r of open(s)) {
    assert.equal(r.pairType, "relay", `u1 can only relay: ${describe(r)}`);
    assert.equal(r.pair?.relayProtocol, "tcp", `u1 reaches coturn over TCP: ${describe(r)}`);
  }
  if (relayed) {
    console.log("# u1: segments over TURN/TCP");
  } else {
    console.log("# u1: no relayed connection; played over HTTP");
    assert.ok(s.stats.httpBytes > 0);
  }
  assertHealthy("u1", s);
  for (const [name, v] of viewers) assertHealthy(name, await v.snapshot());
});
