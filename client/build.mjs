// Bundles src/ into dist/: per player an ES module and a script-tag (IIFE) build, the core in
// each (hls.js: meshcdn.* / `window.MeshCdn`; Shaka Player: meshcdn-shaka.* / `window.MeshCdnShaka`;
// dash.js: meshcdn-dashjs.* / `window.MeshCdnDashjs`), then emits .d.ts files with tsc (which also
// type-checks the sources).
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";

rmSync("dist", { recursive: true, force: true });
const common = {
  bundle: true,
  sourcemap: true,
  target: ["es2020", "chrome90", "firefox88", "safari14"],
  // The players are the publisher's own copies: the adapters only use their types and the
  // instances (and, for Shaka, the namespace) the page hands them.
  external: ["hls.js", "shaka-player", "dashjs"],
  logLevel: "warning",
};
const entries = [
  ["src/index.ts", "meshcdn", "MeshCdn"],
  ["src/shaka/index.ts", "meshcdn-shaka", "MeshCdnShaka"],
  ["src/dashjs/index.ts", "meshcdn-dashjs", "MeshCdnDashjs"],
];
for (const [entry, out, globalName] of entries) {
  const e = { ...common, entryPoints: [entry] };
  await build({ ...e, format: "esm", outfile: `dist/${out}.mjs` });
  await build({ ...e, format: "iife", globalName, outfile: `dist/${out}.iife.js` });
  await build({ ...e, format: "iife", globalName, minify: true, outfile: `dist/${out}.iife.min.js` });
}
execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.json"], { stdio: "inherit" });
console.log("client: built dist/meshcdn{,-shaka,-dashjs}.{mjs,iife.js,iife.min.js} and dist/types");
