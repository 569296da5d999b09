import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { WebSocket as WsWebSocket, WebSocketServer } from "ws";
import type { Bootstrap } from "../../src/core/bootstrap.js";
import { type CoreConfigInput, resolveConfig } from "../../src/core/config.js";
import { MeshCore } from "../../src/core/core.js";
import { createFragmentLoaderClass } from "../../src/hlsjs/fragment-loader.js";
import { StartupGate } from "../../src/player-kit/startup-gate.js";

const until = async (cond: () => boolean, what: string, ms = 10_000) => {
  for (const end = Date.now() + ms; !cond(); ) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

test("the start-up gate opens at the media's first playing, once, and closes again on reset", () => {
  let opened = 0;
  const gate = new StartupGate(() => opened++, 60_000);
  const media = new EventTarget();
  gate.watch(media);
  gate.buffered();
  assert.equal(gate.isOpen, false);
  media.dispatchEvent(new Event("playing"));
  media.dispatchEvent(new Event("playing"));
  assert.equal(opened, 1);
  assert.equal(gate.isOpen, true);
  gate.reset();
  assert.equal(gate.isOpen, false);
  media.dispatchEvent(new Event("playing"));
  assert.equal(opened, 2);
  gate.stop();
});

test("without playing (autoplay blocked) the gate opens capMs after the first buffered segment", async () => {
  let openedAt = 0;
  const gate = new StartupGate(() => (openedAt = Date.now()), 50);
  gate.watch(new EventTarget());
  const buffered = Date.now();
  gate.buffered();
  await until(() => openedAt > 0, "the cap");
  assert.ok(openedAt - buffered >= 45, `opened after ${openedAt - buffered} ms`);
});

test("while joins are held, the start-up's first media segment goes to hls.js's own loader and a copy to the core; later ones to the core", () => {
  const adopted: { req: any; data: Uint8Array }[] = [];
  const coreLoads: number[] = [];
  const core = {
    p2pEnabled: true,
    playerLoadsStartupSegment: true,
    adopt(req: any, data: Uint8Array) {
      adopted.push({ req, data });
      this.playerLoadsStartupSegment = false;
    },
    load: (req: any) => (coreLoads.push(req.sn), new Promise(() => undefined)),
  };
  const Loader = createFragmentLoaderClass({ core: core as any, timeToDeadlineMs: () => 0 });
  const payload = new Uint8Array([1, 2, 3, 4]).buffer;
  const order: string[] = [];
  class DefaultLoader {
    stats = { retry: 0, loading: { start: 1, first: 2, end: 3 } } as any;
    load(ctx: any, _config: any, cb: any) {
      cb.onSuccess({ url: ctx.url, data: ctx.frag.sn === "initSegment" ? new ArrayBuffer(2) : payload }, this.stats, ctx, null);
    }
    abort() {}
    destroy() {}
  }
  const callbacks = { onSuccess: (r: any) => order.push(`player:${r.data.byteLength}:${adopted.length}`), onError: () => undefined, onTimeout: () => undefined };
  const hash = "b".repeat(64);
  const frag = { sn: 3, start: 6, baseurl: "http://o/vod/240p/index.m3u8", tagList: [["EXT-X-MESHCDN-SHA256", hash]] };
  const loader = new Loader({ loader: DefaultLoader } as any);
  const held = loader.stats; // hls.js keeps this object as frag.stats (ABR samples, FRAG_LOADED)
  loader.load({ url: "http://o/vod/240p/3.ts", frag, part: null } as any, {} as any, callbacks as any);
  assert.equal(loader.stats, held, "the default loader fills the stats object hls.js already holds");
  assert.deepEqual(order, ["player:4:1"], "hls.js gets the bytes after the core got its copy");
  assert.deepEqual(adopted[0]!.req, { sn: 3, playlistUrl: frag.baseurl, expectedSha256: hash });
  assert.deepEqual([...adopted[0]!.data], [1, 2, 3, 4]);
  assert.notEqual(adopted[0]!.data.buffer, payload, "a copy: hls.js transfers its buffer to the worker");
  // Init segments are not the core's.
  new Loader({ loader: DefaultLoader } as any).load({ url: "http://o/init.mp4", frag: { ...frag, sn: "initSegment" }, part: null } as any, {} as any, callbacks as any);
  assert.equal(adopted.length, 1);
  // The start-up's first segment is in: the next one is the core's (it waits for the join).
  new Loader({ loader: DefaultLoader } as any).load({ url: "http://o/vod/240p/4.ts", frag: { ...frag, sn: 4, start: 8 }, part: null } as any, { timeout: 0 } as any, callbacks as any);
  assert.deepEqual(coreLoads, [4]);
  assert.equal(adopted.length, 1);
});

/**
 * A core with joins held (start-up), bootstrapped for one VOD rendition whose swarm is `swarmHex`,
 * its tracker a local WebSocket server that records connections and never answers. Swarms only
 * join where WebRTC exists: a stub stands in (its offers fail, which is fine here).
 */
async function heldCore(t: { after(fn: () => Promise<void> | void): void }, config: CoreConfigInput, swarmHex: string) {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise((r) => wss.once("listening", r));
  const connections: number[] = [];
  wss.on("connection", (ws) => {
    connections.push(Date.now());
    ws.on("error", () => undefined);
  });
  const g = globalThis as any;
  const saved = { WebSocket: g.WebSocket, RTCPeerConnection: g.RTCPeerConnection };
  g.WebSocket = WsWebSocket;
  g.RTCPeerConnection = class {};
  const core = new MeshCore({ iceServers: [], ...config });
  t.after(async () => {
    core.destroy();
    Object.assign(g, saved);
    await new Promise((r) => wss.close(r));
  });
  const playlist = "http://o/vod/240p/index.m3u8";
  const bootstrap: Bootstrap = { v: 1, content: "c", trackers: [`ws://127.0.0.1:${(wss.address() as { port: number }).port}/announce`], token: null, swarms: { "240p/index.m3u8": swarmHex }, integrity: "sha256-tags" };
  core.holdJoins();
  core.setBootstrap(bootstrap, "http://o/vod/master.m3u8");
  core.prepare(playlist);
  return { core, connections, playlist };
}

test("held joins: no tracker connection until releaseJoins(); adopted segments count as HTTP and are kept for peers", async (t) => {
  const { core, connections, playlist } = await heldCore(t, {}, "ab".repeat(20));
  const data = new Uint8Array(1000).fill(7);
  const sha = createHash("sha256").update(data).digest("hex");
  const loaded: string[][] = [];
  core.on("segment-loaded", (r) => loaded.push(r.decisions));
  core.adopt({ sn: 0, playlistUrl: playlist, expectedSha256: sha }, data, 5);
  assert.equal(core.stats().httpBytes, 1000);
  assert.deepEqual(loaded, [["http:startup"]]);
  // Verified (WebCrypto, asynchronous) and kept for peers, all without a tracker connection.
  const swarm = (core as any).swarms.get("ab".repeat(20));
  await until(() => swarm.loader.servable(0) !== undefined, "the adopted segment kept");
  assert.equal(swarm.tracker, null, "the swarm made no tracker client while joins are held");
  assert.equal(connections.length, 0, "no tracker connection while joins are held");
  assert.equal(core.joinsAreHeld, true);
  const released = Date.now();
  core.releaseJoins();
  await until(() => connections.length > 0, "the tracker connection after release");
  assert.ok(connections[0]! >= released);
  assert.equal(core.joinsAreHeld, false);
});

test("startupJoin is one of manifest, first-request, first-segment, first-buffered, playing (default playing)", () => {
  assert.equal(resolveConfig({}).startupJoin, "playing");
  assert.equal(resolveConfig({ startupJoin: "first-segment" }).startupJoin, "first-segment");
  assert.equal(resolveConfig({ startupJoin: "playing" }).startupJoin, "playing");
  assert.equal(resolveConfig({ startupJoin: "first-buffered" }).startupJoin, "first-buffered");
  assert.throws(() => resolveConfig({ startupJoin: "later" as never }), /startupJoin/);
});

test("while joins are held, segments after the start-up's first wait for the join instead of going to HTTP at once", async (t) => {
  const g = globalThis as any;
  const savedFetch = g.fetch;
  t.after(() => void (g.fetch = savedFetch));
  const fetches: number[] = [];
  const seg1 = new Uint8Array(2000).fill(9);
  g.fetch = async () => (fetches.push(Date.now()), new Response(seg1));
  // The tracker never answers (no swarm counts): after the join, the load waits peerJoinWaitMs.
  const { core, playlist } = await heldCore(t, { peerJoinWaitMs: 300 }, "cd".repeat(20));
  assert.equal(core.playerLoadsStartupSegment, true);
  const seg0 = new Uint8Array(1000).fill(7);
  core.adopt({ sn: 0, playlistUrl: playlist, expectedSha256: createHash("sha256").update(seg0).digest("hex") }, seg0, 5);
  assert.equal(core.playerLoadsStartupSegment, false, "the start-up's first segment is in");
  assert.equal(core.joinsAreHeld, true);
  const swarm = (core as any).swarms.get("cd".repeat(20));
  const loading = core.load({
    sn: 1,
    url: "http://o/vod/240p/1.ts",
    expectedSha256: createHash("sha256").update(seg1).digest("hex"),
    playlistUrl: playlist,
    timeToDeadlineMs: () => 10_000,
    signal: new AbortController().signal,
  });
  await until(() => swarm.loader.waiters.size > 0, "the load waiting for the held join");
  assert.equal(fetches.length, 0, "no HTTP fetch while the join is held");
  const released = Date.now();
  core.releaseJoins();
  const result = await loading;
  assert.equal(result.record.source, "http");
  assert.deepEqual([...result.data], [...seg1]);
  assert.equal(fetches.length, 1);
  assert.ok(fetches[0]! - released >= 250, `HTTP after the join's wait (${fetches[0]! - released} ms after the release)`);
});
