#!/bin/sh
# Fixtures for package media, made by ffmpeg (an implementation that is not
# ours), so that the verifier is tested on files real muxers write.
#
# Run from the repository root:  sh testdata/media/gen_media.sh
#
# Every file is tiny (one second, 160x90, 10 fps; under 40 KiB each, ~200 KiB in all) and
# deterministic enough for tests: the tests check structure, never bytes.
# Made with ffmpeg 5.1 (Debian 12); -bitexact keeps encoder version strings
# out of the files.
set -eu
cd "$(dirname "$0")"
FF="ffmpeg -hide_banner -loglevel error -y"
SRC="-f lavfi -i testsrc2=size=160x90:rate=10:duration=1 -f lavfi -i sine=frequency=440:sample_rate=22050:duration=1"
ENC="-c:v libx264 -preset veryfast -profile:v baseline -g 5 -pix_fmt yuv420p -c:a aac -b:a 32k -ac 1"
BX="-fflags +bitexact -flags:v +bitexact -flags:a +bitexact"

# Progressive MP4, moov at the end (ffmpeg's default) and moov first (faststart).
$FF $SRC $ENC $BX -f mp4 progressive-moov-end.mp4
$FF $SRC $ENC $BX -movflags +faststart -f mp4 progressive-faststart.mp4
# Fragmented MP4: ftyp, moov (with mvex), then moof+mdat pairs and mfra.
$FF $SRC $ENC $BX -movflags +frag_keyframe+empty_moov+default_base_moof -f mp4 fragmented.mp4
# Smooth Streaming: an .ismv (ftyp, moov, moof+mdat with tfxd uuid boxes, mfra).
$FF $SRC $ENC $BX -f ismv smooth.ismv
# A live archive's fragblobs: an init segment (ftyp, moov) named header and
# media segments (styp, moof, mdat) named by their start, from the DASH muxer;
# and bare moof+mdat fragments with tfxd, and their client manifest, from the
# Smooth Streaming muxer.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && $FF $SRC -map 0:v $ENC $BX -f dash -seg_duration 0.5 -init_seg_name header \
	-media_seg_name 'seg-$Number$' dash.mpd)
rm -rf live && mkdir -p live/video live/audio
cp "$tmp/header" live/video/header
n=0
for s in "$tmp"/seg-*; do cp "$s" "live/video/$n"; n=$((n + 5000000)); done
cp "$tmp/dash.mpd" dash.xml
(cd "$tmp" && $FF $SRC $ENC $BX -f smoothstreaming -min_frag_duration 500000 smooth.ism)
for f in "$tmp"/smooth.ism/QualityLevels*/"Fragments(audio="*; do
	t=${f##*=}; cp "$f" "live/audio/${t%)}"
done
cp "$tmp/smooth.ism/Manifest" smooth.ismc
# MPEG-TS.
$FF $SRC $ENC $BX -f mpegts stream.ts
# WebVTT subtitles, from SubRip text.
cat > subs.srt <<'SRT'
1
00:00:00,000 --> 00:00:00,500
Hello

2
00:00:00,500 --> 00:00:01,000
<i>world</i>
SRT
$FF -i subs.srt -f webvtt subs.vtt
rm subs.srt
# A JPEG and a PNG still.
$FF -f lavfi -i testsrc2=size=160x90:rate=1 -frames:v 1 $BX -f image2 -c:v mjpeg still.jpg
$FF -f lavfi -i testsrc2=size=160x90:rate=1 -frames:v 1 $BX -f image2 -c:v png still.png
# JSON from ffprobe.
ffprobe -hide_banner -loglevel error -of json -show_format -show_streams progressive-faststart.mp4 > probe.json
find . -type f ! -name gen_media.sh | sort | xargs ls -l
