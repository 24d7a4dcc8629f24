#!/usr/bin/env python3
"""Make a small Azure Media Services live archive from ffmpeg output.

    python3 testdata/livearchive/gen_livearchive.py   # rewrites src/ and archive/ beside this file

src/<track>.mp4 are fragmented MP4s made by ffmpeg (/usr/bin/ffmpeg): one per track, 2 s fragments,
about 11 s. archive/ is the same media cut the way AMS stored a live archive:

    archive/live.ism, archive/live.ismc
    archive/<prefix>/header      ftyp + moov (one header keeps a top-level uuid box, one lacks mvex)
    archive/<prefix>/<time>      moof + mdat per fragment, named by its start time in the track
                                 timescale, its tfdt replaced by a Smooth tfxd uuid box
                                 carrying the decode time plus one hour (a channel's clock)

Tracks: video (H.264, 64x48, 25 fps, timescale 10 MHz, B-frames), audio_eng and audio_fra (AAC
mono 32 kb/s, StreamIndex TimeScale 48000), text (3GPP timed text 'tx3g': ffmpeg 5.1 cannot write
fragmented WebVTT or TTML in MP4; a stitcher treats every track the same).

Nothing here comes from the Go code under test. The cutter walks boxes with struct, and every
fragment's tfxd time is checked against ffprobe's packet list of the source (the decode time of the
first packet whose position lies inside the fragment's mdat), so a cutting mistake cannot agree
with a stitching mistake.
"""

import json
import os
import shutil
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "src")
OUT = os.path.join(HERE, "archive")
FFMPEG = os.environ.get("FFMPEG", "/usr/bin/ffmpeg")
FFPROBE = os.environ.get("FFPROBE", "/usr/bin/ffprobe")

TFXD = bytes.fromhex("6d1d9b0542d544e680e2141daff757b2")
DOC_TIMESCALE = 10000000
# Every tfxd time is the source's decode time plus this many seconds: the channel's clock.
CLOCK_SECONDS = 3600

FRAG = ["-movflags", "+frag_keyframe+empty_moov+default_base_moof", "-frag_duration", "2000000"]

VTT = """WEBVTT

00:00:00.500 --> 00:00:01.500
one

00:00:02.500 --> 00:00:03.800
two

00:00:05.000 --> 00:00:06.000
three

00:00:08.200 --> 00:00:09.400
four
"""

# name, ism element, StreamIndex Type, trackName, language, bitrate, ffmpeg arguments
TRACKS = [
    ("video", "video", "video", "video", None, 48000,
     ["-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25:duration=11",
      "-c:v", "libx264", "-preset", "veryfast", "-crf", "38", "-g", "50", "-keyint_min", "50",
      "-sc_threshold", "0", "-bf", "2", "-pix_fmt", "yuv420p", "-video_track_timescale", "10000000"]),
    ("audio_eng", "audio", "audio", "audio_eng", "eng", 32000,
     ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=11",
      "-c:a", "aac", "-b:a", "32k", "-ac", "1", "-metadata:s:a:0", "language=eng"]),
    ("audio_fra", "audio", "audio", "audio_fra", "fra", 32000,
     ["-f", "lavfi", "-i", "sine=frequency=660:sample_rate=48000:duration=11",
      "-c:a", "aac", "-b:a", "32k", "-ac", "1", "-metadata:s:a:0", "language=fra"]),
    ("text", "textstream", "text", "text", "eng", 1000,
     ["-i", "{vtt}", "-c:s", "mov_text", "-metadata:s:s:0", "language=eng"]),
]


def boxes(data, start=0, end=None):
    """Yield (type, offset, size, header size) of the boxes in data[start:end]."""
    end = len(data) if end is None else end
    o = start
    while o < end:
        size, typ = struct.unpack(">I4s", data[o:o + 8])
        hdr = 8
        if size == 1:
            size = struct.unpack(">Q", data[o + 8:o + 16])[0]
            hdr = 16
        elif size == 0:
            size = end - o
        if size < hdr or o + size > end:
            raise ValueError("box %r at %d: bad size %d" % (typ, o, size))
        if typ == b"uuid":
            hdr += 16
        yield typ.decode("latin-1"), o, size, hdr
        o += size


def child(data, parent_off, parent_size, parent_hdr, typ):
    for t, o, s, h in boxes(data, parent_off + parent_hdr, parent_off + parent_size):
        if t == typ:
            return o, s, h
    return None


def box(typ, payload):
    return struct.pack(">I4s", 8 + len(payload), typ.encode()) + payload


def tfxd_box(time, duration):
    return struct.pack(">I4s", 8 + 16 + 4 + 16, b"uuid") + TFXD + struct.pack(">I", 1 << 24) + \
        struct.pack(">QQ", time, duration)


def trex_defaults(moov_data):
    """trex default_sample_duration by track id."""
    out = {}
    mv = child(moov_data, 0, len(moov_data), 8, "mvex")
    if mv:
        for t, o, s, h in boxes(moov_data, mv[0] + 8, mv[0] + mv[1]):
            if t == "trex":
                tid, _, dur = struct.unpack(">III", moov_data[o + 12:o + 24])
                out[tid] = dur
    return out


def cut_fragment(data, moof_off, moof_size, mdat_end, trex, offset):
    """Return (fragment bytes with tfdt replaced by tfxd, tfxd time, duration): the time is the
    tfdt's plus offset, as a live channel's clock does not start at 0."""
    moof = bytearray(data[moof_off:mdat_end])
    m_size = moof_size
    traf = child(moof, 0, m_size, 8, "traf")
    if traf is None:
        raise ValueError("moof without traf")
    t_off, t_size, _ = traf
    tfhd = child(moof, t_off, t_size, 8, "tfhd")
    tfdt = child(moof, t_off, t_size, 8, "tfdt")
    trun = child(moof, t_off, t_size, 8, "trun")
    if tfhd is None or tfdt is None or trun is None:
        raise ValueError("traf lacks tfhd, tfdt or trun")
    # Decode time from tfdt.
    d_off, d_size, _ = tfdt
    version = moof[d_off + 8]
    time = struct.unpack(">Q" if version == 1 else ">I", moof[d_off + 12:d_off + d_size])[0]
    # Duration: trun sample durations, else tfhd default, else trex default.
    h_off, _, _ = tfhd
    tf_flags = struct.unpack(">I", moof[h_off + 8:h_off + 12])[0] & 0xFFFFFF
    track_id = struct.unpack(">I", moof[h_off + 12:h_off + 16])[0]
    p = h_off + 16
    if tf_flags & 0x1:
        p += 8
    if tf_flags & 0x2:
        p += 4
    default_dur = trex.get(track_id, 0)
    if tf_flags & 0x8:
        default_dur = struct.unpack(">I", moof[p:p + 4])[0]
    r_off, r_size, _ = trun
    r_flags = struct.unpack(">I", moof[r_off + 8:r_off + 12])[0] & 0xFFFFFF
    count = struct.unpack(">I", moof[r_off + 12:r_off + 16])[0]
    q = r_off + 16
    data_offset_at = None
    if r_flags & 0x1:
        data_offset_at = q
        q += 4
    if r_flags & 0x4:
        q += 4
    duration = 0
    for _ in range(count):
        if r_flags & 0x100:
            duration += struct.unpack(">I", moof[q:q + 4])[0]
            q += 4
        else:
            duration += default_dur
        for flag in (0x200, 0x400, 0x800):
            if r_flags & flag:
                q += 4
    if data_offset_at is None or not tf_flags & 0x20000:
        raise ValueError("want trun data offsets relative to the moof (default-base-is-moof)")
    time += offset
    new = tfxd_box(time, duration)
    grow = len(new) - d_size
    data_offset = struct.unpack(">i", moof[data_offset_at:data_offset_at + 4])[0]
    moof[data_offset_at:data_offset_at + 4] = struct.pack(">i", data_offset + grow)
    moof[d_off:d_off + d_size] = new
    moof[t_off:t_off + 4] = struct.pack(">I", t_size + grow)
    moof[0:4] = struct.pack(">I", m_size + grow)
    return bytes(moof), time, duration


def strip_mvex(moov):
    mv = child(moov, 0, len(moov), 8, "mvex")
    out = moov[:mv[0]] + moov[mv[0] + mv[1]:]
    return struct.pack(">I", len(out)) + out[4:]


def ffprobe_fragment_times(path, mdat_ranges):
    """First decode time (in the stream time base) of the packets inside each mdat range."""
    out = subprocess.run([FFPROBE, "-v", "error", "-select_streams", "0", "-show_entries",
                          "packet=dts,pos", "-of", "json", path], check=True, capture_output=True).stdout
    packets = json.loads(out)["packets"]
    firsts = [None] * len(mdat_ranges)
    for pk in packets:
        pos, dts = int(pk["pos"]), int(pk["dts"])
        for i, (a, b) in enumerate(mdat_ranges):
            if a <= pos < b:
                if firsts[i] is None or dts < firsts[i]:
                    firsts[i] = dts
                break
        else:
            raise ValueError("%s: packet at %d is in no mdat" % (path, pos))
    return firsts


def chunks_xml(chunks):
    """<c> elements: t only where the timeline jumps, r for runs of equal durations."""
    out, prev_end, i = [], None, 0
    while i < len(chunks):
        t, d = chunks[i]
        r = 1
        while i + r < len(chunks) and chunks[i + r][1] == d and chunks[i + r][0] == t + r * d:
            r += 1
        attrs = ""
        if prev_end is None or t != prev_end:
            attrs += ' t="%d"' % t
        attrs += ' d="%d"' % d
        if r > 1:
            attrs += ' r="%d"' % r
        out.append("      <c%s/>" % attrs)
        prev_end = t + r * d
        i += r
    return "\n".join(out)


def main():
    if not os.path.exists(FFMPEG):
        sys.exit("gen_livearchive: no ffmpeg at %s" % FFMPEG)
    shutil.rmtree(SRC, ignore_errors=True)
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(SRC)
    os.makedirs(OUT)
    vtt = os.path.join(SRC, "text.vtt")
    with open(vtt, "w") as f:
        f.write(VTT)

    streams, switch = [], []
    expected = {}
    for i, (name, elem, typ, track_name, lang, bitrate, args) in enumerate(TRACKS):
        src = os.path.join(SRC, name + ".mp4")
        args = [a.replace("{vtt}", vtt) for a in args]
        subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-y", "-bitexact"] + args + FRAG +
                       ["-fflags", "+bitexact", "-f", "mp4", src], check=True)
        data = open(src, "rb").read()
        top = list(boxes(data))
        ftyp = next((o, s) for t, o, s, _ in top if t == "ftyp")
        moov = next((o, s) for t, o, s, _ in top if t == "moov")
        moov_data = data[moov[0]:moov[0] + moov[1]]
        timescale = struct.unpack(">I", moov_data[moov_data.find(b"mdhd") + 16:][:4])[0] \
            if moov_data[moov_data.find(b"mdhd") + 4] == 0 else \
            struct.unpack(">I", moov_data[moov_data.find(b"mdhd") + 24:][:4])[0]
        trex = trex_defaults(moov_data)
        prefix = "%s=%d" % (track_name, bitrate)
        os.makedirs(os.path.join(OUT, prefix))
        header = data[ftyp[0]:ftyp[0] + ftyp[1]]
        if name == "audio_fra":
            header += strip_mvex(moov_data)  # a header without mvex/trex: the stitcher adds them
        else:
            header += moov_data
        if name == "video":
            # AMS headers may end with a uuid box (the stream manifest box) that players ignore.
            header += struct.pack(">I4s", 8 + 16 + 4, b"uuid") + bytes.fromhex(
                "3c2fe51befee40a3ae815300199dc348") + b"\0\0\0\0"
        open(os.path.join(OUT, prefix, "header"), "wb").write(header)

        chunks, mdats = [], []
        moofs = [(o, s) for t, o, s, _ in top if t == "moof"]
        mdat_list = [(o, s, h) for t, o, s, h in top if t == "mdat"]
        if len(moofs) != len(mdat_list):
            raise ValueError("%s: %d moof, %d mdat" % (src, len(moofs), len(mdat_list)))
        for (mo, ms), (do, ds, dh) in zip(moofs, mdat_list):
            if do != mo + ms:
                raise ValueError("%s: mdat does not follow moof at %d" % (src, mo))
            frag, t, d = cut_fragment(data, mo, ms, do + ds, trex, CLOCK_SECONDS * timescale)
            open(os.path.join(OUT, prefix, str(t)), "wb").write(frag)
            chunks.append((t, d))
            mdats.append((do + dh, do + ds))

        # Independent check of the cut: ffprobe's first decode time per fragment must move as the
        # tfxd times do (ffprobe's dts may be shifted by the edit list, by the same amount for all).
        firsts = ffprobe_fragment_times(src, mdats)
        shift = firsts[0] - (chunks[0][0] - CLOCK_SECONDS * timescale)
        for (t, _), f in zip(chunks, firsts):
            if f - shift + CLOCK_SECONDS * timescale != t:
                raise ValueError("%s: fragment tfxd %d, ffprobe dts %d (shift %d)" % (src, t, f, shift))
        expected[prefix] = {"source": "src/%s.mp4" % name, "timescale": timescale,
                            "clock": CLOCK_SECONDS * timescale,
                            "fragments": [str(t) for t, _ in chunks]}

        attrs = ' Type="%s" Name="%s" Chunks="%d" QualityLevels="1" Url="QualityLevels({bitrate})/Fragments(%s={start time})"' % (
            typ, track_name, len(chunks), track_name)
        if lang:
            attrs += ' Language="%s"' % lang
        if timescale != DOC_TIMESCALE:
            attrs += ' TimeScale="%d"' % timescale
        fourcc = {"video": "H264", "audio": "AACL", "text": "TX3G"}[typ]
        ql = '      <QualityLevel Index="0" Bitrate="%d" FourCC="%s" CodecPrivateData=""/>' % (bitrate, fourcc)
        streams.append("    <StreamIndex%s>\n%s\n%s\n    </StreamIndex>" % (attrs, ql, chunks_xml(chunks)))
        lang_attr = ' systemLanguage="%s"' % lang if lang else ""
        switch.append('      <%s src="%s" systemBitrate="%d"%s>\n'
                      '        <param name="trackID" value="%d" valuetype="data" />\n'
                      '        <param name="trackName" value="%s" valuetype="data" />\n'
                      '        <param name="timescale" value="%d" valuetype="data" />\n'
                      '      </%s>' % (elem, prefix, bitrate, lang_attr, 1, track_name, timescale, elem))

    duration = 11 * DOC_TIMESCALE
    ismc = ('<?xml version="1.0" encoding="utf-8"?>\n'
            '<SmoothStreamingMedia MajorVersion="2" MinorVersion="2" TimeScale="%d" Duration="%d">\n%s\n'
            '</SmoothStreamingMedia>\n' % (DOC_TIMESCALE, duration, "\n".join(streams)))
    open(os.path.join(OUT, "live.ismc"), "w").write(ismc)
    ism = ('<?xml version="1.0" encoding="utf-8" standalone="yes"?>\n'
           '<smil xmlns="http://www.w3.org/2001/SMIL20/Language">\n'
           '  <head>\n'
           '    <meta name="formats" content="vod-fmp4" />\n'
           '    <meta name="clientManifestRelativePath" content="live.ismc" />\n'
           '  </head>\n'
           '  <body>\n    <switch>\n%s\n    </switch>\n  </body>\n</smil>\n' % "\n".join(switch))
    open(os.path.join(OUT, "live.ism"), "w").write(ism)
    with open(os.path.join(HERE, "expected.json"), "w") as f:
        json.dump({"generator": "gen_livearchive.py (ffmpeg, ffprobe, struct)", "tracks": expected}, f,
                  indent=1, sort_keys=True)
        f.write("\n")
    os.remove(vtt)


if __name__ == "__main__":
    main()
