#!/usr/bin/env node
// Runs the browser end-to-end tests inside a network namespace made for this run (WebRTC in
// headless Chromium needs an interface with a default route; nothing may leave the machine):
// lo + a veth pair with both ends inside, 10.213.0.1/24 and 10.213.0.2/24, default route via .2.
// Servers, Chromium and the test runner all run inside; the namespace is deleted afterwards, also
// on failure or Ctrl-C. Needs root (ip netns). Usage: [MESHCDN_E2E_FILTER=regex] node test/e2e/run.mjs [test files...]
import { execFileSync, spawn } from "node:child_process";
import { readdirSync } from "node:fs";

const ns = `mcdn-client-${process.pid}`;
// The namespace recipe lives in one place: scripts/netns.sh (create / delete, which also kills
// whatever a crashed test left running inside).
const netns = new URL("../../../scripts/netns.sh", import.meta.url).pathname;
let cleaned = false;
function cleanup() {
  if (cleaned) return;
  cleaned = true;
  try {
    execFileSync(netns, ["delete", ns], { stdio: "ignore" });
  } catch {
    // already gone
  }
}

const files = process.argv.slice(2).length
  ? process.argv.slice(2)
  : readdirSync("test/e2e").filter((f) => f.endsWith(".e2e.ts")).sort().map((f) => `test/e2e/${f}`);

let child;
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    child?.kill("SIGTERM");
    cleanup();
    process.exit(130);
  });
}
let addr;
try {
  addr = execFileSync(netns, ["create", ns], { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" }).trim();
} catch (e) {
  cleanup();
  console.error(`e2e: cannot create network namespace ${ns} (root and iproute2 needed): ${e.message}`);
  process.exit(1);
}
child = spawn(
  "ip",
  // MESHCDN_E2E_FILTER=regex runs only the tests whose names match (node's --test-name-pattern).
  ["netns", "exec", ns, process.execPath, "--import", "tsx", "--test", "--test-concurrency=1",
    ...(process.env.MESHCDN_E2E_FILTER ? [`--test-name-pattern=${process.env.MESHCDN_E2E_FILTER}`] : []), ...files],
    // MESHCDN_E2E_ADDR: the namespace's non-loopback address (pages served from it are not a secure context).
  { stdio: "inherit", env: { ...process.env, MESHCDN_E2E_NETNS: ns, MESHCDN_E2E_ADDR: addr } },
);
child.on("exit", (code, signal) => {
  cleanup();
  process.exit(code ?? (signal ? 1 : 0));
});
