/**
 * DASH MPDs as the adapters need them (pure, no I/O): each Representation's media segments with
 * the number peers know them by, their absolute URL and their place on the presentation timeline,
 * plus the meshcdn bootstrap descriptor. Works on any DOM-like tree (the browser's DOMParser, or
 * `@xmldom/xmldom` in the unit tests).
 *
 * Addressing: `SegmentTemplate` with `$Number$` / `$Time$` from a `SegmentTimeline`, or `$Number$`
 * from `@duration` in static MPDs; inherited down Period → AdaptationSet → Representation, and
 * `BaseURL`s resolved level by level, as the origin plugin does (origin-plugin/src/dash.rs). Live
 * `@duration` templates depend on the wall clock and the origin lists no hashes for them, nor for
 * `SegmentList` / `SegmentBase`: those segments are not listed, so they stay on the player's HTTP.
 */
import { DASH_BOOTSTRAP_SCHEME } from "../core/bootstrap.js";

/** What the parser reads of an XML element (browser DOM and xmldom both have it). */
export interface XmlElement {
  readonly localName: string | null;
  getAttribute(name: string): string | null;
  readonly childNodes: ArrayLike<unknown>;
  readonly textContent: string | null;
}

export interface MpdSegment {
  /** `$Number$` of the segment: the sequence number peers exchange it by. */
  number: number;
  /** Absolute URL. */
  url: string;
  /** Presentation time where it starts, and its duration, in seconds. */
  startSec: number;
  durationSec: number;
}

export interface MpdRepresentation {
  id: string;
  bandwidth: number;
  contentType: string;
  segments: MpdSegment[];
}

export interface MpdInfo {
  dynamic: boolean;
  /** The meshcdn bootstrap descriptor's value, when the origin put one in. */
  bootstrapValue: string | null;
  /** One entry per Representation id (segments of all Periods joined). */
  representations: MpdRepresentation[];
}

export class MpdError extends Error {
  readonly type = "mpd" as const;
  constructor(message: string) {
    super(`meshcdn: MPD: ${message}`);
    this.name = "MpdError";
  }
}

/** Segments listed per MPD at most (a hostile or broken MPD cannot make us build millions). */
export const MAX_MPD_SEGMENTS = 100_000;

function elements(el: XmlElement, name?: string): XmlElement[] {
  const out: XmlElement[] = [];
  const nodes = el.childNodes;
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i] as { nodeType?: number } & XmlElement;
    if (n.nodeType === 1 && (name === undefined || n.localName === name)) out.push(n);
  }
  return out;
}

const child = (el: XmlElement, name: string) => elements(el, name)[0];

function num(el: XmlElement | undefined, name: string): number | undefined {
  const v = el?.getAttribute(name);
  if (v === null || v === undefined || v.trim() === "") return undefined;
  const n = Number(v.trim());
  if (!Number.isFinite(n) || n < 0) throw new MpdError(`${name}="${v}" is not a non-negative number`);
  return n;
}

/** Seconds of an ISO 8601 duration as DASH uses them (`PT1H2M3.5S`, `P1DT2S`). */
export function parseIsoDuration(text: string): number {
  const m = /^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(text.trim());
  if (!m || text.trim() === "P" || text.trim().endsWith("T")) throw new MpdError(`bad duration "${text}"`);
  const [, d, h, min, s] = m;
  return Number(d ?? 0) * 86_400 + Number(h ?? 0) * 3_600 + Number(min ?? 0) * 60 + Number(s ?? 0);
}

function duration(el: XmlElement, name: string): number | undefined {
  const v = el.getAttribute(name);
  return v === null ? undefined : parseIsoDuration(v);
}

interface Timeline {
  t?: number;
  d: number;
  r: number;
}

interface Template {
  media?: string;
  startNumber?: number;
  timescale?: number;
  duration?: number;
  presentationTimeOffset?: number;
  timeline?: Timeline[];
}

function mergeTemplate(base: Template | undefined, el: XmlElement | undefined): Template | undefined {
  if (!el) return base;
  const t: Template = { ...base };
  const media = el.getAttribute("media");
  if (media !== null) t.media = media;
  t.startNumber = num(el, "startNumber") ?? t.startNumber;
  t.timescale = num(el, "timescale") ?? t.timescale;
  t.duration = num(el, "duration") ?? t.duration;
  t.presentationTimeOffset = num(el, "presentationTimeOffset") ?? t.presentationTimeOffset;
  const tl = child(el, "SegmentTimeline");
  if (tl) {
    t.timeline = elements(tl, "S").map((s) => {
      const d = num(s, "d");
      if (!d) throw new MpdError("S@d must be a positive number");
      const r = s.getAttribute("r");
      const rn = r === null ? 0 : Number(r);
      if (!Number.isInteger(rn) || rn < -1) throw new MpdError(`S@r="${r}" is not an integer ≥ -1`);
      return { t: num(s, "t"), d, r: rn };
    });
  }
  return t;
}

/** Expands `$RepresentationID$`, `$Number$`, `$Bandwidth$`, `$Time$` (with `%0Nd`) and `$$`. */
export function expandTemplate(template: string, repId: string, number: number, bandwidth: number, time: number): string {
  return template.replace(/\$([A-Za-z]*)(?:%0(\d+)d)?\$/g, (all, name: string, width: string | undefined) => {
    if (name === "") return "$";
    if (name === "RepresentationID" && width === undefined) return repId;
    const value = name === "Number" ? number : name === "Bandwidth" ? bandwidth : name === "Time" ? time : null;
    if (value === null) throw new MpdError(`SegmentTemplate@media "${template}" uses ${all}`);
    const s = String(value);
    return width === undefined ? s : s.padStart(Number(width), "0");
  });
}

function resolve(base: string, el: XmlElement): string {
  const b = child(el, "BaseURL");
  const text = b?.textContent?.trim();
  if (!text) return base;
  try {
    return new URL(text, base).href;
  } catch {
    throw new MpdError(`bad BaseURL "${text}"`);
  }
}

/** Parses an MPD document's root element; `mpdUrl` resolves relative URLs. Throws MpdError. */
export function parseMpd(root: XmlElement, mpdUrl: string): MpdInfo {
  if (root.localName !== "MPD") throw new MpdError(`the root element is <${root.localName}>, not <MPD>`);
  const dynamic = root.getAttribute("type") === "dynamic";
  const total = duration(root, "mediaPresentationDuration");
  const base = resolve(mpdUrl, root);
  const periods = elements(root, "Period");
  if (periods.length === 0) throw new MpdError("no <Period>");
  let bootstrapValue: string | null = null;
  for (const p of elements(periods[0]!, "SupplementalProperty")) {
    if (p.getAttribute("schemeIdUri") === DASH_BOOTSTRAP_SCHEME) bootstrapValue = p.getAttribute("value");
  }
  const reps = new Map<string, MpdRepresentation>();
  let count = 0;
  let prevEnd = 0;
  periods.forEach((period, i) => {
    const start = duration(period, "start") ?? prevEnd;
    const next = periods[i + 1];
    const nextStart = next ? duration(next, "start") : undefined;
    const periodDur = duration(period, "duration") ?? (nextStart !== undefined ? nextStart - start : total !== undefined ? total - start : undefined);
    prevEnd = periodDur !== undefined ? start + periodDur : start;
    const periodBase = resolve(base, period);
    const periodTpl = mergeTemplate(undefined, child(period, "SegmentTemplate"));
    for (const set of elements(period, "AdaptationSet")) {
      const setBase = resolve(periodBase, set);
      const setTpl = mergeTemplate(periodTpl, child(set, "SegmentTemplate"));
      for (const rep of elements(set, "Representation")) {
        const id = rep.getAttribute("id") ?? "";
        const bandwidth = num(rep, "bandwidth") ?? 0;
        const contentType = set.getAttribute("contentType") ?? (rep.getAttribute("mimeType") ?? set.getAttribute("mimeType") ?? "").split("/")[0] ?? "";
        let out = reps.get(id);
        if (!out) reps.set(id, (out = { id, bandwidth, contentType, segments: [] }));
        if (child(rep, "SegmentList") || child(set, "SegmentList")) continue; // not listed by the origin either
        const tpl = mergeTemplate(setTpl, child(rep, "SegmentTemplate"));
        if (!tpl?.media) continue;
        const repBase = resolve(setBase, rep);
        const timescale = tpl.timescale && tpl.timescale > 0 ? tpl.timescale : 1;
        const pto = tpl.presentationTimeOffset ?? 0;
        let number = tpl.startNumber ?? 1;
        const push = (time: number, d: number) => {
          if (++count > MAX_MPD_SEGMENTS) throw new MpdError(`more than ${MAX_MPD_SEGMENTS} segments`);
          const rel = expandTemplate(tpl.media!, id, number, bandwidth, time);
          out.segments.push({ number, url: new URL(rel, repBase).href, startSec: start + (time - pto) / timescale, durationSec: d / timescale });
          number++;
        };
        if (tpl.timeline) {
          const periodEnd = periodDur !== undefined ? pto + periodDur * timescale : undefined;
          let time = 0;
          tpl.timeline.forEach((s, j) => {
            time = s.t ?? time;
            let repeats = s.r + 1;
            if (s.r === -1) {
              const until = tpl.timeline![j + 1]?.t ?? periodEnd;
              repeats = until === undefined ? 1 : Math.max(0, Math.ceil((until - time) / s.d));
            }
            for (let k = 0; k < repeats; k++) {
              push(time, s.d);
              time += s.d;
            }
          });
        } else if (tpl.duration && tpl.duration > 0 && !dynamic && periodDur !== undefined) {
          const n = Math.ceil((periodDur * timescale) / tpl.duration - 1e-9);
          if (n > MAX_MPD_SEGMENTS) throw new MpdError(`more than ${MAX_MPD_SEGMENTS} segments`);
          for (let k = 0; k < n; k++) push(pto + k * tpl.duration, Math.min(tpl.duration, periodDur * timescale - k * tpl.duration));
        }
      }
    }
  });
  return { dynamic, bootstrapValue, representations: [...reps.values()] };
}

/**
 * The origin's hash document (`{ "<segment URL relative to the MPD>": "<64 hex>" }`) as absolute
 * segment URL → hash. Entries with byte ranges (`#bytes=`) and malformed ones are skipped.
 */
export function parseHashDocument(json: unknown, mpdUrl: string): Map<string, string> {
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new MpdError("the hash document is not a JSON object");
  const out = new Map<string, string>();
  for (const [key, hex] of Object.entries(json as Record<string, unknown>)) {
    if (typeof hex !== "string" || !/^[0-9a-f]{64}$/.test(hex) || key.includes("#")) continue;
    try {
      out.set(new URL(key, mpdUrl).href, hex);
    } catch {
      // not a URL: skip
    }
  }
  return out;
}
