#!/usr/bin/env bash
# Makes the sample streams under media/ with ffmpeg (Debian package) from the lavfi test source:
#   media/hls-ts/    HLS, MPEG-TS segments, two renditions (360p, 240p), master playlist
#   media/hls-fmp4/  HLS, fMP4 segments (EXT-X-MAP), two renditions, master playlist
#   media/hls-byterange/  HLS media playlist of EXT-X-BYTERANGE segments in one TS file (240p)
#   media/dash/      DASH, SegmentTemplate $Number$ with a SegmentTimeline, two representations
# 20 s of video in 2 s segments at small bitrates, so all of it stays well under 5 MB.
# Single-threaded, bit-exact encodes so reruns give (near-)identical files. The generated files are
# committed: tests and `meshcdn demo` use them without running this script.
# Usage: scripts/make-media.sh [OUT_DIR]   (default: media/)
# MEDIA_DURATION=SECONDS (default 20) and MEDIA_FORMATS="hls-ts ..." (default: all four) make other
# streams, e.g. the offload benchmark's 120 s one (client/bench/offload).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:-$ROOT/media}"
command -v ffmpeg >/dev/null || { echo "make-media: ffmpeg is missing (apt-get install ffmpeg)" >&2; exit 1; }

DURATION="${MEDIA_DURATION:-20}"
FORMATS=" ${MEDIA_FORMATS:-hls-ts hls-fmp4 hls-byterange dash} "
want() { [[ "$FORMATS" == *" $1 "* ]]; }
FPS=24
SEG=2
GOP=$((FPS * SEG))
SRC=(-f lavfi -i "testsrc2=size=640x360:rate=$FPS:duration=$DURATION")
X264=(-c:v libx264 -preset veryfast -profile:v main -pix_fmt yuv420p -threads 1
      -g "$GOP" -keyint_min "$GOP" -sc_threshold 0 -bf 0
      -fflags +bitexact -flags:v +bitexact -map_metadata -1)
# Two renditions: 360p at 180 kb/s and 240p at 90 kb/s.
SPLIT=(-filter_complex "[0:v]split=2[a][b];[a]null[v360];[b]scale=426:240[v240]")
RENDITIONS=(-map "[v360]" -map "[v240]"
            -b:v:0 180k -maxrate:v:0 200k -bufsize:v:0 360k
            -b:v:1 90k -maxrate:v:1 100k -bufsize:v:1 180k)

for f in $FORMATS; do rm -rf "${OUT:?}/$f"; mkdir -p "$OUT/$f"; done

want hls-ts && echo "make-media: HLS (MPEG-TS)" &&
ffmpeg -hide_banner -loglevel error -y "${SRC[@]}" "${SPLIT[@]}" "${RENDITIONS[@]}" "${X264[@]}" \
  -f hls -hls_time "$SEG" -hls_playlist_type vod -hls_segment_type mpegts \
  -hls_segment_filename "$OUT/hls-ts/%v/seg_%03d.ts" \
  -master_pl_name master.m3u8 -var_stream_map "v:0,name:360p v:1,name:240p" \
  "$OUT/hls-ts/%v/index.m3u8"

want hls-fmp4 && echo "make-media: HLS (fMP4)" &&
ffmpeg -hide_banner -loglevel error -y "${SRC[@]}" "${SPLIT[@]}" "${RENDITIONS[@]}" "${X264[@]}" \
  -f hls -hls_time "$SEG" -hls_playlist_type vod -hls_segment_type fmp4 \
  -hls_fmp4_init_filename init.mp4 \
  -hls_segment_filename "$OUT/hls-fmp4/%v/seg_%03d.m4s" \
  -master_pl_name master.m3u8 -var_stream_map "v:0,name:360p v:1,name:240p" \
  "$OUT/hls-fmp4/%v/index.m3u8"

want hls-byterange && echo "make-media: HLS (byte ranges in one TS file, 240p only)" &&
ffmpeg -hide_banner -loglevel error -y "${SRC[@]}" -vf scale=426:240 -b:v 90k -maxrate 100k -bufsize 180k "${X264[@]}" \
  -f hls -hls_time "$SEG" -hls_playlist_type vod -hls_flags single_file \
  "$OUT/hls-byterange/index.m3u8"

want dash && echo "make-media: DASH" &&
(cd "$OUT/dash" && ffmpeg -hide_banner -loglevel error -y "${SRC[@]}" "${SPLIT[@]}" "${RENDITIONS[@]}" "${X264[@]}" \
  -f dash -seg_duration "$SEG" -use_template 1 -use_timeline 1 -adaptation_sets "id=0,streams=v" \
  -init_seg_name 'init-$RepresentationID$.mp4' \
  -media_seg_name 'chunk-$RepresentationID$-$Number%05d$.m4s' \
  manifest.mpd)

du -sh "$OUT"
