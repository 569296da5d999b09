/**
 * Connectivity pieces without a browser: which ICE servers are used, the bootstrap's `ice` list,
 * reading the selected candidate pair from stats reports as Chromium and Firefox shape them, the
 * connection totals.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeBootstrap, parseBootstrap, type Bootstrap } from "../../src/core/bootstrap.js";
import { resolveConfig } from "../../src/core/config.js";
import { ConnectionStats, pairType, selectedPair } from "../../src/core/connection-stats.js";
import { BootstrapError } from "../../src/core/errors.js";
import { DEFAULT_ICE_SERVERS, resolveIceServers } from "../../src/core/webrtc.js";

const base: Bootstrap = {
  v: 1,
  content: "live/sample",
  trackers: ["ws://127.0.0.1:8000/announce"],
  token: null,
  swarms: { "360p/index.m3u8": "ab".repeat(20) },
  integrity: "sha256-tags",
};

test("ICE servers: the page's override, else the bootstrap's, else the public STUN default", () => {
  const fromOrigin: RTCIceServer[] = [{ urls: ["turn:t.example:3478"], username: "1:a", credential: "c" }];
  const fromPage: RTCIceServer[] = [{ urls: "stun:page.example:3478" }];
  assert.deepEqual(resolveIceServers(fromPage, fromOrigin), fromPage);
  assert.deepEqual(resolveIceServers([], fromOrigin), [], "an empty override means none");
  assert.deepEqual(resolveIceServers(null, fromOrigin), fromOrigin);
  assert.deepEqual(resolveIceServers(null, []), [], "the origin can say none");
  const def = resolveIceServers(null, undefined);
  assert.deepEqual(def, DEFAULT_ICE_SERVERS);
  assert.match(String((def[0].urls as string[])[0]), /^stun:/);
  (def[0].urls as string[]).push("stun:mutated");
  assert.equal((DEFAULT_ICE_SERVERS[0].urls as string[]).length, 1, "callers get a copy");
  assert.equal(resolveConfig().iceServers, null, "default config: not overridden");
  assert.throws(() => resolveConfig({ iceServers: "stun:x" as unknown as RTCIceServer[] }), /iceServers/);
  assert.throws(() => resolveConfig({ iceServers: [{}] as unknown as RTCIceServer[] }), /iceServers/);
  assert.deepEqual(resolveConfig({ iceServers: fromPage }).iceServers, fromPage);
});

test("the bootstrap's ice list is read and bad entries are clear errors", () => {
  const ice = [
    { urls: ["stun:turn.example.com:3478"] },
    { urls: ["turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:5349?transport=tcp"], username: "1800000000:0a1b", credential: "abc=" },
  ];
  assert.deepEqual(parseBootstrap(encodeBootstrap({ ...base, ice })).ice, ice);
  assert.equal(parseBootstrap(encodeBootstrap(base)).ice, undefined, "older origins send none");
  assert.deepEqual(parseBootstrap(encodeBootstrap({ ...base, ice: [{ urls: "stun:s:3478" }] })).ice, [{ urls: ["stun:s:3478"] }]);
  const bad = (value: unknown, re: RegExp) =>
    assert.throws(() => parseBootstrap(encodeBootstrap({ ...base, ice: value as RTCIceServer[] })), (e: unknown) => e instanceof BootstrapError && re.test(e.message));
  bad({}, /must be an array/);
  bad(["stun:x"], /must be an object/);
  bad([{ urls: [] }], /urls/);
  bad([{ urls: ["http://x"] }], /urls/);
  bad([{ urls: ["stun://x"] }], /urls/);
  bad([{ urls: ["turn:t:3478"] }], /username and credential/);
  bad([{ urls: ["turn:t:3478"], username: 1, credential: "c" }], /username must be a string/);
});

/** A stats report shaped like Chromium's: transport → selected pair → candidates. */
function chromiumReport(local: Record<string, unknown>, remote: Record<string, unknown>): Map<string, Record<string, unknown>> {
  return new Map<string, Record<string, unknown>>([
    ["T01", { id: "T01", type: "transport", selectedCandidatePairId: "CPab" }],
    ["CPzz", { id: "CPzz", type: "candidate-pair", localCandidateId: "Ix", remoteCandidateId: "Iy", state: "failed" }],
    ["CPab", { id: "CPab", type: "candidate-pair", localCandidateId: "Ia", remoteCandidateId: "Ib", state: "succeeded", nominated: true }],
    ["Ia", { id: "Ia", type: "local-candidate", ...local }],
    ["Ib", { id: "Ib", type: "remote-candidate", ...remote }],
    ["Ix", { id: "Ix", type: "local-candidate", candidateType: "host", protocol: "udp" }],
    ["Iy", { id: "Iy", type: "remote-candidate", candidateType: "host", protocol: "udp" }],
  ]);
}

test("the selected candidate pair is read from Chromium- and Firefox-shaped stats", () => {
  const relay = selectedPair(chromiumReport({ candidateType: "relay", protocol: "udp", relayProtocol: "tcp", address: "198.51.100.1" }, { candidateType: "srflx", address: "198.51.100.11" }));
  assert.deepEqual(relay, { localType: "relay", remoteType: "srflx", protocol: "udp", relayProtocol: "tcp", localAddress: "198.51.100.1", remoteAddress: "198.51.100.11" });
  assert.equal(pairType(relay!), "relay");
  const nat = selectedPair(chromiumReport({ candidateType: "host", protocol: "udp", relayProtocol: "udp" }, { candidateType: "prflx", ip: "198.51.100.12" }));
  assert.equal(nat!.relayProtocol, null, "only relayed candidates have a relay protocol");
  assert.equal(nat!.remoteAddress, "198.51.100.12", "older browsers: ip instead of address");
  assert.equal(pairType(nat!), "prflx");
  assert.equal(pairType({ localType: "host", remoteType: "srflx" }), "srflx");
  assert.equal(pairType({ localType: "prflx", remoteType: "srflx" }), "srflx");
  assert.equal(pairType({ localType: "host", remoteType: "host" }), "host");
  // Firefox: no selectedCandidatePairId, the pair says `selected`.
  const firefox = new Map<string, Record<string, unknown>>([
    ["p1", { id: "p1", type: "candidate-pair", localCandidateId: "l", remoteCandidateId: "r", selected: true, state: "succeeded" }],
    ["l", { id: "l", type: "local-candidate", candidateType: "srflx", protocol: "udp" }],
    ["r", { id: "r", type: "remote-candidate", candidateType: "host", protocol: "udp" }],
  ]);
  assert.equal(pairType(selectedPair(firefox)!), "srflx");
  // Nothing selected yet, or broken references: no pair.
  assert.equal(selectedPair(new Map([["p", { id: "p", type: "candidate-pair", state: "in-progress" }]])), null);
  assert.equal(selectedPair(chromiumReport({ candidateType: "bogus" }, { candidateType: "host" })), null);
  assert.equal(selectedPair(new Map()), null);
});

test("connection totals count outcomes by pair type, failures and time to open", async () => {
  let now = 1000;
  const stats = new ConnectionStats(() => now);
  const pc = (local: string, remote: string) => ({ getStats: async () => chromiumReport({ candidateType: local, protocol: "udp" }, { candidateType: remote }) });
  const a = stats.begin("s1", "aa".repeat(20), "offerer");
  now += 120;
  let bytes = { received: 5, sent: 7 };
  await a.opened(pc("host", "srflx"), () => bytes);
  const b = stats.begin("s1", "bb".repeat(20), "answerer");
  now += 30;
  await b.opened(pc("relay", "srflx"), () => ({ received: 0, sent: 0 }));
  const c = stats.begin("s1", "cc".repeat(20), "offerer");
  c.failed("failed");
  c.failed("timeout"); // only the first outcome counts
  await c.opened(pc("host", "host"), () => ({ received: 0, sent: 0 }));
  const d = stats.begin("s2", "dd".repeat(20), "answerer");
  d.failed("timeout");
  const t = stats.totals();
  assert.deepEqual([t.attempts, t.opened, t.failed], [4, 2, 2]);
  assert.deepEqual(t.byType, { host: 0, srflx: 1, prflx: 0, relay: 1 });
  assert.equal(t.meanTimeToOpenMs, (120 + 30) / 2);
  assert.deepEqual(t.recent.map((r) => [r.peerId.slice(0, 2), r.state, r.pairType, r.failure]), [
    ["aa", "open", "srflx", null],
    ["bb", "open", "relay", null],
    ["cc", "failed", null, "failed"],
    ["dd", "failed", null, "timeout"],
  ]);
  assert.deepEqual([t.recent[0].bytesReceived, t.recent[0].bytesSent], [5, 7]);
  bytes = { received: 50, sent: 70 };
  a.closed();
  bytes = { received: 999, sent: 999 };
  const after = stats.totals().recent[0];
  assert.deepEqual([after.state, after.bytesReceived, after.bytesSent], ["closed", 50, 70], "bytes frozen at close");
  for (let i = 0; i < 60; i++) stats.begin("s4", "ff".repeat(20), "offerer");
  assert.equal(stats.totals().recent.length, 50, "recent records are bounded");
});

test("a switch of the selected pair after opening updates the record and the totals", async () => {
  const stats = new ConnectionStats(() => 0);
  const iceTransport = new EventTarget();
  let local = "relay";
  const pc = { getStats: async () => chromiumReport({ candidateType: local, protocol: "udp" }, { candidateType: "host" }), sctp: { transport: { iceTransport } } };
  const a = stats.begin("s", "aa".repeat(20), "offerer");
  await a.opened(pc, () => ({ received: 0, sent: 0 }));
  assert.equal(stats.totals().byType.relay, 1);
  local = "host";
  iceTransport.dispatchEvent(new Event("selectedcandidatepairchange"));
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(stats.totals().byType, { host: 1, srflx: 0, prflx: 0, relay: 0 });
  assert.equal(stats.totals().recent[0].pairType, "host");
  a.closed();
  local = "relay";
  iceTransport.dispatchEvent(new Event("selectedcandidatepairchange"));
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(stats.totals().recent[0].pairType, "host", "not watched after close");
});
