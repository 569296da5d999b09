/**
 * The Shaka Player (4.x) integration, HLS and DASH: `new MeshCdnShakaClient(config)`, then
 * `client.attach(player)` before `player.load(url)`. Uses Shaka's own networking extension points:
 * a request filter tags each request with its player and context (the segment reference), a
 * response filter reads every manifest (master/media playlists, MPDs), and a scheme plugin for
 * http/https sends the media segments the manifests listed through the core; everything else goes
 * to Shaka's own HTTP plugin unchanged, so without a bootstrap playback is exactly plain Shaka.
 */
import type shakaNs from "shaka-player";
import { BOOTSTRAP_DATA_ID } from "../core/bootstrap.js";
import type { CoreConfigInput } from "../core/config.js";
import { PlayerClientBase } from "../player-kit/client-base.js";
import { BootstrapError } from "../core/errors.js";
import { bootstrapFromMasterPlaylist } from "../core/token.js";
import type { SegmentInfo } from "../core/segment-loader.js";
import { DashStream, type XmlParser, browserXmlParser } from "../dash/stream.js";
import { isMasterPlaylist, parseMediaPlaylist, PlaylistTimeline } from "../hls/playlist.js";
import { parseRangeHeader, timeToDeadlineMs, toArrayBufferCopy } from "../player-kit/media.js";
import { SegmentIndex, TimelineOffset, type IndexedSegment } from "../player-kit/segment-index.js";

type Shaka = typeof shakaNs;
type ShakaPlayer = shakaNs.Player;
type ShakaRequest = shakaNs.extern.Request;
type ShakaResponse = shakaNs.extern.Response;
type RequestContext = shakaNs.extern.RequestContext;
type SchemePlugin = shakaNs.extern.SchemePlugin;

export type MeshCdnShakaConfig = CoreConfigInput;

const PLAYBACK_POLL_MS = 250;
/** Where a request filter leaves the client and the context for the scheme plugin. */
const TAG = "__meshcdn";
interface Tagged {
  [TAG]?: { client: MeshCdnShakaClient; context: RequestContext | undefined };
}

const registered = new WeakSet<object>();

/** The http/https scheme plugin, registered once per Shaka namespace (Shaka keeps schemes globally). */
function registerSchemes(shaka: Shaka): void {
  if (registered.has(shaka)) return;
  registered.add(shaka);
  const { NetworkingEngine } = shaka.net;
  const fallback: SchemePlugin = (...args) =>
    (shaka.net.HttpFetchPlugin.isSupported() ? shaka.net.HttpFetchPlugin : shaka.net.HttpXHRPlugin).parse(...args) as shakaNs.extern.IAbortableOperation<ShakaResponse>;
  const plugin: SchemePlugin = (uri, request, type, progress, headers, config) => {
    const tag = (request as ShakaRequest & Tagged)[TAG];
    const op = tag && type === NetworkingEngine.RequestType.SEGMENT ? tag.client.loadSegment(uri, request, tag.context) : null;
    return op ?? fallback(uri, request, type, progress, headers, config);
  };
  for (const scheme of ["http", "https"]) NetworkingEngine.registerScheme(scheme, plugin, NetworkingEngine.PluginPriority.APPLICATION);
}

export class MeshCdnShakaClient extends PlayerClientBase {
  private player: ShakaPlayer | null = null;
  private shaka: Shaka | null = null;
  private readonly dash: DashStream;
  private readonly hlsIndex = new SegmentIndex();
  private readonly hlsTimelines = new Map<string, PlaylistTimeline>();
  private hlsMaster: string | null = null;
  private readonly offset = new TimelineOffset();
  private poll: ReturnType<typeof setInterval> | undefined;
  private readonly undo: (() => void)[] = [];

  constructor(config: MeshCdnShakaConfig = {}, xmlParser: XmlParser = browserXmlParser) {
    super(config);
    this.dash = new DashStream(this.core, xmlParser);
  }

  /**
   * Starts following `player` (call before `player.load`). `shaka` is the page's Shaka namespace
   * (default: `window.shaka`). The forward buffer is capped at `playerBufferMs`.
   */
  attach(player: ShakaPlayer, shaka: Shaka = (globalThis as unknown as { shaka: Shaka }).shaka): void {
    if (this.player) throw new Error("meshcdn: client already attached; make one client per Shaka player");
    if (!shaka?.net?.NetworkingEngine) throw new Error("meshcdn: pass the Shaka namespace to attach(player, shaka)");
    const net = player.getNetworkingEngine();
    if (!net) throw new Error("meshcdn: the Shaka player has no networking engine (destroyed?)");
    this.player = player;
    this.shaka = shaka;
    this.core.setPlayer(`shaka ${(shaka as { Player?: { version?: string } }).Player?.version ?? ""}`.trim());
    registerSchemes(shaka);
    const { RequestType } = shaka.net.NetworkingEngine;
    const requestFilter = (_type: unknown, request: ShakaRequest, context?: RequestContext) => {
      (request as ShakaRequest & Tagged)[TAG] = { client: this, context };
    };
    const responseFilter = async (type: shakaNs.net.NetworkingEngine.RequestType, response: ShakaResponse) => {
      if (type === RequestType.MANIFEST) await this.onManifest(response);
    };
    net.registerRequestFilter(requestFilter);
    net.registerResponseFilter(responseFilter);
    this.undo.push(() => {
      net.unregisterRequestFilter(requestFilter);
      net.unregisterResponseFilter(responseFilter);
    });
    const on = (event: string, fn: () => void) => {
      player.addEventListener(event, fn);
      this.undo.push(() => player.removeEventListener(event, fn));
    };
    on("loading", () => {
      this.resetStream();
      this.watchMedia();
    });
    on("unloading", () => this.resetStream());
    for (const e of ["loaded", "adaptation", "variantchanged", "trackschanged"]) on(e, () => this.selectActive());
    const capSec = this.core.config.playerBufferMs / 1000;
    if (capSec > 0) {
      const goal = player.getConfiguration().streaming.bufferingGoal;
      player.configure("streaming.bufferingGoal", Math.min(goal, capSec));
    }
    // Startup time and stalls for the analytics beacons.
    this.watchMedia();
    this.poll = setInterval(() => this.reportPlayback(), PLAYBACK_POLL_MS);
  }

  private get media(): HTMLMediaElement | null {
    return this.player?.getMediaElement() ?? null;
  }

  private watchMedia(): void {
    const media = this.media;
    if (media) this.core.watchMedia(media);
  }

  private resetStream(): void {
    this.dash.reset();
    this.hlsIndex.clear();
    this.hlsTimelines.clear();
    this.hlsMaster = null;
    this.core.setBootstrap(null, "");
  }

  private reportPlayback(): void {
    const media = this.media;
    if (!media || !this.core.p2pEnabled || media.readyState === 0) return;
    this.core.setPlayback({ positionSec: this.offset.toAdapter(media.currentTime), rate: media.playbackRate });
  }

  /** DASH: the Representations of the active variant get their swarms and segment lists. */
  private selectActive(): void {
    const track = this.player?.getVariantTracks().find((t) => t.active);
    if (!track) return;
    for (const id of [track.originalVideoId, track.originalAudioId]) if (id) this.dash.select(id);
  }

  private async onManifest(response: ShakaResponse): Promise<void> {
    const data = response.data;
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const text = new TextDecoder().decode(bytes);
    const url = response.uri;
    if (/<(?:[\w.-]+:)?MPD\b/.test(text.slice(0, 4096))) {
      await this.dash.onMpd(text, url);
      if (this.dash.live || this.player?.getVariantTracks().length) this.selectActive();
      return;
    }
    if (!text.trimStart().startsWith("#EXTM3U")) return;
    if (isMasterPlaylist(text)) return this.onHlsMaster(text, url);
    if (!this.core.p2pEnabled) return;
    const playlist = parseMediaPlaylist(text, url);
    let timeline = this.hlsTimelines.get(url);
    if (!timeline) this.hlsTimelines.set(url, (timeline = new PlaylistTimeline()));
    const starts = timeline.place(playlist.segments);
    const segments: SegmentInfo[] = playlist.segments.map((s, i) => ({ ...s, startSec: starts[i]! }));
    this.hlsIndex.update(url, segments);
    this.core.setSegments(url, segments, playlist.live);
  }

  private onHlsMaster(text: string, url: string): void {
    if (this.hlsMaster === url) return;
    this.resetStream();
    this.hlsMaster = url;
    if (!text.includes(BOOTSTRAP_DATA_ID)) return; // no bootstrap: plain Shaka
    try {
      this.core.setBootstrap(bootstrapFromMasterPlaylist(text), url);
    } catch (e) {
      if (e instanceof BootstrapError) return this.core.reportError(e);
      throw e;
    }
  }

  private find(uri: string, request: ShakaRequest): IndexedSegment | undefined {
    const range = parseRangeHeader(request.headers["Range"] ?? request.headers["range"]);
    return this.dash.index.find(uri, range?.start, range?.end) ?? this.hlsIndex.find(uri, range?.start, range?.end);
  }

  /**
   * The scheme plugin's segment path: a media segment the manifests listed goes through the core
   * (peers or HTTP, verified); null hands the request to Shaka's own HTTP plugin.
   */
  loadSegment(uri: string, request: ShakaRequest, context: RequestContext | undefined): shakaNs.extern.IAbortableOperation<ShakaResponse> | null {
    const shaka = this.shaka;
    if (!shaka || !this.core.p2pEnabled || request.method !== "GET") return null;
    const found = this.find(uri, request);
    if (!found) return null;
    const { segment, swarmKey } = found;
    if (this.dash.index.find(uri, segment.rangeStart, segment.rangeEnd)) this.dash.select(swarmKey);
    const ref = context?.segment ?? null;
    this.offset.observe(segment.startSec, ref?.getStartTime());
    const playerStart = ref ? ref.getStartTime() : this.offset.toPlayer(segment.startSec);
    const controller = new AbortController();
    const timeout = request.retryParameters?.timeout;
    const { Error: ShakaError } = shaka.util;
    const started = performance.now();
    const promise = this.core
      .load({
        sn: segment.sn,
        url: segment.url,
        rangeStart: segment.rangeStart,
        rangeEnd: segment.rangeEnd,
        expectedSha256: segment.expectedSha256,
        playlistUrl: swarmKey,
        timeToDeadlineMs: () => timeToDeadlineMs(this.media, playerStart),
        loadTimeoutMs: timeout && timeout > 0 ? timeout : undefined,
        signal: controller.signal,
      })
      .then(
        ({ data, transferMs }): ShakaResponse => ({
          uri,
          originalUri: uri,
          data: toArrayBufferCopy(data),
          headers: {},
          status: segment.rangeStart !== undefined ? 206 : 200,
          // Shaka's bandwidth estimate: the transfer, not the time spent waiting for a peer.
          timeMs: Math.max(1, Math.min(transferMs, performance.now() - started)),
          originalRequest: request,
          fromCache: false,
        }),
        (e: unknown) => {
          const err = e as { type?: string; status?: number; message?: string };
          if (controller.signal.aborted || err.type === "aborted") {
            throw new ShakaError(ShakaError.Severity.RECOVERABLE, ShakaError.Category.NETWORK, ShakaError.Code.OPERATION_ABORTED, uri, shaka.net.NetworkingEngine.RequestType.SEGMENT);
          }
          if (err.status) {
            throw new ShakaError(ShakaError.Severity.RECOVERABLE, ShakaError.Category.NETWORK, ShakaError.Code.BAD_HTTP_STATUS, uri, err.status, err.message ?? "", {}, shaka.net.NetworkingEngine.RequestType.SEGMENT, uri);
          }
          throw new ShakaError(ShakaError.Severity.RECOVERABLE, ShakaError.Category.NETWORK, ShakaError.Code.HTTP_ERROR, uri, e, shaka.net.NetworkingEngine.RequestType.SEGMENT);
        },
      );
    return new shaka.util.AbortableOperation(promise, () => {
      controller.abort();
      return Promise.resolve();
    });
  }


  destroy(): void {
    for (const u of this.undo.splice(0)) u();
    clearInterval(this.poll);
    this.player = null;
    this.core.destroy();
  }
}
