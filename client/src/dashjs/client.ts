/**
 * The dash.js (5.x) integration: `new MeshCdnDashjsClient(config)`, then `client.attach(player)`
 * before `player.initialize(video, url)`. Uses dash.js's supported extension points: a response
 * interceptor (`addResponseInterceptor`) reads every MPD the player loads, and `extend("XHRLoader",
 * ..., true)` overrides the loader's `load` so that the media segments the MPD listed go through the
 * core (peers or HTTP, verified before dash.js sees them); everything else (MPDs, init segments,
 * low-latency chunked fetches) stays on dash.js's own loader, so without a bootstrap playback is
 * exactly plain dash.js.
 */
import type { CoreConfigInput } from "../core/config.js";
import { PlayerClientBase } from "../player-kit/client-base.js";
import { DashStream, browserXmlParser, type XmlParser } from "../dash/stream.js";
import { parseRangeHeader, timeToDeadlineMs, toArrayBufferCopy } from "../player-kit/media.js";
import { TimelineOffset } from "../player-kit/segment-index.js";

export type MeshCdnDashjsConfig = CoreConfigInput;

/** dash.js's `CommonMediaRequest`, as far as the loader reads it. */
export interface DashjsLoaderRequest {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  timeout?: number;
  customData?: {
    /** dash.js's own request object (FragmentRequest / HTTPRequest). */
    request?: { type?: string; startTime?: number; duration?: number; url?: string; range?: string };
    onloadend?: () => void;
    onprogress?: (e: { lengthComputable: boolean; loaded: number; total: number; time?: number; noTrace?: boolean }) => void;
    onabort?: () => void;
    abort?: () => void;
  };
}

/** dash.js's `CommonMediaResponse`, as far as the loader writes it. */
export interface DashjsLoaderResponse {
  url?: string;
  status?: number;
  statusText?: string;
  headers?: Record<string, string>;
  data?: unknown;
  request?: DashjsLoaderRequest;
}

/** What the client uses of a dash.js `MediaPlayer` instance (dash.js 5.x). */
export interface DashjsPlayer {
  extend(parentName: string, child: object, override: boolean): void;
  addResponseInterceptor(fn: (response: DashjsLoaderResponse) => Promise<DashjsLoaderResponse>): void;
  removeResponseInterceptor(fn: (response: DashjsLoaderResponse) => Promise<DashjsLoaderResponse>): void;
  updateSettings(settings: object): void;
  getSettings(): { streaming?: { buffer?: Record<string, unknown> } };
  getVideoElement(): HTMLMediaElement;
  getVersion?(): string;
  getCurrentRepresentationForType?(type: string): { id?: string } | null;
  on(type: string, fn: (e: unknown) => void): void;
  off(type: string, fn: (e: unknown) => void): void;
}

const PLAYBACK_POLL_MS = 250;
const MEDIA_SEGMENT = "MediaSegment";
const MPD = "MPD";

export class MeshCdnDashjsClient extends PlayerClientBase {
  private player: DashjsPlayer | null = null;
  private readonly dash: DashStream;
  private readonly offset = new TimelineOffset();
  private poll: ReturnType<typeof setInterval> | undefined;
  private readonly undo: (() => void)[] = [];

  constructor(config: MeshCdnDashjsConfig = {}, xmlParser: XmlParser = browserXmlParser) {
    super(config);
    this.dash = new DashStream(this.core, xmlParser);
  }

  /** Starts following `player` (a `dashjs.MediaPlayer().create()`); call before `initialize`. */
  attach(player: DashjsPlayer): void {
    if (this.player) throw new Error("meshcdn: client already attached; make one client per dash.js player");
    if (typeof player?.extend !== "function" || typeof player.addResponseInterceptor !== "function") {
      throw new Error("meshcdn: attach() needs a dash.js 5.x MediaPlayer (extend + addResponseInterceptor)");
    }
    this.player = player;
    this.core.setPlayer(`dash.js ${player.getVersion?.() ?? ""}`.trim());
    const interceptor = async (response: DashjsLoaderResponse) => {
      const req = response.request?.customData?.request;
      if (req?.type === MPD && typeof response.data === "string" && (response.status ?? 0) >= 200 && (response.status ?? 0) < 300) {
        await this.dash.onMpd(response.data, response.url || response.request?.url || "");
        this.selectActive();
      }
      return response;
    };
    player.addResponseInterceptor(interceptor);
    this.undo.push(() => player.removeResponseInterceptor(interceptor));
    const client = this;
    // dash.js calls this with `this.parent` = its own XHRLoader; `load` replaces the parent's.
    player.extend(
      "XHRLoader",
      function (this: { parent: { load(req: DashjsLoaderRequest, res: DashjsLoaderResponse): unknown } }) {
        const parent = this.parent;
        const parentLoad = parent.load;
        return {
          load(req: DashjsLoaderRequest, res: DashjsLoaderResponse) {
            return client.load(req, res) || parentLoad.call(parent, req, res);
          },
        };
      },
      true,
    );
    const on = (event: string, fn: (e: unknown) => void) => {
      player.on(event, fn);
      this.undo.push(() => player.off(event, fn));
    };
    for (const e of ["streamInitialized", "qualityChangeRendered"]) on(e, () => this.selectActive());
    // Startup time and stalls for the analytics beacons (the element is known from `initialize`).
    on("manifestLoadingStarted", () => {
      const media = this.media;
      if (media) this.core.watchMedia(media);
    });
    const capSec = this.core.config.playerBufferMs / 1000;
    if (capSec > 0) {
      const buffer = player.getSettings().streaming?.buffer ?? {};
      const cap = (k: string, d: number) => Math.min(typeof buffer[k] === "number" ? (buffer[k] as number) : d, capSec);
      player.updateSettings({
        streaming: { buffer: { bufferTimeDefault: cap("bufferTimeDefault", 12), bufferTimeAtTopQuality: cap("bufferTimeAtTopQuality", 30), bufferTimeAtTopQualityLongForm: cap("bufferTimeAtTopQualityLongForm", 60) } },
      });
    }
    this.poll = setInterval(() => this.reportPlayback(), PLAYBACK_POLL_MS);
  }

  private get media(): HTMLMediaElement | null {
    try {
      return this.player?.getVideoElement() ?? null;
    } catch {
      return null; // not initialised yet
    }
  }

  private reportPlayback(): void {
    const media = this.media;
    if (!media || !this.core.p2pEnabled || media.readyState === 0) return;
    this.core.setPlayback({ positionSec: this.offset.toAdapter(media.currentTime), rate: media.playbackRate });
  }

  private selectActive(): void {
    for (const type of ["video", "audio"]) {
      try {
        const id = this.player?.getCurrentRepresentationForType?.(type)?.id;
        if (id) this.dash.select(String(id));
      } catch {
        // no stream yet
      }
    }
  }

  /**
   * The loader's segment path: true when the core took the request (it then completes it through
   * dash.js's callbacks), false to leave it to dash.js's own XHR.
   */
  load(req: DashjsLoaderRequest, res: DashjsLoaderResponse): boolean {
    const info = req.customData?.request;
    if (!this.core.p2pEnabled || info?.type !== MEDIA_SEGMENT || (req.method ?? "GET") !== "GET" || !req.customData) return false;
    const range = parseRangeHeader(req.headers?.["Range"] ?? (info.range ? `bytes=${info.range}` : undefined));
    const found = this.dash.index.find(req.url, range?.start, range?.end);
    if (!found) return false;
    const { segment, swarmKey } = found;
    this.dash.select(swarmKey);
    this.offset.observe(segment.startSec, info.startTime);
    const playerStart = info.startTime ?? this.offset.toPlayer(segment.startSec);
    const controller = new AbortController();
    const custom = req.customData;
    custom.abort = () => controller.abort();
    this.core
      .load({
        sn: segment.sn,
        url: segment.url,
        rangeStart: segment.rangeStart,
        rangeEnd: segment.rangeEnd,
        expectedSha256: segment.expectedSha256,
        playlistUrl: swarmKey,
        timeToDeadlineMs: () => timeToDeadlineMs(this.media, playerStart),
        loadTimeoutMs: req.timeout && req.timeout > 0 ? req.timeout : undefined,
        signal: controller.signal,
      })
      .then(
        ({ data, transferMs }) => {
          if (controller.signal.aborted) return;
          res.url = req.url;
          res.status = segment.rangeStart !== undefined ? 206 : 200;
          res.statusText = "OK";
          res.headers = {};
          res.data = toArrayBufferCopy(data);
          // dash.js's throughput estimate: the transfer, not the wait for a peer.
          custom.onprogress?.({ lengthComputable: true, loaded: data.byteLength, total: data.byteLength, time: Math.max(1, transferMs) });
          custom.onloadend?.();
        },
        (e: unknown) => {
          if (controller.signal.aborted) return; // dash.js aborted it: it expects no callback
          const err = e as { status?: number; message?: string };
          res.url = req.url;
          res.status = err.status ?? 0;
          res.statusText = err.message ?? String(e);
          res.data = null;
          custom.onloadend?.();
        },
      );
    return true;
  }


  destroy(): void {
    for (const u of this.undo.splice(0)) u();
    clearInterval(this.poll);
    this.player = null;
    this.core.destroy();
  }
}
