/**
 * The pure parts of the Shaka and dash.js adapters: MPD segment lists (against the sample MPD the
 * e2e tests and the demo serve), the hash document, HLS playlists as Shaka's adapter reads them,
 * the URL index, and the core's DASH bootstrap hooks.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { DOMParser } from "@xmldom/xmldom";
import { bootstrapValueFromMpd, encodeBootstrap, parseBootstrap, swarmForPlaylist, type Bootstrap } from "../../src/core/bootstrap.js";
import { BootstrapError } from "../../src/core/errors.js";
import { bootstrapFromMasterPlaylist } from "../../src/core/token.js";
import { expandTemplate, MpdError, parseHashDocument, parseIsoDuration, parseMpd, type XmlElement } from "../../src/dash/mpd.js";
import { isMasterPlaylist, parseMediaPlaylist, PlaylistTimeline } from "../../src/hls/playlist.js";
import { parseRangeHeader } from "../../src/player-kit/media.js";
import { SegmentIndex, TimelineOffset } from "../../src/player-kit/segment-index.js";

const xml = (text: string) => new DOMParser().parseFromString(text, "application/xml").documentElement as unknown as XmlElement;
const SAMPLE = readFileSync(new URL("../../../media/dash/manifest.mpd", import.meta.url), "utf8");
const MPD_URL = "https://cdn.example/vod/manifest.mpd";

test("the sample MPD (SegmentTimeline): two representations, ten 2 s segments each, numbered from startNumber", () => {
  const info = parseMpd(xml(SAMPLE), MPD_URL);
  assert.equal(info.dynamic, false);
  assert.equal(info.bootstrapValue, null);
  assert.deepEqual(info.representations.map((r) => [r.id, r.bandwidth, r.contentType, r.segments.length]), [["0", 180000, "video", 10], ["1", 90000, "video", 10]]);
  const s = info.representations[1]!.segments;
  assert.deepEqual(s[0], { number: 1, url: "https://cdn.example/vod/chunk-1-00001.m4s", startSec: 0, durationSec: 2 });
  assert.deepEqual(s[9], { number: 10, url: "https://cdn.example/vod/chunk-1-00010.m4s", startSec: 18, durationSec: 2 });
});

test("SegmentTemplate@duration in a static MPD: segments counted from the duration; a live one lists none", () => {
  const num = SAMPLE.replace(/<SegmentTimeline>[\s\S]*?<\/SegmentTimeline>\s*/g, "").replace(/<SegmentTemplate /g, '<SegmentTemplate duration="24576" ');
  const info = parseMpd(xml(num), MPD_URL);
  assert.deepEqual(info.representations.map((r) => r.segments.length), [10, 10]);
  assert.equal(info.representations[0]!.segments[4]!.startSec, 8);
  const live = num.replace('type="static"', 'type="dynamic"');
  assert.deepEqual(parseMpd(xml(live), MPD_URL).representations.map((r) => r.segments.length), [0, 0]);
});

test("timeline repeats, $Time$, BaseURL levels, period start and presentationTimeOffset", () => {
  const mpd = `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="dynamic"><BaseURL>https://edge.example/a/</BaseURL>
    <Period start="PT10S"><SupplementalProperty schemeIdUri="urn:meshcdn:bootstrap:2026" value="abc"/>
    <AdaptationSet mimeType="audio/mp4"><BaseURL>aud/</BaseURL>
    <SegmentTemplate timescale="1000" media="$RepresentationID$/$Time$.m4s" startNumber="7" presentationTimeOffset="5000">
    <SegmentTimeline><S t="5000" d="2000" r="1"/><S d="1000"/><S t="20000" d="4000" r="-1"/><S t="28000" d="4000"/></SegmentTimeline></SegmentTemplate>
    <Representation id="a1" bandwidth="64000"/></AdaptationSet></Period></MPD>`;
  const info = parseMpd(xml(mpd), "https://other.example/live.mpd");
  assert.equal(info.bootstrapValue, "abc");
  const segs = info.representations[0]!.segments;
  assert.equal(info.representations[0]!.contentType, "audio");
  assert.deepEqual(segs.map((s) => [s.number, s.url.replace("https://edge.example/a/aud/a1/", ""), s.startSec, s.durationSec]), [
    [7, "5000.m4s", 10, 2],
    [8, "7000.m4s", 12, 2],
    [9, "9000.m4s", 14, 1],
    [10, "20000.m4s", 25, 4],
    [11, "24000.m4s", 29, 4],
    [12, "28000.m4s", 33, 4],
  ]);
});

test("bad MPDs are refused with MpdError, not a crash", () => {
  assert.throws(() => parseMpd(xml("<Other/>"), MPD_URL), MpdError);
  assert.throws(() => parseMpd(xml("<MPD/>"), MPD_URL), /no <Period>/);
  assert.throws(() => parseMpd(xml(SAMPLE.replace('d="24576"', 'd="0"')), MPD_URL), /S@d/);
  assert.throws(() => parseMpd(xml(SAMPLE.replace('r="9"', 'r="-3"')), MPD_URL), /S@r/);
  assert.throws(() => parseMpd(xml(SAMPLE.replace('timescale="12288"', 'timescale="x"')), MPD_URL), /timescale/);
  assert.throws(() => parseMpd(xml(SAMPLE.replace("$Number%05d$", "$Frame$")), MPD_URL), /\$Frame\$/);
  assert.throws(() => parseMpd(xml(SAMPLE.replace(/<S t="0" d="24576" r="9" \/>/g, '<S t="0" d="1" r="200000" />')), MPD_URL), /more than/);
  assert.throws(() => parseIsoDuration("PT"), MpdError);
  assert.equal(parseIsoDuration("P1DT1H2M3.5S"), 86400 + 3723.5);
  assert.equal(expandTemplate("$RepresentationID$-$Number%03d$-$Bandwidth$-$$", "v", 7, 90, 0), "v-007-90-$");
});

test("hash document: keys resolved against the MPD, ranges and malformed entries skipped", () => {
  const h = "a".repeat(64);
  const m = parseHashDocument({ "chunk-0-00001.m4s": h, "https://x.example/s.m4s": h, "one.mp4#bytes=0-99": h, "bad.m4s": "XYZ", "n.m4s": 5 }, MPD_URL);
  assert.deepEqual([...m.keys()], ["https://cdn.example/vod/chunk-0-00001.m4s", "https://x.example/s.m4s"]);
  assert.throws(() => parseHashDocument([], MPD_URL), MpdError);
});

test("DASH bootstrap: the descriptor's value, integrity sha256-document with its hash document, swarms by Representation@id", () => {
  const b: Bootstrap = { v: 1, content: "vod/x", trackers: ["ws://t/announce"], token: null, swarms: { "0": "1".repeat(40), "1": "2".repeat(40) }, integrity: "sha256-document", hashes: "manifest.mpd.meshcdn-hashes.json" };
  const value = encodeBootstrap(b);
  const mpd = SAMPLE.replace("</AdaptationSet>", `</AdaptationSet>\n<SupplementalProperty value="${value}" schemeIdUri="urn:meshcdn:bootstrap:2026"/>`);
  assert.equal(bootstrapValueFromMpd(mpd), value);
  assert.equal(parseMpd(xml(mpd), MPD_URL).bootstrapValue, value);
  assert.equal(bootstrapValueFromMpd(SAMPLE), null);
  const parsed = parseBootstrap(value);
  assert.equal(parsed.hashes, "manifest.mpd.meshcdn-hashes.json");
  assert.deepEqual(bootstrapFromMasterPlaylist(mpd), parsed, "token refresh re-reads an MPD too");
  assert.throws(() => bootstrapFromMasterPlaylist(SAMPLE), BootstrapError);
  assert.throws(() => parseBootstrap(encodeBootstrap({ ...b, hashes: undefined })), /hashes/);
  assert.equal(swarmForPlaylist(parsed, MPD_URL, "1"), "2".repeat(40));
  assert.equal(swarmForPlaylist(parsed, MPD_URL, "7"), null);
});

test("HLS media playlists as the Shaka adapter reads them: numbers, hash tags, byte ranges", () => {
  const h = "b".repeat(64);
  const text = `#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:40\n#EXTINF:2.0,\n#EXT-X-MESHCDN-SHA256:${h}\nseg/40.ts\n#EXTINF:1.5,\nseg/41.ts\n#EXT-X-BYTERANGE:100@0\n#EXTINF:2,\nall.ts\n#EXT-X-BYTERANGE:50\n#EXTINF:2,\nall.ts\n`;
  const p = parseMediaPlaylist(text, "https://cdn.example/live/240p/index.m3u8");
  assert.equal(p.live, true);
  assert.deepEqual(p.segments.map((s) => [s.sn, s.url.slice(-9), s.durationSec, s.expectedSha256, s.rangeStart, s.rangeEnd]), [
    [40, "seg/40.ts", 2, h, undefined, undefined],
    [41, "seg/41.ts", 1.5, null, undefined, undefined],
    [42, "0p/all.ts", 2, null, 0, 100],
    [43, "0p/all.ts", 2, null, 100, 150],
  ]);
  assert.equal(parseMediaPlaylist(text + "#EXT-X-ENDLIST\n", "https://x/").live, false);
  assert.ok(isMasterPlaylist("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\na.m3u8\n"));
  assert.ok(!isMasterPlaylist(text));
});

test("a live playlist's timeline stays put as the window slides", () => {
  const tl = new PlaylistTimeline();
  const win = (first: number) => Array.from({ length: 3 }, (_, i) => ({ sn: first + i, durationSec: 2 }));
  assert.deepEqual(tl.place(win(10)), [0, 2, 4]);
  assert.deepEqual(tl.place(win(11)), [2, 4, 6]);
  assert.deepEqual(tl.place(win(20)), [6, 8, 10], "a jump continues after the latest known start");
});

test("segment index: by URL (and byte range), bounded per swarm; timeline offset; Range headers", () => {
  const idx = new SegmentIndex();
  const seg = (sn: number, extra = {}) => ({ sn, url: `https://c/s${sn}.m4s`, startSec: sn * 2, durationSec: 2, expectedSha256: null, ...extra });
  idx.update("0", [seg(1), seg(2)]);
  idx.update("0", [seg(3, { url: "https://c/all.ts", rangeStart: 0, rangeEnd: 10 })]);
  assert.equal(idx.find("https://c/s2.m4s")?.segment.sn, 2);
  assert.equal(idx.find("https://c/s2.m4s#t=1")?.swarmKey, "0");
  assert.equal(idx.find("https://c/all.ts", 0, 10)?.segment.sn, 3);
  assert.equal(idx.find("https://c/all.ts"), undefined);
  idx.update("1", Array.from({ length: 2_100 }, (_, i) => seg(100 + i)));
  assert.equal(idx.find("https://c/s100.m4s"), undefined, "the oldest entries of a long live window go");
  assert.ok(idx.find("https://c/s2199.m4s"));
  const off = new TimelineOffset();
  off.observe(30, 10);
  assert.equal(off.toAdapter(12), 32);
  assert.equal(off.toPlayer(32), 12);
  assert.deepEqual(parseRangeHeader("bytes=0-99"), { start: 0, end: 100 });
  assert.equal(parseRangeHeader("bytes=5-"), undefined);
});
