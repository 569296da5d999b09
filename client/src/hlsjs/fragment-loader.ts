/**
 * hls.js fragment loader (`fLoader`) that sends media segments through the meshcdn core.
 * Follows hls.js's Loader contract: load(context, config, callbacks), abort(), destroy(), `stats`
 * with loading.{start,first,end}; one load per instance; never calls back after abort().
 * Anything the core should not handle (no bootstrap, init segments, LL-HLS parts) goes to hls.js's
 * own default loader unchanged, so without a bootstrap playback is exactly plain hls.js.
 */
import type {
  FragmentLoaderContext,
  HlsConfig,
  Loader,
  LoaderCallbacks,
  LoaderConfiguration,
  LoaderStats,
} from "hls.js";
import type { MeshCore } from "../core/core.js";
import { hashFromTagList } from "../core/integrity.js";

/** What the loader needs from the client: the core and the playhead. */
export interface LoaderHost {
  core: MeshCore;
  /** ms until playback reaches `fragStart` (seconds, media time), 0 when needed now. */
  timeToDeadlineMs(fragStart: number): number;
}

function newStats(): LoaderStats {
  return {
    aborted: false,
    loaded: 0,
    retry: 0,
    total: 0,
    chunkCount: 0,
    bwEstimate: 0,
    loading: { start: 0, first: 0, end: 0 },
    parsing: { start: 0, end: 0 },
    buffering: { start: 0, first: 0, end: 0 },
  };
}

function toArrayBuffer(u8: Uint8Array): ArrayBuffer {
  return u8.byteOffset === 0 && u8.byteLength === u8.buffer.byteLength
    ? (u8.buffer as ArrayBuffer)
    : (u8.buffer.slice(u8.byteOffset, u8.byteOffset + u8.byteLength) as ArrayBuffer);
}

/** `callbacks` that first hand a copy of a loaded media segment to the core (MeshCore.adopt). */
function adopting(host: LoaderHost, context: FragmentLoaderContext, callbacks: LoaderCallbacks<FragmentLoaderContext>): LoaderCallbacks<FragmentLoaderContext> {
  return {
    ...callbacks,
    onSuccess: (response, stats, ctx, networkDetails) => {
      const frag = context.frag;
      const data = response.data;
      if (data instanceof ArrayBuffer && typeof frag.sn === "number") {
        const req = { sn: frag.sn, playlistUrl: frag.baseurl, expectedSha256: hashFromTagList(frag.tagList) };
        host.core.adopt(req, new Uint8Array(data.slice(0)), Math.max(0, stats.loading.end - stats.loading.start));
      }
      callbacks.onSuccess(response, stats, ctx, networkDetails);
    },
  };
}

export type FragmentLoaderClass = new (config: HlsConfig) => Loader<FragmentLoaderContext>;

/** Makes the `fLoader` class bound to one client. */
export function createFragmentLoaderClass(host: LoaderHost): FragmentLoaderClass {
  return class MeshFragmentLoader implements Loader<FragmentLoaderContext> {
    context: FragmentLoaderContext | null = null;
    private ownStats: LoaderStats = newStats();
    private fallback: Loader<FragmentLoaderContext> | null = null;
    private controller: AbortController | null = null;
    private timeout: ReturnType<typeof setTimeout> | undefined;
    private done = false;

    constructor(private readonly hlsConfig: HlsConfig) {}

    get stats(): LoaderStats {
      return this.fallback ? this.fallback.stats : this.ownStats;
    }
    set stats(s: LoaderStats) {
      if (this.fallback) this.fallback.stats = s;
      else this.ownStats = s;
    }

    load(context: FragmentLoaderContext, config: LoaderConfiguration, callbacks: LoaderCallbacks<FragmentLoaderContext>): void {
      if (this.context) throw new Error("meshcdn: a fragment loader loads once; hls.js makes a new one per fragment");
      this.context = context;
      const frag = context.frag;
      if (!host.core.p2pEnabled || typeof frag.sn !== "number" || context.part || host.core.playerLoadsStartupSegment) {
        const Default = this.hlsConfig.loader as unknown as new (c: HlsConfig) => Loader<FragmentLoaderContext>;
        this.fallback = new Default(this.hlsConfig);
        // hls.js took `stats` (as frag.stats) before load(): the default loader fills that object.
        this.fallback.stats = this.ownStats;
        // During start-up (joins held) the player's own loader fetches, exactly as plain hls.js
        // would; a copy goes to the core for peers (hls.js hands the buffer to its worker).
        const adopt = host.core.p2pEnabled && typeof frag.sn === "number" && !context.part;
        this.fallback.load(context, config, adopt ? adopting(host, context, callbacks) : callbacks);
        return;
      }
      const stats = this.ownStats;
      stats.loading.start = performance.now();
      const controller = (this.controller = new AbortController());
      const maxLoadTimeMs = config.loadPolicy?.maxLoadTimeMs ?? config.timeout;
      if (maxLoadTimeMs > 0) {
        this.timeout = setTimeout(() => {
          if (this.done) return;
          this.done = true;
          controller.abort();
          callbacks.onTimeout(stats, context, null);
        }, maxLoadTimeMs);
      }
      const hasRange = Number.isFinite(context.rangeEnd) && (context.rangeEnd ?? 0) > (context.rangeStart ?? 0);
      host.core
        .load({
          sn: frag.sn,
          url: context.url,
          rangeStart: hasRange ? context.rangeStart : undefined,
          rangeEnd: hasRange ? context.rangeEnd : undefined,
          expectedSha256: hashFromTagList(frag.tagList),
          playlistUrl: frag.baseurl,
          timeToDeadlineMs: () => host.timeToDeadlineMs(frag.start),
          loadTimeoutMs: maxLoadTimeMs > 0 ? maxLoadTimeMs : undefined,
          signal: controller.signal,
        })
        .then(
          ({ data, transferMs }) => {
            if (this.done) return;
            this.done = true;
            clearTimeout(this.timeout);
            const now = performance.now();
            // hls.js estimates bandwidth from these: count the transfer, not the time spent waiting
            // for a peer to have the segment (that would read as a slow network and lower quality).
            stats.loading.start = Math.max(stats.loading.start, now - Math.max(1, transferMs));
            stats.loading.first = stats.loading.start;
            stats.loading.end = now;
            stats.loaded = stats.total = data.byteLength;
            stats.chunkCount = 1;
            // hls.js transfers the buffer to its worker: hand over a copy, never the one peers are served from.
            callbacks.onSuccess({ url: context.url, data: toArrayBuffer(data.slice()), code: 200 }, stats, context, null);
          },
          (e: unknown) => {
            if (this.done) return;
            this.done = true;
            clearTimeout(this.timeout);
            const err = e as { status?: number; message?: string };
            callbacks.onError({ code: err.status ?? 0, text: err.message ?? String(e) }, context, null, stats);
          },
        );
    }

    abort(): void {
      if (this.fallback) return this.fallback.abort();
      clearTimeout(this.timeout);
      if (!this.done && this.controller) {
        this.done = true; // hls.js must not hear from an aborted loader
        this.ownStats.aborted = true;
        this.controller.abort();
      }
    }

    destroy(): void {
      if (this.fallback) {
        this.fallback.destroy();
        this.fallback = null;
        return;
      }
      this.abort();
      this.context = null;
    }
  };
}
