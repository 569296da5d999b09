/**
 * HLS playlists as player adapters without their own tag access need them (pure): whether a
 * playlist is a master one, and a media playlist's segments with their sequence number, byte range
 * and the origin's `#EXT-X-MESHCDN-SHA256` hash. hls.js keeps the hash tag itself (frag.tagList);
 * Shaka Player drops unknown tags, so its adapter reads the playlist text with this.
 */
import { HASH_TAG, isSha256Hex } from "../core/integrity.js";

export interface PlaylistSegment {
  sn: number;
  url: string;
  /** Byte range in `url` (end exclusive), for `#EXT-X-BYTERANGE`. */
  rangeStart?: number;
  rangeEnd?: number;
  durationSec: number;
  expectedSha256: string | null;
}

export interface MediaPlaylist {
  /** No `#EXT-X-ENDLIST`: the window moves. */
  live: boolean;
  segments: PlaylistSegment[];
}

/** A master (multivariant) playlist: it lists variants, not segments. */
export function isMasterPlaylist(text: string): boolean {
  return /^#EXT-X-STREAM-INF:/m.test(text) || /^#EXT-X-SESSION-DATA:/m.test(text);
}

/** Segments of a media playlist; `url` is the playlist's own (absolute) URL. */
export function parseMediaPlaylist(text: string, url: string): MediaPlaylist {
  let sn = 0;
  let live = true;
  let duration = 0;
  let hash: string | null = null;
  let range: { length: number; offset?: number } | null = null;
  let lastEnd = new Map<string, number>();
  const segments: PlaylistSegment[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "") continue;
    if (line.startsWith("#")) {
      const colon = line.indexOf(":");
      const tag = colon < 0 ? line.slice(1) : line.slice(1, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).trim();
      if (tag === "EXT-X-MEDIA-SEQUENCE") sn = Number(value) || 0;
      else if (tag === "EXT-X-ENDLIST") live = false;
      else if (tag === "EXTINF") duration = parseFloat(value.split(",")[0] ?? "") || 0;
      else if (tag === HASH_TAG) hash = isSha256Hex(value) ? value : null;
      else if (tag === "EXT-X-BYTERANGE") {
        const [len, off] = value.split("@");
        range = { length: Number(len), offset: off === undefined ? undefined : Number(off) };
      }
      continue;
    }
    let segUrl: string;
    try {
      segUrl = new URL(line, url).href;
    } catch {
      segUrl = "";
    }
    const seg: PlaylistSegment = { sn, url: segUrl, durationSec: duration, expectedSha256: hash };
    if (range && Number.isFinite(range.length) && range.length > 0) {
      const start = range.offset ?? lastEnd.get(segUrl) ?? 0;
      seg.rangeStart = start;
      seg.rangeEnd = start + range.length;
      lastEnd.set(segUrl, seg.rangeEnd);
    }
    if (segUrl) segments.push(seg);
    sn++;
    duration = 0;
    hash = null;
    range = null;
  }
  return { live, segments };
}

/**
 * Start times for the segments of one media playlist across its reloads: the first load starts at
 * 0, later ones continue from a segment seen before (a live window slides over the same numbers).
 */
export class PlaylistTimeline {
  private readonly starts = new Map<number, number>();

  /** Start (s) of each segment, in order. */
  place(segments: readonly { sn: number; durationSec: number }[]): number[] {
    if (segments.length === 0) return [];
    const anchor = segments.findIndex((s) => this.starts.has(s.sn));
    const out = new Array<number>(segments.length);
    if (anchor < 0) {
      // First load at 0; an unknown window later (a jump) continues after the latest known start.
      out[0] = this.starts.size > 0 ? Math.max(...this.starts.values()) : 0;
      for (let i = 1; i < segments.length; i++) out[i] = out[i - 1]! + segments[i - 1]!.durationSec;
    } else {
      out[anchor] = this.starts.get(segments[anchor]!.sn)!;
      for (let i = anchor + 1; i < segments.length; i++) out[i] = out[i - 1]! + segments[i - 1]!.durationSec;
      for (let i = anchor - 1; i >= 0; i--) out[i] = out[i + 1]! - segments[i]!.durationSec;
    }
    segments.forEach((s, i) => this.starts.set(s.sn, out[i]!));
    // Keep the map small: numbers far behind the window are not asked for any more.
    const min = segments[0]!.sn - 1_000;
    for (const sn of this.starts.keys()) if (sn < min) this.starts.delete(sn);
    return out;
  }
}
