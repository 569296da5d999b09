import assert from "node:assert/strict";
import { createServer } from "node:net";
import { test } from "node:test";
import { WebSocket as WsWebSocket, WebSocketServer } from "ws";
import { TrackerError } from "../../src/core/errors.js";
import { TrackerClient, type TrackerClientOptions } from "../../src/core/tracker-client.js";
import { startMiniTracker } from "../support/mini-tracker.js";

const INFO_HASH = "\u0001".repeat(20);

function client(urls: string[], peerId: string, o: Partial<TrackerClientOptions> = {}): TrackerClient {
  return new TrackerClient({
    urls,
    token: () => null,
    infoHash: INFO_HASH,
    peerId,
    createOffers: async (n) => Array.from({ length: n }, (_, i) => ({ offerId: `${peerId.slice(0, 19)}${i}`, sdp: `sdp-of-${peerId}` })),
    wantedPeers: () => 1,
    totals: () => ({ uploaded: 0, downloaded: 0 }),
    reconnectMinMs: 50,
    reconnectMaxMs: 200,
    maxAnnounceIntervalMs: 60_000,
    WebSocketImpl: WsWebSocket as unknown as typeof WebSocket,
    ...o,
  });
}

async function deadUrl(): Promise<string> {
  // A port that was just free: nothing listens there.
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  return `ws://127.0.0.1:${port}/announce`;
}

test("offers and answers are relayed between two clients through a tracker, after failing over from a dead URL", async () => {
  const tracker = await startMiniTracker("127.0.0.1");
  const a = client([await deadUrl(), tracker.url], "-MC0001-aaaaaaaaaaaa");
  const b = client([tracker.url], "-MC0001-bbbbbbbbbbbb");
  const errors: TrackerError[] = [];
  a.on("error", (e) => errors.push(e));
  try {
    const aUp = new Promise<string>((resolve) => a.on("state", (url, up) => up && resolve(url)));
    a.start();
    assert.equal(await aUp, tracker.url, "failed over to the second URL");
    assert.ok(errors.some((e) => e.type === "tracker" && /connection failed/.test(e.message)));
    // b announces with an offer; the tracker relays it to a, a answers, b gets the answer.
    const offerAtA = new Promise<[string, string, string]>((resolve) => a.on("offer", (...x) => resolve(x)));
    const answerAtB = new Promise<[string, string, string]>((resolve) => b.on("answer", (...x) => resolve(x)));
    b.start();
    const [from, offerId, sdp] = await offerAtA;
    assert.equal(from, "-MC0001-bbbbbbbbbbbb");
    assert.equal(sdp, "sdp-of--MC0001-bbbbbbbbbbbb");
    a.sendAnswer(from, offerId, "answer-sdp");
    const [answerFrom, answerOfferId, answerSdp] = await answerAtB;
    assert.deepEqual([answerFrom, answerOfferId, answerSdp], ["-MC0001-aaaaaaaaaaaa", offerId, "answer-sdp"]);
  } finally {
    a.stop();
    b.stop();
    await tracker.close();
  }
});

test("the swarm token rides in the URL query, and a dropped connection is re-established", async () => {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise((r) => wss.on("listening", r));
  const url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}/announce`;
  const seen: string[] = [];
  const announces: any[] = [];
  wss.on("connection", (ws, req) => {
    seen.push(req.url ?? "");
    ws.on("message", (m) => announces.push(JSON.parse(m.toString())));
    // Drop the first connection right away: the client must come back.
    if (seen.length === 1) ws.close();
  });
  const c = client([url], "-MC0001-cccccccccccc", { token: () => "h.p.s" });
  try {
    const ups: boolean[] = [];
    const twice = new Promise<void>((resolve) => c.on("state", (_u, up) => (ups.push(up), ups.filter(Boolean).length === 2 && resolve())));
    c.start();
    await twice;
    assert.deepEqual(seen, ["/announce?token=h.p.s", "/announce?token=h.p.s"]);
    await new Promise<void>((resolve) => {
      const t = setInterval(() => announces.length > 0 && (clearInterval(t), resolve()), 10);
    });
    const first = announces[0];
    assert.equal(first.action, "announce");
    assert.equal(first.info_hash, INFO_HASH);
    assert.equal(first.event, "started");
    assert.equal(first.offers.length, 1);
    assert.equal(first.offers[0].offer.type, "offer");
  } finally {
    c.stop();
    for (const ws of wss.clients) ws.terminate();
    await new Promise((r) => wss.close(r));
  }
});

test("reconnect() opens a new connection with the current token and closes the old one", async () => {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise((r) => wss.on("listening", r));
  const url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}/announce`;
  const seen: string[] = [];
  let firstClosed = false;
  wss.on("connection", (ws, req) => {
    seen.push(req.url ?? "");
    if (seen.length === 1) ws.on("close", () => (firstClosed = true));
  });
  let token = "old.token.1";
  let refused = 0;
  const c = client([url], "-MC0001-dddddddddddd", { token: () => token, onRefused: () => refused++ });
  try {
    const ups: boolean[] = [];
    const up = (n: number) =>
      new Promise<void>((resolve) => {
        const t = setInterval(() => ups.filter(Boolean).length >= n && (clearInterval(t), resolve()), 10);
      });
    c.on("state", (_u, isUp) => ups.push(isUp));
    c.start();
    await up(1);
    token = "new.token.2";
    c.reconnect();
    await up(2);
    assert.deepEqual(seen, ["/announce?token=old.token.1", "/announce?token=new.token.2"]);
    assert.deepEqual(ups, [true, false, true], "down while switching, then up again");
    await new Promise<void>((resolve) => {
      const t = setInterval(() => firstClosed && (clearInterval(t), resolve()), 10);
    });
    assert.equal(refused, 0, "a deliberate reconnect is not a refusal");
  } finally {
    c.stop();
    for (const ws of wss.clients) ws.terminate();
    await new Promise((r) => wss.close(r));
  }
});

test("tracker failures and foreign frames are reported, not trusted", async () => {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise((r) => wss.on("listening", r));
  const url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}/`;
  wss.on("connection", (ws) => {
    ws.send("not json");
    ws.send(JSON.stringify({ "failure reason": "invalid token" }));
    // An offer for another swarm and one with a malformed peer id: both ignored.
    ws.send(JSON.stringify({ action: "announce", info_hash: "\u0002".repeat(20), peer_id: "x".repeat(20), offer_id: "o".repeat(20), offer: { type: "offer", sdp: "s" } }));
    ws.send(JSON.stringify({ action: "announce", info_hash: INFO_HASH, peer_id: "\u0100".repeat(20), offer_id: "o".repeat(20), offer: { type: "offer", sdp: "s" } }));
    ws.send(JSON.stringify({ action: "announce", info_hash: INFO_HASH, peer_id: "y".repeat(20), offer_id: "o".repeat(20), offer: { type: "offer", sdp: "good" } }));
  });
  let refusals = 0;
  const c = client([url], "-MC0001-dddddddddddd", { onRefused: () => refusals++ });
  const errors: string[] = [];
  const offers: string[] = [];
  c.on("error", (e) => errors.push(e.message));
  try {
    const got = new Promise<void>((resolve) => c.on("offer", (_f, _o, sdp) => (offers.push(sdp), resolve())));
    c.start();
    await got;
    assert.deepEqual(offers, ["good"], "only the well-formed offer for our swarm");
    assert.ok(errors.some((m) => /not JSON/.test(m)));
    assert.ok(errors.some((m) => /failure reason: invalid token/.test(m)));
    assert.equal(refusals, 1, "a failure reason may mean an expired token: the owner is told");
  } finally {
    c.stop();
    for (const ws of wss.clients) ws.terminate();
    await new Promise((r) => wss.close(r));
  }
});

test("announces report connected and failed peers; swarm counts from the response reach the swarm; offers are made while connecting", async () => {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise((r) => wss.on("listening", r));
  const url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}/announce`;
  const announces: any[] = [];
  let connectedAt = 0;
  wss.on("connection", (ws) => {
    connectedAt = Date.now();
    ws.on("message", (m) => {
      const msg = JSON.parse(m.toString());
      announces.push(msg);
      ws.send(JSON.stringify({ action: "announce", info_hash: msg.info_hash, complete: 0, incomplete: 3, interval: 120 }));
    });
  });
  let offersAskedAt = 0;
  let failed = ["-MC0001-ffffffffffff", "not-a-binary-id"];
  const c = client([url], "-MC0001-dddddddddddd", {
    connectedPeers: () => 2,
    failedPeers: () => {
      const out = failed;
      failed = [];
      return out;
    },
    createOffers: async (n) => {
      offersAskedAt ||= Date.now();
      return Array.from({ length: n }, (_, i) => ({ offerId: `-MC0001-dddddddddd0${i}`, sdp: "sdp" }));
    },
  });
  try {
    const counts = new Promise<[number, number]>((resolve) => c.on("swarm", (a, b) => resolve([a, b])));
    c.start();
    assert.deepEqual(await counts, [0, 3]);
    assert.ok(offersAskedAt > 0 && offersAskedAt <= connectedAt, "offers were asked for before the socket was up");
    assert.deepEqual(announces[0].meshcdn, { peers: 2, failed: ["-MC0001-ffffffffffff"] }, "only valid ids are reported");
    assert.equal(announces[0].offers.length, 1);
    c.announceNow();
    for (let i = 0; i < 50 && announces.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(announces[1].meshcdn, { peers: 2 }, "a failure is reported once");
  } finally {
    c.stop();
    await new Promise((r) => wss.close(r));
  }
});
