/**
 * meshcdn for dash.js 5.x. ES module `@meshcdn/client/dashjs`; the script-tag build
 * (`meshcdn-dashjs.iife.js`) exposes the same names on `window.MeshCdnDashjs`.
 *
 * ```js
 * const mesh = new MeshCdnDashjsClient({ uploadRateLimitBytesPerSec: 500_000 });
 * const player = dashjs.MediaPlayer().create();
 * mesh.attach(player);
 * player.initialize(video, "https://cdn.example.com/live/manifest.mpd", true);
 * ```
 */
export { MeshCdnDashjsClient, type MeshCdnDashjsConfig, type DashjsPlayer, type DashjsLoaderRequest, type DashjsLoaderResponse } from "./client.js";
export * from "../player-kit/exports.js";
