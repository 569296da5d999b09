/**
 * The segments a swarm holds (verified bytes it serves to peers and hands to the player), bounded
 * by bytes. Pure bookkeeping: no clock, no I/O. Eviction removes what is least useful first:
 * segments that left the live playlist, then the ones furthest behind the playhead (for VOD the
 * whole stream is kept while it fits, so later viewers find it), then the ones furthest ahead.
 */

export interface StoredSegment {
  data: Uint8Array;
  source: "http" | "p2p";
}

/** Default byte budgets: what a desktop tab and a phone tab may spend on segments held for peers. */
export const DESKTOP_STORE_BYTES = 256 * 1024 * 1024;
export const MOBILE_STORE_BYTES = 64 * 1024 * 1024;

/** A run of held sequence numbers, both ends inclusive. */
export type SnRange = readonly [first: number, last: number];

/** Sorted, merged ranges covering exactly `sns` (duplicates allowed, any order). */
export function toRanges(sns: Iterable<number>): SnRange[] {
  const sorted = [...new Set(sns)].sort((a, b) => a - b);
  const out: [number, number][] = [];
  for (const sn of sorted) {
    const last = out[out.length - 1];
    if (last && sn === last[1] + 1) last[1] = sn;
    else out.push([sn, sn]);
  }
  return out;
}

/** True when `sn` lies in one of the (sorted, merged) `ranges`. */
export function inRanges(ranges: readonly SnRange[], sn: number): boolean {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [a, b] = ranges[mid]!;
    if (sn < a) hi = mid - 1;
    else if (sn > b) lo = mid + 1;
    else return true;
  }
  return false;
}

/**
 * The order in which held segments go when the store is over budget (first = evicted first), given
 * the playhead's segment (null when unknown: oldest first) and the first segment still in a live
 * playlist (null for VOD). Segments behind `liveFirstSn` have left the playlist: no peer can ask for them.
 */
export function evictionOrder(sns: readonly number[], playheadSn: number | null, liveFirstSn: number | null): number[] {
  const gone = liveFirstSn === null ? [] : sns.filter((sn) => sn < liveFirstSn).sort((a, b) => a - b);
  const rest = liveFirstSn === null ? [...sns] : sns.filter((sn) => sn >= liveFirstSn);
  if (playheadSn === null) return [...gone, ...rest.sort((a, b) => a - b)];
  // Behind the playhead, furthest first; then ahead of it, furthest first (the next ones matter most).
  const behind = rest.filter((sn) => sn < playheadSn).sort((a, b) => a - b);
  const ahead = rest.filter((sn) => sn >= playheadSn).sort((a, b) => b - a);
  return [...gone, ...behind, ...ahead];
}

export class SegmentStore {
  private readonly segments = new Map<number, StoredSegment>();
  private totalBytes = 0;
  private playheadSn: number | null = null;
  private liveFirstSn: number | null = null;

  constructor(readonly maxBytes: number) {
    if (!(maxBytes >= 0)) throw new RangeError("SegmentStore: maxBytes must be >= 0");
  }

  get bytes(): number {
    return this.totalBytes;
  }

  get size(): number {
    return this.segments.size;
  }

  get(sn: number): StoredSegment | undefined {
    return this.segments.get(sn);
  }

  has(sn: number): boolean {
    return this.segments.has(sn);
  }

  sns(): number[] {
    return [...this.segments.keys()].sort((a, b) => a - b);
  }

  ranges(): SnRange[] {
    return toRanges(this.segments.keys());
  }

  /**
   * Where playback is (its segment) and, for live, the first segment of the playlist window;
   * segments that left the live window go at once. Returns the evicted sequence numbers.
   */
  setPosition(playheadSn: number | null, liveFirstSn: number | null): number[] {
    this.playheadSn = playheadSn;
    this.liveFirstSn = liveFirstSn;
    const out: number[] = [];
    if (liveFirstSn !== null) {
      for (const sn of [...this.segments.keys()]) if (sn < liveFirstSn) (this.remove(sn), out.push(sn));
    }
    return out.concat(this.fit());
  }

  /**
   * Adds (or replaces) a segment and evicts down to the budget. Returns the evicted sequence
   * numbers; a segment larger than the whole budget is not kept (it is in the result).
   */
  put(sn: number, seg: StoredSegment): number[] {
    this.remove(sn);
    if (seg.data.length > this.maxBytes) return [sn];
    this.segments.set(sn, seg);
    this.totalBytes += seg.data.length;
    return this.fit();
  }

  remove(sn: number): boolean {
    const old = this.segments.get(sn);
    if (!old) return false;
    this.segments.delete(sn);
    this.totalBytes -= old.data.length;
    return true;
  }

  clear(): void {
    this.segments.clear();
    this.totalBytes = 0;
  }

  private fit(): number[] {
    if (this.totalBytes <= this.maxBytes) return [];
    const out: number[] = [];
    for (const sn of evictionOrder([...this.segments.keys()], this.playheadSn, this.liveFirstSn)) {
      if (this.totalBytes <= this.maxBytes) break;
      this.remove(sn);
      out.push(sn);
    }
    return out;
  }
}
