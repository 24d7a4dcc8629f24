#!/usr/bin/env bash
# Makes, at run time, the storage-encrypted assets that scripts/test-package
# packages: what Media Encoder Standard wrote for an adaptive-streaming
# preset, in small.
#
#   testdata/package/make_ladder.sh OUTDIR
#
# OUTDIR/plain (the plaintext, kept for comparisons):
#   ladder_1280x720_800.mp4, ladder_960x540_400.mp4, ladder_640x360_220.mp4
#       H.264 video only, 24 fps, 20 s, closed GOPs of exactly 48 frames
#       (2 s, aligned across the three: no scene-cut keyframes), B-frames,
#       testsrc2 with the time and frame number burned in, progressive
#       (+faststart); one ffmpeg run, one source split three ways;
#   ladder_AACAudio_eng_128.mp4, ladder_AACAudio_fra_128.mp4
#       AAC-LC stereo 48 kHz, 20 s, a 440 Hz and a 660 Hz tone, the
#       language in the track's mdhd;
#   ladder_eng.vtt  WebVTT, four cues over the 20 s;
#   ladder.ism      the SMIL server manifest naming all of the above;
# OUTDIR/single-plain/single.mp4: one progressive MP4, H.264 and AAC
#   interleaved, 2 s GOPs, 12 s: the "one MP4, no .ism" input.
# OUTDIR/multi-plain/ladder_360.ism: a second server manifest beside
#   ladder.ism, naming the 360p rendition and the French audio only.
#
# Three storage-encrypted assets, each under its own key, made by
# testdata/serve/encrypt_asset.py (Python `cryptography`, not our Go code):
#   OUTDIR/enc + OUTDIR/keys.json: the ladder (every file in plain, the .ism
#     and .vtt included, as in a real asset);
#   OUTDIR/single-enc + OUTDIR/single-keys.json: single.mp4 alone;
#   OUTDIR/multi-enc + OUTDIR/multi-keys.json: the ladder and ladder_360.ism
#     (two .ism files: a package each).
#
# The .ism follows the shape of the server manifests Media Services' encoder
# wrote (as in the Media Services documentation's examples: formats
# "mp4-v2", one <video> per rendition with trackID and trackName "video",
# <audio> with systemLanguage and an aac_<lang>_<channels>_<bitrate>_... track
# name, <textstream> with systemLanguage), without the .ismc the encoder
# also wrote, since packaging does not need it.
#
# Deterministic: the same ffmpeg makes the same plaintext bytes each run
# (-bitexact keeps version strings out; constant-quality x264, since its
# bitrate mode with frame threads is not repeatable); only the keys and IVs
# are random. Takes about 8 s on 2 cores; about 4 MB in all. Needs ffmpeg with libx264
# and drawtext (DejaVu Sans, fonts-dejavu-core) and python3 with
# cryptography ($PYTHON, default python3).
set -euo pipefail

[[ $# == 1 ]] || {
	echo "usage: make_ladder.sh OUTDIR" >&2
	exit 2
}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$1
py=${PYTHON:-python3}
font=${FONT:-/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf}
plain=$out/plain
single=$out/single-plain
multi=$out/multi-plain
mkdir -p "$plain" "$single" "$multi"

DUR=20
FF=(ffmpeg -nostdin -hide_banner -loglevel error -y)
BX=(-fflags +bitexact -flags:v +bitexact -flags:a +bitexact)
# Closed 2 s GOPs at 24 fps, keyframes nowhere else, B-frames allowed:
# segment boundaries can fall on every GOP of every rendition.
GOP=(-g 48 -keyint_min 48 -sc_threshold 0 -flags +cgop -bf 2 -pix_fmt yuv420p -profile:v main)
# Time, frame number and a label, big enough to read in a screenshot.
text() {
	printf "drawtext=fontfile=%s:fontsize=%d:fontcolor=white:box=1:boxcolor=black@0.6:x=(w-tw)/2:y=h*0.62:text='%s %%{pts\\:hms} frame %%{n}'" \
		"$font" "$2" "$1"
}

# The three renditions from one source: split, scale, burn in, encode.
# Constant quality, chosen so that the bitrates (testsrc2 compresses well)
# come near the names' nominal kbit/s and the asset stays small.
"${FF[@]}" -f lavfi -i "testsrc2=size=1280x720:rate=24:duration=$DUR" \
	-filter_complex "[0:v]split=3[a][b][c];[a]$(text 720p 44)[v720];[b]scale=960:540,$(text 540p 34)[v540];[c]scale=640:360,$(text 360p 24)[v360]" \
	-map '[v720]' -c:v libx264 -preset veryfast "${GOP[@]}" -crf 32 \
	"${BX[@]}" -movflags +faststart "$plain/ladder_1280x720_800.mp4" \
	-map '[v540]' -c:v libx264 -preset veryfast "${GOP[@]}" -crf 31 \
	"${BX[@]}" -movflags +faststart "$plain/ladder_960x540_400.mp4" \
	-map '[v360]' -c:v libx264 -preset veryfast "${GOP[@]}" -crf 30 \
	"${BX[@]}" -movflags +faststart "$plain/ladder_640x360_220.mp4"

# Audio: one MP4 per language, the language in the mdhd.
for la in eng:440 fra:660; do
	"${FF[@]}" -f lavfi -i "sine=frequency=${la#*:}:sample_rate=48000:duration=$DUR" \
		-ac 2 -c:a aac -b:a 128k -metadata:s:a:0 "language=${la%:*}" "${BX[@]}" \
		-movflags +faststart "$plain/ladder_AACAudio_${la%:*}_128.mp4"
done

cat >"$plain/ladder_eng.vtt" <<'EOF'
WEBVTT

00:00:00.000 --> 00:00:04.000
amscrypt package: a test ladder

00:00:05.000 --> 00:00:09.500
three renditions, 2 s GOPs

00:00:10.000 --> 00:00:14.000
English at 440 Hz, French at 660 Hz

00:00:15.000 --> 00:00:19.900
the end of the test asset
EOF

# bitrate FILE: the stream's bit rate as ffprobe reads it (bits/s).
bitrate() { ffprobe -v error -select_streams 0 -show_entries stream=bit_rate -of csv=p=0 "$1"; }
# ism "VIDEO..." "LANG..." [VTT]: a server manifest naming those files.
ism() {
	printf '<?xml version="1.0" encoding="utf-8" standalone="yes"?>\n'
	printf '<smil xmlns="http://www.w3.org/2001/SMIL20/Language">\n'
	printf '  <head>\n    <meta name="formats" content="mp4-v2" />\n  </head>\n'
	printf '  <body>\n    <switch>\n'
	local f b l
	for f in $1; do
		b=$(bitrate "$plain/$f")
		printf '      <video src="%s" systemBitrate="%s">\n' "$f" "$b"
		printf '        <param name="systemBitrate" value="%s" valuetype="data" />\n' "$b"
		printf '        <param name="trackID" value="1" valuetype="data" />\n'
		printf '        <param name="trackName" value="video" valuetype="data" />\n'
		printf '      </video>\n'
	done
	for l in $2; do
		f=ladder_AACAudio_${l}_128.mp4
		b=$(bitrate "$plain/$f")
		printf '      <audio src="%s" systemBitrate="%s" systemLanguage="%s">\n' "$f" "$b" "$l"
		printf '        <param name="systemBitrate" value="%s" valuetype="data" />\n' "$b"
		printf '        <param name="trackID" value="1" valuetype="data" />\n'
		printf '        <param name="trackName" value="aac_%s_2_%s_1_1" valuetype="data" />\n' "$l" "$b"
		printf '        <param name="systemLanguage" value="%s" valuetype="data" />\n' "$l"
		printf '      </audio>\n'
	done
	if [[ -n ${3-} ]]; then
		printf '      <textstream src="%s" systemLanguage="eng">\n' "$3"
		printf '        <param name="systemLanguage" value="eng" valuetype="data" />\n'
		printf '        <param name="trackName" value="subt_eng" valuetype="data" />\n'
		printf '      </textstream>\n'
	fi
	printf '    </switch>\n  </body>\n</smil>\n'
}
ism "ladder_1280x720_800.mp4 ladder_960x540_400.mp4 ladder_640x360_220.mp4" "eng fra" ladder_eng.vtt >"$plain/ladder.ism"
ism ladder_640x360_220.mp4 fra >"$multi/ladder_360.ism"

# One progressive MP4 with both tracks interleaved, 12 s.
"${FF[@]}" -f lavfi -i "testsrc2=size=640x360:rate=24:duration=12" \
	-f lavfi -i "sine=frequency=550:sample_rate=48000:duration=12" \
	-vf "$(text single 24)" -c:v libx264 -preset veryfast "${GOP[@]}" -crf 30 \
	-ac 2 -c:a aac -b:a 96k -metadata:s:a:0 language=eng "${BX[@]}" -movflags +faststart "$single/single.mp4"

"$py" "$here/../serve/encrypt_asset.py" --out "$out/enc" --keys-out "$out/keys.json" "$plain"/*
"$py" "$here/../serve/encrypt_asset.py" --out "$out/single-enc" --keys-out "$out/single-keys.json" "$single/single.mp4"
"$py" "$here/../serve/encrypt_asset.py" --out "$out/multi-enc" --keys-out "$out/multi-keys.json" "$plain"/* "$multi/ladder_360.ism"
