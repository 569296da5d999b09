/**
 * Runs the real `meshcdn edge` (tracker) and `meshcdn origin` (manifest rewriting) for the browser
 * tests. There are no stand-ins: without a built binary the tests fail and say how to build it.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createServer } from "node:net";
import { join } from "node:path";

export interface MeshcdnParts {
  bin: string;
  /** The cargo target dir the binary came from (the guest component lives there too). */
  target: string;
  edge: boolean;
  origin: boolean;
  edgeHelp: string;
  originHelp: string;
}

/** The built meshcdn binary (`$MESHCDN_BIN`, else `$CARGO_TARGET_DIR/debug/meshcdn`). */
export function meshcdnParts(): MeshcdnParts {
  const target = process.env.CARGO_TARGET_DIR ?? join(process.env.HOME ?? "/root", ".cache", "meshcdn", "target");
  const bin = process.env.MESHCDN_BIN ?? join(target, "debug", "meshcdn");
  if (!existsSync(bin)) throw new Error(`no meshcdn binary at ${bin}: run scripts/setup.sh (or set MESHCDN_BIN)`);
  const help = (sub: string) => spawnSync(bin, [sub, "--help"], { encoding: "utf8", timeout: 10_000 }).stdout ?? "";
  const edgeHelp = help("edge");
  const originHelp = help("origin");
  const parts = { bin, target, edge: edgeHelp.includes("--listen"), origin: originHelp.includes("--upstream"), edgeHelp, originHelp };
  if (!parts.edge || !parts.origin) throw new Error(`${bin} lacks \`meshcdn edge\` or \`meshcdn origin\`: rebuild it`);
  return parts;
}

export async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, host, () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface Proc {
  child: ChildProcess;
  /** The last output lines, for failure messages. */
  tail(): string;
  stop(): Promise<void>;
}

/** Runs `bin args`; with `wrap` (e.g. `["ip", "netns", "exec", NS]`) as `wrap… bin args`. */
export function run(bin: string, args: string[], name: string, wrap: string[] = []): Proc {
  const [cmd, ...cmdArgs] = [...wrap, bin, ...args];
  const child = spawn(cmd, cmdArgs, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? "warn" } });
  let out = "";
  const log = (d: Buffer) => {
    out = (out + d.toString()).slice(-4000);
    if (process.env.MESHCDN_E2E_VERBOSE) process.stderr.write(`[${name}] ${d}`);
  };
  child.stdout!.on("data", log);
  child.stderr!.on("data", log);
  return {
    child,
    tail: () => `${name} (${[bin, ...args].join(" ")}): ${out}`,
    stop: () => {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      return new Promise((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
        setTimeout(() => child.kill("SIGKILL"), 5000).unref();
      });
    },
  };
}

/** Waits until `url` answers (any status below 500), the process exits, or `timeoutMs` passes. */
export async function waitHttp(url: string, proc: Proc, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.child.exitCode !== null) throw new Error(`exited with ${proc.child.exitCode}: ${proc.tail()}`);
    try {
      const res = await fetch(url);
      if (res.status < 500) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not come up within ${timeoutMs} ms: ${proc.tail()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * `meshcdn edge`: open, or verifying swarm tokens against `jwksFile`; the wasm engine when the
 * guest component is built, else native.
 */
export async function startEdge(
  parts: MeshcdnParts,
  host: string,
  jwksFile: string | null,
  where: { wrap?: string[]; port?: number } = {},
): Promise<{ url: string; proc: Proc; engine: string }> {
  const port = where.port ?? (await freePort(host));
  const component = process.env.MESHCDN_COMPONENT ?? join(parts.target, "tracker-shard.wasm");
  const engine = process.env.MESHCDN_E2E_ENGINE ?? (existsSync(component) ? "wasm" : "native");
  const args = ["edge", "--listen", `${host}:${port}`, "--engine", engine, ...(jwksFile ? ["--jwks", jwksFile] : ["--open"])];
  if (engine === "wasm") args.push("--component", component);
  const proc = run(parts.bin, args, `edge/${engine}`, where.wrap);
  await waitHttp(`http://${host}:${port}/health`, proc, 30_000);
  return { url: `ws://${host}:${port}/announce`, proc, engine };
}

/** A fresh signing key and its JWKS file (`meshcdn keys generate` / `keys jwks`). */
export function makeKeys(parts: MeshcdnParts): { keysDir: string; jwksFile: string; remove(): void } {
  const keysDir = mkdtempSync(join(tmpdir(), "meshcdn-client-e2e-keys-"));
  const gen = spawnSync(parts.bin, ["keys", "generate", "--out", keysDir], { encoding: "utf8", timeout: 30_000 });
  if (gen.status !== 0) throw new Error(`meshcdn keys generate failed: ${gen.stderr}`);
  const jwks = spawnSync(parts.bin, ["keys", "jwks", "--keys", keysDir], { encoding: "utf8", timeout: 30_000 });
  if (jwks.status !== 0) throw new Error(`meshcdn keys jwks failed: ${jwks.stderr}`);
  const jwksFile = join(keysDir, "e2e-jwks.json");
  writeFileSync(jwksFile, jwks.stdout);
  return { keysDir, jwksFile, remove: () => rmSync(keysDir, { recursive: true, force: true }) };
}

export interface OriginOptions {
  /** Per-viewer swarm tokens valid this long (origin `[tokens] ttl_secs`). */
  tokenTtlSecs?: number;
  /**
   * The origin config's `[ice]` section (TOML body). Default: an empty section, so viewers use no
   * STUN/TURN at all: the flat test network has no route to a public STUN server.
   */
  iceToml?: string;
  /** Command prefix to run the origin with (e.g. inside a network namespace). */
  wrap?: string[];
  /** Port to listen on (default: one free here; pass one when `wrap` runs it elsewhere). */
  port?: number;
}

/** `meshcdn origin` as a reverse proxy in front of `upstreamUrl`, issuing swarm tokens with `keysDir`. */
export async function startOrigin(
  parts: MeshcdnParts,
  host: string,
  upstreamUrl: string,
  trackerUrls: string[],
  keysDir: string,
  opts: OriginOptions = {},
): Promise<{ url: string; proc: Proc }> {
  const port = opts.port ?? (await freePort(host));
  const args = ["origin", "--upstream", upstreamUrl, "--listen", `${host}:${port}`, ...trackerUrls.flatMap((t) => ["--tracker", t]), "--keys", keysDir];
  let toml = `[ice]\n${opts.iceToml ?? ""}\n`;
  if (opts.tokenTtlSecs !== undefined) {
    // Per-viewer tokens: each master playlist fetch gets one that lives tokenTtlSecs from then.
    toml += `[tokens]\nscope = "per-viewer"\nttl_secs = ${opts.tokenTtlSecs}\n`;
  }
  const config = join(keysDir, "origin.toml");
  writeFileSync(config, toml);
  args.push("--config", config);
  const proc = run(parts.bin, args, "origin", opts.wrap);
  const url = `http://${host}:${port}`;
  await waitHttp(`${url}/live/master.m3u8`, proc, 30_000);
  return { url, proc };
}
