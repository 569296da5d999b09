/**
 * One DASH stream as the adapters feed it to the core: every MPD the player loads (first load and
 * live refreshes) is parsed here; the first one's bootstrap descriptor turns P2P on, the hash
 * document the bootstrap names gives each segment its SHA-256, and the segments of the
 * Representations the player plays go to `MeshCore.setSegments` (swarm = `Representation@id`).
 */
import { parseBootstrap, type Bootstrap } from "../core/bootstrap.js";
import type { MeshCore } from "../core/core.js";
import { BootstrapError, type MeshCdnError } from "../core/errors.js";
import type { SegmentInfo } from "../core/segment-loader.js";
import { SegmentIndex } from "../player-kit/segment-index.js";
import { MpdError, parseHashDocument, parseMpd, type MpdInfo, type XmlElement } from "./mpd.js";

/** The browser's XML parser (an MPD is XML); unit tests pass another. */
export type XmlParser = (text: string) => XmlElement;

export const browserXmlParser: XmlParser = (text) => {
  const doc = new DOMParser().parseFromString(text, "application/xml");
  if (doc.getElementsByTagName("parsererror").length > 0) throw new MpdError("not well-formed XML");
  return doc.documentElement as unknown as XmlElement;
};

/** An MPD or hash document problem (P2P stays off, or those segments stay on HTTP). */
export class DashManifestError extends BootstrapError {}

function stripQuery(u: string): string {
  try {
    const x = new URL(u);
    return x.origin + x.pathname;
  } catch {
    return u;
  }
}

export class DashStream {
  readonly index = new SegmentIndex();
  private mpdUrl: string | null = null;
  private bootstrap: Bootstrap | null = null;
  private info: MpdInfo | null = null;
  private segmentsByRep = new Map<string, SegmentInfo[]>();
  /** The Representation the player plays, per content type (video, audio, ...). */
  private readonly playing = new Map<string, string>();

  constructor(
    private readonly core: MeshCore,
    private readonly parseXml: XmlParser = browserXmlParser,
    private readonly fetchImpl: typeof fetch = (i, init) => globalThis.fetch(i, init),
  ) {}

  /** Forgets the stream (the player loads another one). */
  reset(): void {
    this.mpdUrl = null;
    this.bootstrap = null;
    this.info = null;
    this.segmentsByRep.clear();
    this.playing.clear();
    this.index.clear();
    this.core.setBootstrap(null, "");
  }

  /** Every MPD the player loaded (`url`: after redirects). Resolves once the segments are indexed. */
  async onMpd(text: string, url: string): Promise<void> {
    let info: MpdInfo;
    try {
      info = parseMpd(this.parseXml(text), url);
    } catch (e) {
      if (e instanceof MpdError) return this.report(new DashManifestError(e.message));
      throw e;
    }
    if (this.mpdUrl === null || stripQuery(url) !== stripQuery(this.mpdUrl)) {
      // A new stream: its bootstrap (live refreshes keep the first one; the token keeper renews tokens).
      this.reset();
      this.mpdUrl = url;
      if (info.bootstrapValue === null) return; // no bootstrap: plain player
      try {
        this.bootstrap = parseBootstrap(info.bootstrapValue);
      } catch (e) {
        if (e instanceof BootstrapError) return this.report(e);
        throw e;
      }
      if (this.bootstrap.integrity !== "sha256-document" || !this.bootstrap.hashes) {
        this.bootstrap = null;
        return this.report(new DashManifestError("the MPD's bootstrap names no hash document"));
      }
      this.core.setBootstrap(this.bootstrap, url);
    }
    if (!this.bootstrap || !this.core.p2pEnabled) return;
    this.info = info;
    const hashes = await this.fetchHashes(new URL(this.bootstrap.hashes!, url).href, url);
    if (this.info !== info) return; // a newer MPD arrived meanwhile
    for (const rep of info.representations) {
      const segments: SegmentInfo[] = rep.segments.map((s) => ({
        sn: s.number,
        url: s.url,
        startSec: s.startSec,
        durationSec: s.durationSec,
        expectedSha256: hashes.get(s.url) ?? null,
      }));
      this.segmentsByRep.set(rep.id, segments);
      this.index.update(rep.id, segments);
    }
    for (const id of this.playing.values()) this.push(id);
  }

  /** The player plays (or switched to) Representation `id`: its swarm gets the segments. */
  select(id: string): void {
    const rep = this.info?.representations.find((r) => r.id === id);
    if (!rep || !this.core.p2pEnabled) return;
    const type = rep.contentType || "video";
    if (this.playing.get(type) === id) return;
    this.playing.set(type, id);
    this.core.prepare(id);
    this.push(id);
  }

  /** The Representation ids of the stream, lowest bandwidth first, with their content type. */
  representations(): { id: string; bandwidth: number; contentType: string }[] {
    return (this.info?.representations ?? []).map(({ id, bandwidth, contentType }) => ({ id, bandwidth, contentType })).sort((a, b) => a.bandwidth - b.bandwidth);
  }

  get live(): boolean {
    return this.info?.dynamic ?? false;
  }

  private push(id: string): void {
    const segments = this.segmentsByRep.get(id);
    if (segments && this.info) this.core.setSegments(id, segments, this.info.dynamic);
  }

  private async fetchHashes(docUrl: string, mpdUrl: string): Promise<Map<string, string>> {
    try {
      const res = await this.fetchImpl(docUrl, { cache: "no-cache" });
      if (!res.ok) throw new MpdError(`hash document ${docUrl} answered ${res.status}`);
      return parseHashDocument(await res.json(), mpdUrl);
    } catch (e) {
      // Without hashes every segment goes over HTTP (nothing unverified reaches the player).
      this.report(new DashManifestError(e instanceof MpdError ? e.message : `hash document ${docUrl}: ${(e as Error).message}`));
      return new Map();
    }
  }

  private report(err: MeshCdnError): void {
    this.core.reportError(err);
  }
}
