import assert from "node:assert/strict";
import { test } from "node:test";
import { beaconBetween, BeaconReporter, networkFactsOf, PlaybackWatcher, totalsOf, type BeaconStats, type MediaLike, type NetworkFacts } from "../../src/core/beacon.js";
import { encodeBootstrap, parseBootstrap, type Bootstrap } from "../../src/core/bootstrap.js";

class FakeMedia implements MediaLike {
  private readonly fns = new Map<string, Set<() => void>>();
  addEventListener(type: string, fn: () => void): void {
    if (!this.fns.has(type)) this.fns.set(type, new Set());
    this.fns.get(type)!.add(fn);
  }
  removeEventListener(type: string, fn: () => void): void {
    this.fns.get(type)?.delete(fn);
  }
  emit(type: string): void {
    for (const fn of this.fns.get(type) ?? []) fn();
  }
  get listeners(): number {
    return [...this.fns.values()].reduce((a, s) => a + s.size, 0);
  }
}

test("startup time and stalls come from the media element's events; pauses are not stalls", () => {
  let now = 1000;
  const w = new PlaybackWatcher(() => now);
  const media = new FakeMedia();
  w.attach(media);
  now = 1100;
  media.emit("waiting"); // before the first frame: startup, not a stall
  now = 1800;
  media.emit("playing");
  assert.equal(w.startupMs, 800);
  assert.equal(w.stalls, 0);
  now = 5000;
  media.emit("waiting");
  now = 5300;
  assert.equal(w.stallMs, 300, "an ongoing stall counts so far");
  media.emit("waiting"); // the same stall
  now = 5500;
  media.emit("playing");
  assert.deepEqual([w.stalls, w.stallMs], [1, 500]);
  media.emit("waiting");
  now = 6000;
  media.emit("pause");
  now = 9000;
  assert.deepEqual([w.stalls, w.stallMs], [2, 1000], "a pause closes the stall");
  w.detach();
  assert.equal(media.listeners, 0);
});

const stats = (http: number, p2p: number, up: number, peers: number, connections?: BeaconStats["connections"]): BeaconStats => ({
  httpBytes: http,
  p2pBytes: p2p,
  uploadedBytes: up,
  peers: Array.from({ length: peers }),
  connections,
});

test("a beacon carries the deltas since the previous one, connection outcomes by candidate type included", () => {
  const fixed = { token: "t", content: "c", rendition: "r", viewer: "ab", seq: 1, peers: 2, player: "p" };
  const a = totalsOf(stats(100, 0, 0, 0, { failed: 0, byType: { host: 1 } }), { stalls: 0, stallMs: 0 }, 1000);
  const b = totalsOf(stats(150, 400, 30, 2, { failed: 1, byType: { host: 3, relay: 1 } }), { stalls: 1, stallMs: 200 }, 11_000);
  const body = beaconBetween(a, b, fixed);
  assert.deepEqual(
    { i: body.interval_ms, http: body.http, p2p: body.p2p, up: body.up, stalls: body.stalls, ms: body.stall_ms, conn: body.conn },
    { i: 10_000, http: 50, p2p: 400, up: 30, stalls: 1, ms: 200, conn: { host: { ok: 2, fail: 0 }, relay: { ok: 1, fail: 0 }, none: { ok: 0, fail: 1 } } },
  );
  assert.equal(body.startup_ms, undefined);
  // One connection's selected pair switched from host to relay: only the gain is reported.
  const switched = totalsOf(stats(150, 400, 30, 2, { failed: 1, byType: { host: 2, relay: 2 } }), { stalls: 1, stallMs: 200 }, 12_000);
  assert.deepEqual(beaconBetween(b, switched, fixed).conn, { relay: { ok: 1, fail: 0 } });
  // Without connection stats nothing is invented; bad numbers count as 0; stall time fits the interval.
  const c = totalsOf({ ...stats(NaN, -5, 0, 0) }, { stalls: 0, stallMs: 99_999 }, 12_000);
  const d = beaconBetween(b, c, { ...fixed, startupMs: 812.4 });
  assert.deepEqual(d.conn, {});
  assert.equal(d.http, 0, "a counter that went down (reset) counts from 0");
  assert.ok(d.stall_ms <= d.interval_ms);
  assert.equal(d.startup_ms, 812);
});

test("the reporter posts to the bootstrap's URL with the current token, and a last beacon on stop", () => {
  const sent: { url: string; body: Record<string, unknown> }[] = [];
  let now = 0;
  let s = stats(0, 0, 0, 0);
  let token: string | null = null;
  const playback = new PlaybackWatcher(() => now);
  let player = "";
  let net: NetworkFacts | undefined;
  const r = new BeaconReporter({
    target: { url: "/v1/beacons", intervalMs: 10_000 },
    baseUrl: "https://cdn.example/live/a/master.m3u8",
    content: "live/a",
    viewer: "00ff",
    player: () => player,
    network: () => net,
    token: () => token,
    rendition: () => "720p/index.m3u8",
    stats: () => s,
    playback,
    now: () => now,
    send: (url, body) => {
      sent.push({ url, body: JSON.parse(body) });
      return true;
    },
  });
  assert.equal(r.url, "https://cdn.example/v1/beacons");
  now = 5000;
  assert.equal(r.send(), false, "no token, no beacon");
  token = "jwt-1";
  s = stats(1000, 0, 0, 0);
  assert.equal(r.send(), true);
  s = stats(1500, 2000, 100, 3);
  token = "jwt-2";
  now = 15_000;
  // The adapter names the player when it attaches; the edge's facts arrive with the first announce reply.
  player = "shaka 4.16.50";
  net = { asn: 64500, country: "BE" };
  r.stop();
  assert.equal(sent.length, 2);
  assert.deepEqual(
    sent.map((x) => [x.body.seq, x.body.token, x.body.interval_ms, x.body.http, x.body.p2p, x.body.up, x.body.peers]),
    [
      [0, "jwt-1", 5000, 1000, 0, 0, 0],
      [1, "jwt-2", 10_000, 500, 2000, 100, 3],
    ],
  );
  assert.equal(sent[0].body.content, "live/a");
  assert.equal(sent[0].body.rendition, "720p/index.m3u8");
  assert.equal(sent[0].body.v, 1);
  assert.deepEqual([sent[0].body.player, sent[0].body.net], ["", undefined]);
  assert.deepEqual([sent[1].body.player, sent[1].body.net], ["shaka 4.16.50", { asn: 64500, country: "BE" }]);
});

test("only well-formed network facts from the tracker are kept", () => {
  assert.deepEqual(networkFactsOf({ asn: 64500, country: "BE", region: "VLG", continent: "EU" }), { asn: 64500, country: "BE", region: "VLG", continent: "EU" });
  assert.deepEqual(networkFactsOf({ asn: -1, country: "x".repeat(65), region: "", continent: "E\nU", city: "Gent" }), undefined);
  assert.deepEqual(networkFactsOf({ asn: 1.5, country: "DE" }), { country: "DE" });
  for (const bad of [undefined, null, "BE", 7, []]) assert.equal(networkFactsOf(bad), undefined, JSON.stringify(bad));
});

test("the bootstrap's beacons field is read, and a malformed one only turns beacons off", () => {
  const base: Bootstrap = { v: 1, content: "c", trackers: ["ws://t/announce"], token: "x", swarms: {}, integrity: "sha256-tags" };
  const withField = (beacons: unknown) => parseBootstrap(encodeBootstrap({ ...base, beacons } as unknown as Bootstrap));
  assert.deepEqual(withField({ url: "/v1/beacons", interval_ms: 10_000 }).beacons, { url: "/v1/beacons", intervalMs: 10_000 });
  for (const bad of [null, "x", { url: "" , interval_ms: 10_000 }, { url: "/b", interval_ms: 5 }, { url: "/b" }]) {
    const b = withField(bad);
    assert.equal(b.beacons, undefined, JSON.stringify(bad));
    assert.equal(b.content, "c", "P2P stays on");
  }
  assert.equal(parseBootstrap(encodeBootstrap(base)).beacons, undefined);
});
