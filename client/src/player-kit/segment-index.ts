/**
 * The segments the adapter parsed from the manifests, by URL (and byte range): a player's request
 * carries only a URL, the core needs the segment's swarm, number and hash. Pure.
 */
import type { SegmentInfo } from "../core/segment-loader.js";

export interface IndexedSegment {
  /** What `MeshCore` selects the swarm by (HLS: the media playlist URL; DASH: the Representation@id). */
  swarmKey: string;
  segment: SegmentInfo;
}

/** Segments kept per swarm: a live window's past entries stay findable for a while. */
const KEPT_PER_SWARM = 2_000;

function keyOf(url: string, rangeStart?: number, rangeEnd?: number): string {
  const bare = url.split("#")[0]!;
  return rangeStart !== undefined && rangeEnd !== undefined ? `${bare}|${rangeStart}-${rangeEnd}` : bare;
}

export class SegmentIndex {
  private readonly byKey = new Map<string, IndexedSegment>();
  private readonly order = new Map<string, string[]>();

  /** Adds (or refreshes) a swarm's segments, e.g. on every load of its playlist. */
  update(swarmKey: string, segments: readonly SegmentInfo[]): void {
    let keys = this.order.get(swarmKey);
    if (!keys) this.order.set(swarmKey, (keys = []));
    for (const segment of segments) {
      const key = keyOf(segment.url, segment.rangeStart, segment.rangeEnd);
      if (!this.byKey.has(key)) keys.push(key);
      this.byKey.set(key, { swarmKey, segment });
    }
    while (keys.length > KEPT_PER_SWARM) this.byKey.delete(keys.shift()!);
  }

  find(url: string, rangeStart?: number, rangeEnd?: number): IndexedSegment | undefined {
    return this.byKey.get(keyOf(url, rangeStart, rangeEnd));
  }

  clear(): void {
    this.byKey.clear();
    this.order.clear();
  }
}

/**
 * Maps the player's media time to the adapter's (the timeline segments were given to the core
 * with): learnt from each request (`observe(adapterStartSec, playerStartSec)`). For DASH both are
 * the MPD's presentation time and the offset stays 0; a player may place HLS segments elsewhere.
 */
export class TimelineOffset {
  private offsetSec = 0;
  observe(adapterStartSec: number, playerStartSec: number | undefined): void {
    if (playerStartSec !== undefined && Number.isFinite(playerStartSec)) this.offsetSec = adapterStartSec - playerStartSec;
  }
  toAdapter(playerSec: number): number {
    return playerSec + this.offsetSec;
  }
  toPlayer(adapterSec: number): number {
    return adapterSec - this.offsetSec;
  }
}
