// Bundles src/ into dist/: an ES module and a script-tag (IIFE) build exposing `window.MeshCdn`,
// then emits .d.ts files with tsc (which also type-checks the sources).
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";

rmSync("dist", { recursive: true, force: true });
const common = {
  entryPoints: ["src/index.ts"],
  bundle: true,
  sourcemap: true,
  target: ["es2020", "chrome90", "firefox88", "safari14"],
  // hls.js is the publisher's own copy: the adapter only uses its types and event names.
  external: ["hls.js"],
  logLevel: "warning",
};
await build({ ...common, format: "esm", outfile: "dist/meshcdn.mjs" });
await build({ ...common, format: "iife", globalName: "MeshCdn", outfile: "dist/meshcdn.iife.js" });
await build({ ...common, format: "iife", globalName: "MeshCdn", minify: true, outfile: "dist/meshcdn.iife.min.js" });
execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.json"], { stdio: "inherit" });
console.log("client: built dist/meshcdn.mjs, dist/meshcdn.iife.js (global MeshCdn), dist/types");
