/** What every player adapter reads from the page's media element. */

/** ms until playback reaches `startSec` (s, media time), bounded by what is buffered: the player stalls when that runs out. */
export function timeToDeadlineMs(media: HTMLMediaElement | null, startSec: number): number {
  if (!media) return 0;
  const t = media.currentTime;
  let bufferEnd = t;
  const b = media.buffered;
  for (let i = 0; i < b.length; i++) {
    // Small gaps at the playhead are jumped by the players, so a range starting just ahead counts.
    if (b.start(i) <= t + 0.25 && b.end(i) > bufferEnd) bufferEnd = b.end(i);
  }
  const aheadSec = Math.min(startSec, bufferEnd) - t;
  const rate = media.playbackRate > 0 ? media.playbackRate : 1;
  return Math.max(0, (aheadSec / rate) * 1000);
}

/** `bytes=a-b` (inclusive) as `[a, b + 1)`; undefined for anything else. */
export function parseRangeHeader(value: string | undefined | null): { start: number; end: number } | undefined {
  const m = /^bytes=(\d+)-(\d+)$/.exec((value ?? "").trim());
  if (!m) return undefined;
  const start = Number(m[1]);
  const end = Number(m[2]) + 1;
  return end > start ? { start, end } : undefined;
}

/** A private copy as an ArrayBuffer: players may transfer or keep it; the core serves peers from its own. */
export function toArrayBufferCopy(u8: Uint8Array): ArrayBuffer {
  return u8.slice().buffer as ArrayBuffer;
}
