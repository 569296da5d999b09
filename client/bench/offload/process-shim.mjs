// Node's `process` as far as p2p-media-loader's bundled dependencies (bittorrent-tracker, debug) read it in a browser.
globalThis.process ??= { env: {}, browser: true, version: "", versions: {}, nextTick: (fn, ...args) => queueMicrotask(() => fn(...args)) };
