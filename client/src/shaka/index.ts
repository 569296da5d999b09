/**
 * meshcdn for Shaka Player 4.x (HLS and DASH). ES module `@meshcdn/client/shaka`; the script-tag
 * build (`meshcdn-shaka.iife.js`) exposes the same names on `window.MeshCdnShaka`.
 *
 * ```js
 * const mesh = new MeshCdnShakaClient({ uploadRateLimitBytesPerSec: 500_000 });
 * const player = new shaka.Player();
 * await player.attach(video);
 * mesh.attach(player, shaka);
 * await player.load("https://cdn.example.com/live/manifest.mpd");
 * ```
 */
export { MeshCdnShakaClient, type MeshCdnShakaConfig } from "./client.js";
export * from "../player-kit/exports.js";
