/**
 * The container image run for real (tests/container_e2e.rs starts this inside the network namespace
 * of a holder container, so the containers it starts with `--network container:<holder>`, the
 * test upstream and Chromium share one private namespace: loopback ports, WebRTC on 10.213.0.1).
 *
 * One origin and edges for two PoPs, each a container of the image (`fra`: edge-a + edge-b,
 * `iad`: edge-c), placement config mounted read-only, swarm tokens signed by the origin and checked
 * by the edges against the origin's JWKS. Viewers in Chromium (two per PoP, the region header set
 * as a CDN would) get bytes from peers through the containerised edges; then:
 *   1. the `fra` primary's container is killed mid-stream: its viewers fail over to the PoP's next
 *      node, with no stall;
 *   2. it is started again, and a rolling hot upgrade of the tracker component (POST /admin/reload,
 *      one edge after the other, to a second component mounted into the containers) drops no
 *      connection and keeps every swarm;
 *   3. `docker stop` (SIGTERM) drains edge-c within the grace period: not ready any more, its viewers
 *      told to reconnect elsewhere (they move to their fallback PoP), exit code 0, no stall;
 *   4. the origin exits 0 on SIGTERM too.
 * Environment: MESHCDN_CT_IMAGE, MESHCDN_CT_HOLDER, MESHCDN_CT_PREFIX, MESHCDN_CT_DIR (a work dir),
 * DOCKER (client), MESHCDN_CT_NEXT_COMPONENT (optional host path of the component to upgrade to).
 * Exit code 0 = pass.
 */
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, copyFileSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { launchBrowser, summary, waitFor, type Viewer } from "../support/harness.js";
import { startUpstream } from "../support/upstream.js";

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (run through tests/container_e2e.rs)`);
  return v;
};
const IMAGE = env("MESHCDN_CT_IMAGE");
const HOLDER = env("MESHCDN_CT_HOLDER");
const PREFIX = env("MESHCDN_CT_PREFIX");
const DIR = env("MESHCDN_CT_DIR");
const DOCKER = process.env.DOCKER ?? "docker";
const NEXT_COMPONENT = process.env.MESHCDN_CT_NEXT_COMPONENT;
const HOST = "127.0.0.1";
const ORIGIN_PORT = 8080;
const ADMIN_TOKEN = `ct-admin-${process.pid}`;
/** The edges' `shutdown_grace_secs` and `docker stop -t`: a drain must end well within it. */
const GRACE_SECS = 20;
const REGION_HEADER = "x-meshcdn-region";
/** The runtime image's user: mounted files must be readable by it. */
const IMAGE_UID = 10001;

interface Edge {
  name: string;
  pop: "fra" | "iad";
  port: number;
  container: string;
}
const EDGES: Edge[] = [
  { name: "edge-a", pop: "fra", port: 8001, container: `${PREFIX}-edge-a` },
  { name: "edge-b", pop: "fra", port: 8002, container: `${PREFIX}-edge-b` },
  { name: "edge-c", pop: "iad", port: 8003, container: `${PREFIX}-edge-c` },
];
const ORIGIN = `${PREFIX}-origin`;
const trackerUrl = (e: Edge) => `ws://${HOST}:${e.port}/announce`;
const edgeHttp = (e: Edge) => `http://${HOST}:${e.port}`;

function docker(args: string[], timeoutMs = 120_000): string {
  return execFileSync(DOCKER, args, { encoding: "utf8", timeout: timeoutMs, stdio: ["ignore", "pipe", "pipe"] }).trim();
}

function writeConfigs(): void {
  mkdirSync(DIR, { recursive: true, mode: 0o755 });
  chmodSync(DIR, 0o755);
  const nodes = (pop: string) =>
    EDGES.filter((e) => e.pop === pop)
      .map((e) => `  { name = "${e.name}", tracker_url = "${trackerUrl(e)}" },`)
      .join("\n");
  const files: Record<string, string> = {
    "placement.toml": `region_header = "${REGION_HEADER}"
default_pop = "fra"
pop_fallbacks = 1

[[pops]]
name = "fra"
regions = ["DE"]
fallback_pop = "iad"
nodes = [
${nodes("fra")}
]

[[pops]]
name = "iad"
regions = ["US"]
fallback_pop = "fra"
nodes = [
${nodes("iad")}
]
`,
    "origin.toml": `listen = "${HOST}:${ORIGIN_PORT}"
keys_dir = "/etc/meshcdn-keys"
placement_file = "/etc/meshcdn/placement.toml"
`,
  };
  for (const e of EDGES) {
    files[`${e.name}.toml`] = `listen = "${HOST}:${e.port}"
engine = "wasm"
shards = 1
admin_token = "${ADMIN_TOKEN}"
shutdown_grace_secs = ${GRACE_SECS - 5}

[auth]
open = false
jwks = "http://${HOST}:${ORIGIN_PORT}/.well-known/jwks.json"
allow_insecure_jwks = true
`;
  }
  for (const [name, text] of Object.entries(files)) writeFileSync(join(DIR, name), text, { mode: 0o644 });
  // Signing keys, made by the image itself; readable by the image's user only.
  const keys = join(DIR, "keys");
  mkdirSync(keys, { recursive: true, mode: 0o700 });
  docker(["run", "--rm", "--network", "none", "--user", "0", "-v", `${keys}:/keys`, IMAGE, "keys", "generate", "--out", "/keys"]);
  chownSync(keys, IMAGE_UID, IMAGE_UID);
  for (const f of readdirSync(keys)) chownSync(join(keys, f), IMAGE_UID, IMAGE_UID);
  if (NEXT_COMPONENT) {
    mkdirSync(join(DIR, "next"), { recursive: true, mode: 0o755 });
    copyFileSync(NEXT_COMPONENT, join(DIR, "next", "tracker-shard.wasm"));
    chmodSync(join(DIR, "next", "tracker-shard.wasm"), 0o644);
  }
}

/** `docker run -d` in the holder's namespace, locked down as in deploy/k8s. */
function runContainer(name: string, mounts: string[], args: string[]): void {
  docker([
    "run", "-d", "--name", name, "--network", `container:${HOLDER}`,
    "--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
    "--stop-timeout", String(GRACE_SECS),
    ...mounts.flatMap((m) => ["-v", m]),
    IMAGE, ...args,
  ]);
}

function startEdgeContainer(e: Edge): void {
  const mounts = [`${join(DIR, `${e.name}.toml`)}:/etc/meshcdn/edge.toml:ro`];
  if (NEXT_COMPONENT) mounts.push(`${join(DIR, "next")}:/usr/lib/meshcdn/next:ro`);
  runContainer(e.container, mounts, ["edge", "--config", "/etc/meshcdn/edge.toml"]);
}

async function getJson(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body };
}

const ready = async (base: string) => (await getJson(`${base}/health/ready`).catch(() => ({ status: 0 }))).status === 200;
const connections = async (e: Edge): Promise<number> => (await getJson(`${edgeHttp(e)}/health`)).body.connections;
async function metric(e: Edge, name: string): Promise<number> {
  const text = await (await fetch(`${edgeHttp(e)}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`${e.name}: no metric ${name}`);
  return Number(line.split(" ")[1]);
}
// `/stats` lists swarm ids: admin token only.
const stats = async (e: Edge) =>
  (await getJson(`${edgeHttp(e)}/stats`, { authorization: `Bearer ${ADMIN_TOKEN}` })).body as { peers: number; swarm_count: number };

async function openViewer(browser: Browser, origin: string, region: string): Promise<Viewer> {
  // The CDN in front of the origin sets the region header (docs/deploy.md); here the browser does.
  const context = await browser.newContext({ extraHTTPHeaders: { [REGION_HEADER]: region } });
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error(`[page error ${region}] ${e.message}`));
  const q = new URLSearchParams({ src: `${origin}/live/master.m3u8`, config: "{}" });
  await page.goto(`${origin}/page.html?${q}`);
  return { context, page, snapshot: () => page.evaluate(() => (window as any).__viewer.snapshot()) };
}

const segs = async (v: Viewer) => (await v.snapshot()).stats.segments.length;
const trackerDrops = async (v: Viewer) =>
  (await v.snapshot()).events.filter((e) => e.ev === "tracker-state" && /"connected":false/.test(e.detail ?? "")).length;

/** Waits until every viewer has played `more` segments beyond now, and checks none stalled. */
async function playsOnWithoutStall(what: string, viewers: [string, Viewer][], more: number): Promise<void> {
  const before = await Promise.all(viewers.map(async ([, v]) => ({ segs: await segs(v), stalls: (await v.snapshot()).stalls })));
  await waitFor(`${what}: every viewer to play ${more} more segments`, async () => {
    const now = await Promise.all(viewers.map(([, v]) => segs(v)));
    return now.every((n, i) => n >= before[i]!.segs + more);
  }, 90_000);
  for (const [i, [name, v]] of viewers.entries()) {
    const s = await v.snapshot();
    if (s.stalls !== before[i]!.stalls) throw new Error(`${what}: ${name} stalled: ${s.stallLog.join(" | ")}`);
  }
}

function check(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

let failed = false;
const upstream = await startUpstream({ host: HOST });
let browser: Browser | undefined;
const containers = [ORIGIN, ...EDGES.map((e) => e.container)];
try {
  writeConfigs();
  runContainer(
    ORIGIN,
    [`${join(DIR, "origin.toml")}:/etc/meshcdn/origin.toml:ro`, `${join(DIR, "placement.toml")}:/etc/meshcdn/placement.toml:ro`, `${join(DIR, "keys")}:/etc/meshcdn-keys:ro`],
    ["origin", "--config", "/etc/meshcdn/origin.toml", "--upstream", upstream.url],
  );
  const origin = `http://${HOST}:${ORIGIN_PORT}`;
  await waitFor("the origin container to be ready", () => ready(origin), 60_000);
  for (const e of EDGES) startEdgeContainer(e);
  for (const e of EDGES) await waitFor(`${e.name} to be ready`, () => ready(edgeHttp(e)), 90_000);
  const live = await getJson(`${edgeHttp(EDGES[0]!)}/health/live`);
  check(live.status === 200, `liveness: ${JSON.stringify(live)}`);
  console.log(`# containers up: ${containers.join(", ")} (image ${IMAGE})`);

  browser = await launchBrowser();
  const viewers: [string, Viewer][] = [];
  for (const region of ["DE", "DE", "US", "US"]) {
    viewers.push([`${region}${viewers.filter(([n]) => n.startsWith(region)).length + 1}`, await openViewer(browser, origin, region)]);
  }
  const de = viewers.filter(([n]) => n.startsWith("DE"));
  const us = viewers.filter(([n]) => n.startsWith("US"));
  const [edgeA, edgeB, edgeC] = EDGES as [Edge, Edge, Edge];

  // Each PoP's viewers meet on one node of their PoP and trade segments through it.
  await waitFor("every viewer to play and reach its tracker", async () => {
    const s = await Promise.all(viewers.map(([, v]) => v.snapshot()));
    return s.every((x) => x.started && x.stats.trackerConnected);
  }, 90_000);
  const counts = await Promise.all(EDGES.map(connections));
  console.log(`# connections per edge: ${EDGES.map((e, i) => `${e.name}=${counts[i]}`).join(" ")}`);
  check(counts[2] === 2, `both US viewers on edge-c (iad): ${counts}`);
  check((counts[0] === 2 && counts[1] === 0) || (counts[0] === 0 && counts[1] === 2), `both DE viewers on one fra node: ${counts}`);
  const [primary, secondary] = counts[0] === 2 ? [edgeA, edgeB] : [edgeB, edgeA];
  for (const [pop, pair] of [["fra", de], ["iad", us]] as const) {
    await waitFor(`a ${pop} viewer to get bytes from its peer`, async () => {
      const s = await Promise.all(pair.map(([, v]) => v.snapshot()));
      return s.some((x) => x.stats.p2pBytes > 0);
    }, 120_000);
  }
  for (const [name, v] of viewers) console.log(`# ${summary(name, await v.snapshot())}`);

  // 1. The fra primary dies mid-stream: its viewers fail over to the PoP's next node, no stall.
  docker(["kill", primary.container]);
  console.log(`# killed ${primary.name} (${primary.container})`);
  await waitFor(`both DE viewers to fail over to ${secondary.name}`, async () => (await connections(secondary)) === 2, 60_000);
  await waitFor("the DE viewers to be connected again", async () => {
    const s = await Promise.all(de.map(([, v]) => v.snapshot()));
    return s.every((x) => x.stats.trackerConnected);
  }, 30_000);
  await playsOnWithoutStall(`after killing ${primary.name}`, viewers, 3);
  console.log(`# failover: DE viewers on ${secondary.name}, no stall`);

  // 2. The killed node comes back; then a rolling hot upgrade of every edge drops no connection.
  docker(["start", primary.container]);
  await waitFor(`${primary.name} to be ready again`, () => ready(edgeHttp(primary)), 90_000);
  const dropsBefore = await Promise.all(viewers.map(([, v]) => trackerDrops(v)));
  const body = JSON.stringify(NEXT_COMPONENT ? { component: "/usr/lib/meshcdn/next/tracker-shard.wasm" } : {});
  for (const e of EDGES) {
    const [conns, total, peers] = [await connections(e), await metric(e, "meshcdn_edge_connections_total"), (await stats(e)).peers];
    const res = await fetch(`${edgeHttp(e)}/admin/reload`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body,
      signal: AbortSignal.timeout(60_000),
    });
    const answer = await res.text();
    check(res.status === 200 && answer.includes("reloaded"), `${e.name} reload: ${res.status} ${answer}`);
    check(await ready(edgeHttp(e)), `${e.name} ready after the upgrade`);
    const after = [await connections(e), await metric(e, "meshcdn_edge_connections_total"), (await stats(e)).peers];
    check(after[0] === conns && after[1] === total, `${e.name}: connections ${conns}/${total} before, ${after[0]}/${after[1]} after the upgrade`);
    check(after[2] === peers, `${e.name}: ${peers} peers before the upgrade, ${after[2]} after (swarm state kept)`);
    check((await metric(e, "meshcdn_edge_reloads_total")) >= 1, `${e.name}: reload counted`);
    console.log(`# ${e.name}: hot upgrade kept ${conns} connections and ${peers} peers (${answer.trim()})`);
  }
  const dropsAfter = await Promise.all(viewers.map(([, v]) => trackerDrops(v)));
  check(dropsAfter.every((d, i) => d === dropsBefore[i]), `no viewer lost its tracker during the upgrade: ${dropsBefore} -> ${dropsAfter}`);
  await playsOnWithoutStall("after the rolling upgrade", viewers, 2);

  // 3. SIGTERM drains edge-c within the grace period; its viewers move to their fallback (fra's
  // top node for the content: the one that was killed and came back).
  const stopStart = Date.now();
  // docker stop: SIGTERM, then SIGKILL after -t seconds.
  const stopping = new Promise<void>((resolve, reject) => {
    execFile(DOCKER, ["stop", "-t", String(GRACE_SECS), edgeC.container], { timeout: (GRACE_SECS + 30) * 1000 }, (err) => (err ? reject(err) : resolve()));
  });
  await waitFor("edge-c to report not ready while draining (or be gone)", async () => !(await ready(edgeHttp(edgeC))), 10_000, 50);
  await stopping;
  const stopSecs = (Date.now() - stopStart) / 1000;
  const exitCode = Number(docker(["inspect", "-f", "{{.State.ExitCode}}", edgeC.container]));
  const tail = spawnSync(DOCKER, ["logs", "--tail", "20", edgeC.container], { encoding: "utf8", timeout: 30_000 });
  const logs = `${tail.stdout ?? ""}${tail.stderr ?? ""}`;
  console.log(`# edge-c stopped in ${stopSecs.toFixed(1)} s, exit code ${exitCode}`);
  check(exitCode === 0, `edge-c exited ${exitCode} (137 = killed after the grace period): ${logs}`);
  check(stopSecs < GRACE_SECS, `edge-c drained in ${stopSecs} s, grace ${GRACE_SECS} s`);
  await waitFor(`the US viewers to reconnect to ${primary.name} (iad's fallback)`, async () => (await connections(primary)) === 2, 60_000);
  await playsOnWithoutStall("after draining edge-c", viewers, 3);

  // 4. The origin drains on SIGTERM as well.
  const originStart = Date.now();
  docker(["stop", "-t", String(GRACE_SECS), ORIGIN], (GRACE_SECS + 30) * 1000);
  const originCode = Number(docker(["inspect", "-f", "{{.State.ExitCode}}", ORIGIN]));
  const originSecs = (Date.now() - originStart) / 1000;
  console.log(`# origin stopped in ${originSecs.toFixed(1)} s, exit code ${originCode}`);
  check(originCode === 0 && originSecs < GRACE_SECS, `origin exited ${originCode} after ${originSecs} s`);
  for (const [name, v] of viewers) console.log(`# ${summary(name, await v.snapshot())}`);
  console.log("container e2e: passed");
} catch (e) {
  failed = true;
  console.error(`container e2e: FAILED: ${(e as Error).stack ?? e}`);
  for (const c of containers) {
    const logs = spawnSync(DOCKER, ["logs", "--tail", "40", c], { encoding: "utf8", timeout: 30_000 });
    console.error(`--- docker logs ${c}:\n${logs.stdout ?? ""}${logs.stderr ?? ""}`);
  }
} finally {
  await browser?.close().catch(() => undefined);
  for (const c of containers) {
    try {
      docker(["rm", "-f", c]);
    } catch {
      // not there
    }
  }
  await upstream.close();
}
process.exit(failed ? 1 : 0);
