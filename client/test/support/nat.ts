/**
 * The NAT topology of scripts/nat-topology.sh for browser tests: namespaces up (and down on exit,
 * also when the test fails or is killed), a real coturn in the public namespace, and Chromium
 * launched inside a viewer namespace with its default WebRTC privacy (mDNS host candidates on).
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { CHROMIUM_ARGS } from "./harness.js";
import { run, type Proc } from "./meshcdn.js";

const SCRIPT = new URL("../../../scripts/nat-topology.sh", import.meta.url).pathname;

export interface Topology {
  /** NAME=VALUE lines the script printed (PUBLIC_NS, PUBLIC_ADDR, CALLER_ADDR, VIEWER_a1, …). */
  env: Record<string, string>;
  /** Command prefix running a program inside namespace `ns`. */
  wrap(ns: string): string[];
  down(): void;
}

/** Builds the topology; it is torn down by `down()`, or at the latest when this process exits. */
export function topologyUp(): Topology {
  const id = (process.pid % 100_000_000).toString(36);
  let isUp = true;
  const down = () => {
    if (!isUp) return;
    isUp = false;
    try {
      execFileSync(SCRIPT, ["down", id], { stdio: "ignore" });
    } catch {
      // already gone
    }
  };
  process.once("exit", down);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(sig, () => {
      down();
      process.exit(130);
    });
  }
  let out: string;
  try {
    out = execFileSync(SCRIPT, ["up", id], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  } catch (e) {
    down();
    throw new Error(`scripts/nat-topology.sh up failed: ${(e as Error).message}`);
  }
  const env: Record<string, string> = {};
  for (const line of out.split("\n")) {
    const m = /^([A-Za-z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) env[m[1]] = m[2];
  }
  return { env, wrap: (ns) => ["ip", "netns", "exec", ns], down };
}

function tcpOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host, port, timeout: 1000 });
    const done = (ok: boolean) => (sock.destroy(), resolve(ok));
    sock.once("connect", () => done(true));
    sock.once("error", () => done(false));
    sock.once("timeout", () => done(false));
  });
}

export interface Coturn {
  proc: Proc;
  secret: string;
  /** The `[ice]` section of the origin config naming this server. */
  iceToml: string;
  close(): Promise<void>;
}

/**
 * coturn (`turnserver`, Debian package coturn) on `addr`:3478 UDP and TCP inside `ns`, with TURN
 * REST credentials (`use-auth-secret`) and a fresh secret; relays only on `addr`.
 */
export async function startCoturn(topology: Topology, ns: string, addr: string): Promise<Coturn> {
  if (!existsSync("/usr/bin/turnserver")) throw new Error("no /usr/bin/turnserver: run scripts/setup.sh (Debian package coturn)");
  const dir = mkdtempSync(join(tmpdir(), "meshcdn-nat-coturn-"));
  const secret = randomBytes(16).toString("hex");
  const conf = join(dir, "turnserver.conf");
  writeFileSync(
    conf,
    [
      `listening-ip=${addr}`,
      `relay-ip=${addr}`,
      "listening-port=3478",
      "min-port=49152",
      "max-port=49999",
      "use-auth-secret",
      `static-auth-secret=${secret}`,
      "realm=meshcdn.test",
      "fingerprint",
      "no-tls",
      "no-dtls",
      "no-cli",
      "no-multicast-peers",
      `userdb=${join(dir, "turndb")}`,
      `pidfile=${join(dir, "turnserver.pid")}`,
      "log-file=stdout",
      "simple-log",
      "",
    ].join("\n"),
  );
  chmodSync(conf, 0o600);
  const proc = run("/usr/bin/turnserver", ["-c", conf], "coturn", topology.wrap(ns));
  // Ready when its TCP listener accepts (it has no health endpoint; UDP opens with it).
  const deadline = Date.now() + 20_000;
  while (!(await tcpOpen(addr, 3478))) {
    if (proc.child.exitCode !== null) throw new Error(`coturn exited with ${proc.child.exitCode}: ${proc.tail()}`);
    if (Date.now() > deadline) throw new Error(`coturn did not come up: ${proc.tail()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const iceToml = [
    `stun = ["stun:${addr}:3478"]`,
    "[[ice.turn]]",
    `urls = ["turn:${addr}:3478?transport=udp", "turn:${addr}:3478?transport=tcp"]`,
    `secret = "${secret}"`,
  ].join("\n");
  return {
    proc,
    secret,
    iceToml,
    close: async () => {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Chromium inside namespace `ns`, with the browser's default WebRTC privacy: host candidates are
 * mDNS names (`<uuid>.local`), unlike the flat-network tests that turn that off.
 */
export async function launchBrowserIn(topology: Topology, ns: string): Promise<Browser> {
  const dir = mkdtempSync(join(tmpdir(), "meshcdn-nat-chromium-"));
  const wrapper = join(dir, "chromium");
  writeFileSync(wrapper, `#!/bin/sh\nexec ${topology.wrap(ns).join(" ")} /usr/bin/chromium "$@"\n`);
  chmodSync(wrapper, 0o755);
  const args = CHROMIUM_ARGS.filter((a) => !a.startsWith("--disable-features=WebRtcHideLocalIpsWithMdns"));
  const browser = await chromium.launch({ executablePath: wrapper, headless: true, args });
  browser.on("disconnected", () => rmSync(dir, { recursive: true, force: true }));
  return browser;
}
