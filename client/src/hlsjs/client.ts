/**
 * The hls.js integration: `new MeshCdnClient(config)`, `new Hls(client.hlsConfig({...}))`,
 * `client.attach(hls)`. Reads the bootstrap from the master playlist's EXT-X-SESSION-DATA (hls.js
 * exposes it as `sessionData` on MANIFEST_LOADED); without one, every load goes to hls.js's own loader.
 */
import type Hls from "hls.js";
import type { HlsConfig, ManifestLoadedData } from "hls.js";
import { BOOTSTRAP_DATA_ID, parseBootstrap } from "../core/bootstrap.js";
import type { CoreConfigInput } from "../core/config.js";
import { MeshCore } from "../core/core.js";
import { BootstrapError } from "../core/errors.js";
import type { MeshCdnEvents, MeshCdnStats } from "../core/types.js";
import { createFragmentLoaderClass, type FragmentLoaderClass } from "./fragment-loader.js";

// hls.js event names, as strings so this package does not import hls.js at run time.
const MANIFEST_LOADING = "hlsManifestLoading";
const MANIFEST_LOADED = "hlsManifestLoaded";
const DESTROYING = "hlsDestroying";
const MEDIA_ATTACHED = "hlsMediaAttached";

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

export class MeshCdnClient {
  readonly core: MeshCore;
  private hls: Hls | null = null;
  private readonly fLoader: FragmentLoaderClass;
  private readonly listeners: [string, (...a: never[]) => void][] = [];

  constructor(config: MeshCdnClientConfig = {}) {
    this.core = new MeshCore(config);
    this.fLoader = createFragmentLoaderClass({
      core: this.core,
      timeToDeadlineMs: (fragStart) => timeToDeadlineMs(this.hls?.media ?? null, fragStart),
    });
  }

  /** hls.js config with meshcdn's fragment loader; pass your own hls.js options through `base`. */
  hlsConfig(base: Partial<HlsConfig> = {}): Partial<HlsConfig> {
    if (base.fLoader) throw new TypeError("meshcdn: hlsConfig() supplies fLoader; do not set your own");
    return { ...base, fLoader: this.fLoader as unknown as HlsConfig["fLoader"] };
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
    const on = (event: string, fn: (...a: never[]) => void) => {
      (hls.on as unknown as (e: string, f: (...a: never[]) => void) => void)(event, fn);
      this.listeners.push([event, fn]);
    };
    on(MANIFEST_LOADING, () => this.core.setBootstrap(null, ""));
    on(MANIFEST_LOADED, ((_e: string, data: ManifestLoadedData) => this.onManifest(data)) as never);
    on(DESTROYING, () => this.destroy());
    // Startup time and stalls for the analytics beacons.
    on(MEDIA_ATTACHED, ((_e: string, data: { media: HTMLMediaElement }) => this.core.watchMedia(data.media)) as never);
  }

  private onManifest(data: ManifestLoadedData): void {
    const value = data.sessionData?.[BOOTSTRAP_DATA_ID]?.VALUE;
    if (typeof value !== "string") return; // no bootstrap: plain hls.js
    try {
      this.core.setBootstrap(parseBootstrap(value), data.url);
    } catch (e) {
      if (e instanceof BootstrapError) this.core.reportError(e);
      else throw e;
    }
  }

  stats(): MeshCdnStats {
    return this.core.stats();
  }

  on<K extends keyof MeshCdnEvents>(event: K, fn: MeshCdnEvents[K]): this {
    this.core.on(event, fn);
    return this;
  }

  off<K extends keyof MeshCdnEvents>(event: K, fn: MeshCdnEvents[K]): this {
    this.core.off(event, fn);
    return this;
  }

  /** Turns uploading to peers off (true) or back to the policy's decision (false). */
  setUploadDisabled(disabled: boolean): void {
    this.core.setUploadDisabled(disabled);
  }

  destroy(): void {
    const hls = this.hls;
    if (hls) {
      for (const [e, fn] of this.listeners) (hls.off as unknown as (e: string, f: unknown) => void)(e, fn);
    }
    this.listeners.length = 0;
    this.hls = null;
    this.core.destroy();
  }
}
