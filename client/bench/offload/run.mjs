#!/usr/bin/env node
// The offload benchmark (docs/benchmarks.md): plain hls.js vs hls.js + p2p-media-loader vs
// hls.js + meshcdn, N viewers in real Chromium, VOD and live, side by side in one run.
// Needs root (a network namespace: WebRTC in headless Chromium needs a default route, and
// nothing may leave the machine), the built meshcdn binary (scripts/setup.sh) and ffmpeg.
//
//   sudo node client/bench/offload/run.mjs            # VOD + live, 3 and 6 viewers, all three systems
//   OFFLOAD_MODES=vod OFFLOAD_VIEWERS=3 OFFLOAD_SYSTEMS=plain,mesh node client/bench/offload/run.mjs
//   OFFLOAD_SYSTEMS=shaka,shaka-pml,shaka-mesh node client/bench/offload/run.mjs   # Shaka Player on the DASH stream
//
// First run: installs the comparison players (npm p2p-media-loader-core/-hlsjs/-shaka 2.x) into
// client/bench/offload/node_modules, bundles them, and makes the 120 s 240p stream with
// scripts/make-media.sh (MEDIA_DURATION=120; HLS, and DASH for the Shaka rows) under $MESHCDN_CACHE (or ~/.cache/meshcdn).
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

const here = new URL(".", import.meta.url).pathname;
const client = join(here, "..", "..");
const repo = join(client, "..");
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { stdio: "inherit", ...opts });

if (process.getuid?.() !== 0) {
  console.error("offload: run as root (it creates a network namespace)");
  process.exit(1);
}
if (!existsSync(join(here, "node_modules", "p2p-media-loader-hlsjs")) || !existsSync(join(here, "node_modules", "p2p-media-loader-shaka"))) {
  run("npm", ["install", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"], { cwd: here });
}
run(join(client, "node_modules", ".bin", "esbuild"), [
  "pml-entry.mjs", "--bundle", "--format=iife", "--platform=browser", "--define:global=globalThis",
  "--log-level=warning", "--outfile=dist/pml.js",
], { cwd: here });
run(join(client, "node_modules", ".bin", "esbuild"), [
  "pml-shaka-entry.mjs", "--bundle", "--format=iife", "--platform=browser", "--define:global=globalThis",
  "--log-level=warning", "--outfile=dist/pml-shaka.js",
], { cwd: here });
run("npm", ["run", "--silent", "build"], { cwd: client });

const cache = process.env.MESHCDN_CACHE ?? join(process.env.HOME ?? "/root", ".cache", "meshcdn");
const mediaRoot = join(cache, "offload-media");
const media = join(mediaRoot, "hls-ts", "240p");
if (!existsSync(media) || readdirSync(media).filter((f) => f.endsWith(".ts")).length < 60) {
  run(join(repo, "scripts", "make-media.sh"), [mediaRoot], { env: { ...process.env, MEDIA_DURATION: "120", MEDIA_FORMATS: "hls-ts" } });
}

const dashMedia = join(mediaRoot, "dash");
if (!existsSync(join(dashMedia, "manifest.mpd")) || readdirSync(dashMedia).filter((f) => f.endsWith(".m4s")).length < 120) {
  run(join(repo, "scripts", "make-media.sh"), [mediaRoot], { env: { ...process.env, MEDIA_DURATION: "120", MEDIA_FORMATS: "dash" } });
}

const ns = process.env.OFFLOAD_NETNS ?? `mcdn-sched-offload-${process.pid}`;
const netns = join(repo, "scripts", "netns.sh");
let cleaned = false;
const cleanup = () => {
  if (cleaned) return;
  cleaned = true;
  try {
    execFileSync(netns, ["delete", ns], { stdio: "ignore" });
  } catch {
    // already gone
  }
};
let child;
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    child?.kill("SIGTERM");
    cleanup();
    process.exit(130);
  });
}
execFileSync(netns, ["create", ns], { stdio: ["ignore", "ignore", "inherit"] });
child = spawn("ip", ["netns", "exec", ns, process.execPath, "--import", "tsx", join(here, "bench.ts")], {
  cwd: client,
  stdio: "inherit",
  env: { ...process.env, OFFLOAD_MEDIA: media, OFFLOAD_DASH_MEDIA: dashMedia },
});
child.on("exit", (code, signal) => {
  cleanup();
  process.exit(code ?? (signal ? 1 : 0));
});
