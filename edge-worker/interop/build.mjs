// Bundles the bittorrent-tracker client for the browser (esbuild honours its "browser" field,
// which swaps out the Node-only HTTP/UDP trackers and node-datachannel for the browser's WebRTC).
import { build } from 'esbuild'

await build({
  entryPoints: ['page-entry.js'],
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'chrome110',
  outfile: 'dist/bt-client.js',
  define: { global: 'globalThis', 'process.browser': 'true', 'process.env.NODE_DEBUG': 'false' },
  // The few other `process` uses in its dependencies (nextTick, env) get a minimal shim.
  banner: { js: 'var process = globalThis.process || { browser: true, env: {}, nextTick: (f, ...a) => queueMicrotask(() => f(...a)) };' },
  logLevel: 'warning',
})
