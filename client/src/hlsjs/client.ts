/**
 * The hls.js integration: `new MeshCdnClient(config)`, `new Hls(client.hlsConfig({...}))`,
 * `client.attach(hls)`. Reads the bootstrap from the master playlist's EXT-X-SESSION-DATA (hls.js
 * exposes it as `sessionData` on MANIFEST_LOADED); without one, every load goes to hls.js's own loader.
 */
import type Hls from "hls.js";
import type { Fragment, HlsConfig, LevelLoadedData, ManifestLoadedData } from "hls.js";
import { BOOTSTRAP_DATA_ID, parseBootstrap } from "../core/bootstrap.js";
import type { CoreConfigInput } from "../core/config.js";
import { PlayerClientBase } from "../player-kit/client-base.js";
import { BootstrapError } from "../core/errors.js";
import { hashFromTagList } from "../core/integrity.js";
import type { SegmentInfo } from "../core/segment-loader.js";
import { StartupGate } from "../player-kit/startup-gate.js";
import { createFragmentLoaderClass, type FragmentLoaderClass } from "./fragment-loader.js";

// hls.js event names, as strings so this package does not import hls.js at run time.
const MANIFEST_LOADING = "hlsManifestLoading";
const MANIFEST_LOADED = "hlsManifestLoaded";
const DESTROYING = "hlsDestroying";
const MEDIA_ATTACHED = "hlsMediaAttached";
const LEVEL_LOADED = "hlsLevelLoaded";
const FRAG_BUFFERED = "hlsFragBuffered";
const FRAG_LOADED = "hlsFragLoaded";
const FRAG_LOADING = "hlsFragLoading";
const SEEKING_POLL_MS = 250;

/** hls.js fragments as the core's player-free segment list (media segments with a number only). */
export function segmentsOf(fragments: readonly Fragment[]): SegmentInfo[] {
  const out: SegmentInfo[] = [];
  for (const f of fragments) {
    if (typeof f.sn !== "number") continue;
    const a = f.byteRangeStartOffset;
    const b = f.byteRangeEndOffset;
    const ranged = a !== undefined && b !== undefined && Number.isFinite(b) && b > a;
    out.push({
      sn: f.sn,
      url: f.url,
      rangeStart: ranged ? a : undefined,
      rangeEnd: ranged ? b : undefined,
      startSec: f.start,
      durationSec: f.duration,
      expectedSha256: hashFromTagList(f.tagList),
    });
  }
  return out;
}

export type MeshCdnClientConfig = CoreConfigInput;

/** ms until playback reaches `fragStart` (s), bounded by what is buffered: the player stalls when that runs out. */
export function timeToDeadlineMs(media: HTMLMediaElement | null, fragStart: number): number {
  if (!media) return 0;
  const t = media.currentTime;
  let bufferEnd = t;
  const b = media.buffered;
  for (let i = 0; i < b.length; i++) {
    // Small gaps at the playhead are jumped by hls.js, so a range starting just ahead counts.
    if (b.start(i) <= t + 0.25 && b.end(i) > bufferEnd) bufferEnd = b.end(i);
  }
  const aheadSec = Math.min(fragStart, bufferEnd) - t;
  const rate = media.playbackRate > 0 ? media.playbackRate : 1;
  return Math.max(0, (aheadSec / rate) * 1000);
}

export class MeshCdnClient extends PlayerClientBase {
  private hls: Hls | null = null;
  private readonly fLoader: FragmentLoaderClass;
  private readonly listeners: [string, (...a: never[]) => void][] = [];
  private poll: ReturnType<typeof setInterval> | undefined;
  /** The swarm is joined once playback has started (see MeshCore.holdJoins). */
  private readonly startup = new StartupGate(() => this.core.releaseJoins());

  constructor(config: MeshCdnClientConfig = {}) {
    super(config);
    this.fLoader = createFragmentLoaderClass({
      core: this.core,
      timeToDeadlineMs: (fragStart) => timeToDeadlineMs(this.hls?.media ?? null, fragStart),
    });
  }

  /**
   * hls.js config with meshcdn's fragment loader; pass your own hls.js options through `base`.
   * The forward buffer is capped at `playerBufferMs` (unless `base` sets a smaller one), so the
   * scheduler, which fetches further ahead from peers, decides what is loaded early.
   */
  hlsConfig(base: Partial<HlsConfig> = {}): Partial<HlsConfig> {
    if (base.fLoader) throw new TypeError("meshcdn: hlsConfig() supplies fLoader; do not set your own");
    const out: Partial<HlsConfig> = { ...base, fLoader: this.fLoader as unknown as HlsConfig["fLoader"] };
    const capSec = this.core.config.playerBufferMs / 1000;
    if (capSec > 0) {
      out.maxBufferLength = Math.min(base.maxBufferLength ?? 30, capSec);
      out.maxMaxBufferLength = Math.min(base.maxMaxBufferLength ?? 600, Math.max(capSec, out.maxBufferLength));
    }
    return out;
  }

  /** Starts following `hls` (created with `hlsConfig()`): bootstrap on each manifest load. */
  attach(hls: Hls): void {
    if (this.hls) throw new Error("meshcdn: client already attached; make one client per Hls instance");
    const f = hls.config.fLoader as unknown as { prototype?: unknown } | undefined;
    // Subclasses (a page wrapping our loader) are fine.
    if (f !== (this.fLoader as unknown) && !(f?.prototype instanceof this.fLoader)) {
      throw new Error("meshcdn: create the Hls instance with client.hlsConfig(...) before attach()");
    }
    this.hls = hls;
    this.core.setPlayer(`hls.js ${(hls.constructor as { version?: string }).version ?? ""}`.trim());
    const on = (event: string, fn: (...a: never[]) => void) => {
      (hls.on as unknown as (e: string, f: (...a: never[]) => void) => void)(event, fn);
      this.listeners.push([event, fn]);
    };
    const join = this.core.config.startupJoin;
    on(MANIFEST_LOADING, () => {
      this.core.setBootstrap(null, "");
      // A new start-up: the swarm is joined once its first segment is in (or it is over), not while
      // the join competes with it.
      if (join === "manifest") return;
      this.core.holdJoins();
      this.startup.reset();
    });
    const releaseAt = { "first-request": FRAG_LOADING, "first-segment": FRAG_LOADED, "first-buffered": FRAG_BUFFERED }[
      join as "first-request" | "first-segment" | "first-buffered"
    ];
    if (releaseAt) {
      // After hls.js's own handling of the event (it starts the load, hands the bytes to its
      // transmuxer, or goes on to the next fragment, first): that segment is hls.js's own.
      on(releaseAt, ((_e: string, data: { frag: Fragment }) => {
        if (typeof data.frag.sn === "number") setTimeout(() => this.core.releaseJoins(), 0);
      }) as never);
    }
    on(MANIFEST_LOADED, ((_e: string, data: ManifestLoadedData) => this.onManifest(data)) as never);
    on(LEVEL_LOADED, ((_e: string, data: LevelLoadedData) => this.onLevel(data)) as never);
    on(FRAG_BUFFERED, () => this.startup.buffered());
    on(DESTROYING, () => this.destroy());
    // Startup time and stalls for the analytics beacons; the first `playing` ends the start-up.
    const watch = (media: HTMLMediaElement) => {
      this.core.watchMedia(media);
      this.startup.watch(media);
    };
    on(MEDIA_ATTACHED, ((_e: string, data: { media: HTMLMediaElement }) => watch(data.media)) as never);
    if (hls.media) watch(hls.media);
    // The playhead, for the scheduler's window and the STATE peers elect fetchers by.
    this.poll = setInterval(() => this.reportPlayback(), SEEKING_POLL_MS);
  }

  private reportPlayback(): void {
    const media = this.hls?.media;
    if (!media || !this.core.p2pEnabled || media.readyState === 0) return;
    this.core.setPlayback({ positionSec: media.currentTime, rate: media.playbackRate });
  }

  private onLevel(data: LevelLoadedData): void {
    if (!this.core.p2pEnabled) return;
    const fragments = data.details.fragments;
    const playlistUrl = fragments[0]?.baseurl ?? data.details.url;
    this.core.setSegments(playlistUrl, segmentsOf(fragments), data.details.live);
    this.reportPlayback();
  }

  private onManifest(data: ManifestLoadedData): void {
    const value = data.sessionData?.[BOOTSTRAP_DATA_ID]?.VALUE;
    if (typeof value !== "string") return; // no bootstrap: plain hls.js
    try {
      this.core.setBootstrap(parseBootstrap(value), data.url);
    } catch (e) {
      if (e instanceof BootstrapError) return this.core.reportError(e);
      throw e;
    }
    // The swarm of the rendition playback starts with, joined at `config.startupJoin` (not at
    // the first segment the core loads). hls.js indexes `startLevel` in its levels sorted by
    // bitrate; without one it starts with the first listed.
    const start = this.hls?.config.startLevel;
    const sorted = [...data.levels].sort((a, b) => a.bitrate - b.bitrate);
    const level = typeof start === "number" && start >= 0 ? sorted[Math.min(start, sorted.length - 1)] : data.levels[0];
    // After hls.js's own handling of the event (it goes on to load the level playlist first).
    if (level) {
      const url = new URL(level.url, data.url).href;
      setTimeout(() => {
        if (this.hls && this.core.p2pEnabled) this.core.prepare(url);
      }, 0);
    }
  }


  destroy(): void {
    const hls = this.hls;
    if (hls) {
      for (const [e, fn] of this.listeners) (hls.off as unknown as (e: string, f: unknown) => void)(e, fn);
    }
    this.listeners.length = 0;
    clearInterval(this.poll);
    this.startup.stop();
    this.hls = null;
    this.core.destroy();
  }
}
