#!/usr/bin/env python3
"""The checks of scripts/test-package that read HLS and DASH packages, and its static server.

    package-check.py check --label L --hls MASTER --dash MPD --source FILE... [--vtt LANG=FILE]
    package-check.py static DIR

`check` reads a package as clients do, from files or from http:// URLs: MASTER (an HLS
multivariant playlist) and MPD (a DASH MPD), and compares it with the source files the package was
made from. It prints one line per check, "PASS<TAB>what" or "FAIL<TAB>what<TAB>detail...", and
"NOTE<TAB>what" for what it could not check; scripts/test-package counts them. Each source track
is known by a key: "video WxH" or "audio LANG" (plain "audio" when the sources hold one audio
track), or "text LANG" for --vtt. The checks:

  - ffprobe reads MASTER and MPD: the video sizes and audio languages it lists are the sources',
    and its duration is within one segment (6 s) of theirs;
  - every track of the package, read through each HLS media playlist and each DASH
    representation (ffmpeg -map of that stream), equals the source's track, packet by packet (see
    framemd5 below); every source track is found;
  - a subtitle rendition for each --vtt, whose cues' text equals the source's.

`static` serves DIR on 127.0.0.1 (an ephemeral port, printed as http://127.0.0.1:PORT on the first
line of stdout), with byte ranges, for the players.
"""

import argparse
import http.server
import json
import os
import re
import subprocess
import sys
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

TIMEOUT = 60  # seconds, for each ffmpeg or ffprobe run
HTTP_TIMEOUT = 20  # seconds, for each request this script makes
SEGMENT = 6.0  # seconds: the duration may differ from the source's by one segment

LANG = {"en": "eng", "eng": "eng", "fr": "fra", "fra": "fra", "fre": "fra"}


def lang3(tag):
    """ISO 639-2 for a language tag, whether the package wrote eng, en or en-US."""
    tag = (tag or "").lower()
    return LANG.get(tag.split("-")[0], tag)


results = []


def report(status, what, *detail):
    line = "\t".join([status, what] + [str(d).replace("\t", " ").replace("\n", " | ")[:400] for d in detail])
    print(line, flush=True)
    results.append(status)


def run(args):
    """Runs a client with a timeout; returns (exit status, stdout, stderr)."""
    try:
        p = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        return -1, "", "timed out after %d s: %s" % (TIMEOUT, " ".join(args))


def is_url(s):
    return s.startswith("http://") or s.startswith("https://")


def net(src, manifest):
    """ffmpeg's input options: for a URL, a read that stalls fails instead of hanging; for a
    manifest, any file name extension is allowed (the Debian ffmpeg's HLS and DASH demuxers refuse a
    sidecar .vtt otherwise, and the checks are of the package, not of ffmpeg's policy)."""
    return (["-rw_timeout", str(HTTP_TIMEOUT * 1000000)] if is_url(src) else []) + (
        ["-allowed_extensions", "ALL"] if manifest else [])


def read_text(src):
    if is_url(src):
        with urllib.request.urlopen(src, timeout=HTTP_TIMEOUT) as r:
            return r.read().decode("utf-8-sig")
    with open(src, encoding="utf-8-sig") as f:
        return f.read()


def resolve(base, ref):
    if is_url(base):
        return urllib.parse.urljoin(base, ref)
    if is_url(ref):
        return ref
    return os.path.normpath(os.path.join(os.path.dirname(base), urllib.parse.unquote(ref)))


def probe(src, manifest=True):
    code, out, err = run(["ffprobe", "-v", "error"] + net(src, manifest) + [
        "-show_entries", "stream=index,codec_type,codec_name,width,height:stream_tags=language:format=duration",
        "-of", "json", src])
    if code != 0:
        raise RuntimeError("ffprobe %s: exit %d: %s" % (src, code, err.strip()[:300]))
    return json.loads(out)


def stream_key(s, lang, one_audio):
    t = s.get("codec_type")
    if t == "video":
        return "video %sx%s" % (s.get("width"), s.get("height"))
    if t == "audio":
        return "audio" if one_audio else "audio " + lang3(lang or s.get("tags", {}).get("language"))
    return t


def framemd5(src, index, manifest=True):
    """What is compared of a track: its packets in order, each by its size and the MD5 of its
    bytes (ffmpeg -c copy -f framemd5, the size and hash columns), and the codec configuration
    (the #extradata line: avcC, AudioSpecificConfig). Not the timestamps or durations: a packager
    may rebase them (baseMediaDecodeTime, an edit list made into an offset, another timescale)
    without changing a bit of any access unit; what must not change is which access units there
    are, their order and their bytes. Side data (the priming samples' skip flag) is not compared
    either, since it follows the edit list."""
    code, out, err = run(["ffmpeg", "-nostdin", "-v", "error"] + net(src, manifest) + [
        "-i", src, "-map", "0:%d" % index, "-c", "copy", "-f", "framemd5", "-"])
    if code != 0:
        raise RuntimeError("ffmpeg framemd5 %s stream %d: exit %d: %s" % (src, index, code, err.strip()[:300]))
    extradata, packets = None, []
    for line in out.splitlines():
        if line.startswith("#extradata"):
            extradata = line.split(",")[-1].strip()
        elif line and not line.startswith("#"):
            f = [x.strip() for x in line.split(",")]
            packets.append((f[4], f[5]))
    return extradata, packets


def compare_tracks(want, got):
    """Where two framemd5 results first differ, or None."""
    (wx, wp), (gx, gp) = want, got
    if wx != gx:
        return "codec configuration (extradata) differs: %s, source %s" % (gx, wx)
    for i, (w, g) in enumerate(zip(wp, gp)):
        if w != g:
            return "packet %d differs: size %s md5 %s, source size %s md5 %s" % (i, g[0], g[1], w[0], w[1])
    if len(wp) != len(gp):
        return "%d packets, source %d" % (len(gp), len(wp))
    return None


def parse_attrs(s):
    return {m.group(1): m.group(2).strip('"') for m in re.finditer(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)', s)}


def hls_renditions(master):
    """The master's variants and renditions: (kind, uri, attrs), kind being STREAM-INF or the
    EXT-X-MEDIA TYPE."""
    lines = [l.strip() for l in read_text(master).splitlines()]
    if not lines or lines[0] != "#EXTM3U":
        raise RuntimeError("%s does not start with #EXTM3U" % master)
    out = []
    for i, l in enumerate(lines):
        if l.startswith("#EXT-X-MEDIA:"):
            a = parse_attrs(l.split(":", 1)[1])
            out.append((a.get("TYPE"), a.get("URI"), a))
        elif l.startswith("#EXT-X-STREAM-INF:"):
            uri = next((x for x in lines[i + 1:] if x and not x.startswith("#")), None)
            out.append(("STREAM-INF", uri, parse_attrs(l.split(":", 1)[1])))
    return out


def vtt_cues(text):
    """The cues of a WebVTT document: (start seconds, text), and its X-TIMESTAMP-MAP offset."""
    cues, offset = [], 0.0
    m = re.search(r"X-TIMESTAMP-MAP=([^\r\n]*)", text)
    if m:
        a = dict(kv.split(":", 1) for kv in m.group(1).split(",") if ":" in kv)
        offset = int(a.get("MPEGTS", "0")) / 90000.0 - vtt_time(a.get("LOCAL", "00:00.000"))
    for block in re.split(r"\r?\n\r?\n", text):
        ls = block.strip().splitlines()
        for j, l in enumerate(ls):
            if "-->" in l:
                cues.append((vtt_time(l.split("-->")[0].strip()) + offset, "\n".join(ls[j + 1:]).strip()))
                break
    return cues


def vtt_time(s):
    parts = s.split()[0].split(":")
    h = int(parts[-3]) if len(parts) > 2 else 0
    m = int(parts[-2]) if len(parts) > 1 else 0
    return h * 3600 + m * 60 + float(parts[-1])


def check_cues(what, src_cues, got_cues):
    seen, texts = set(), []
    for t, text in sorted(got_cues):
        if (round(t, 1), text) not in seen:  # a cue repeated in two segments counts once
            seen.add((round(t, 1), text))
            texts.append(text)
    want = [text for _, text in src_cues]
    if texts == want:
        report("PASS", "%s: %d cues, their text as the source's" % (what, len(want)))
    else:
        report("FAIL", "%s: cue text differs from the source's" % what, "got %r" % texts[:6], "want %r" % want)


def check(args):
    label = args.label
    # ffmpeg's DASH demuxer finds segments of a relative MPD path relative to the wrong directory.
    args.hls, args.dash = [m if is_url(m) else os.path.abspath(m) for m in (args.hls, args.dash)]
    srcprobe = {f: probe(f, False) for f in args.source}
    one_audio = sum(1 for p in srcprobe.values() for s in p["streams"] if s["codec_type"] == "audio") == 1
    sources = {}
    duration = 0.0
    for f, p in srcprobe.items():
        duration = max(duration, float(p["format"].get("duration") or 0))
        for s in p["streams"]:
            if s["codec_type"] in ("video", "audio"):
                key = stream_key(s, None, one_audio)
                if key in sources:
                    raise RuntimeError("two source tracks are %s" % key)
                sources[key] = (f, s["index"], framemd5(f, s["index"], False))
    vtts = {}
    for spec in args.vtt:
        lang, _, path = spec.partition("=")
        vtts[lang3(lang)] = vtt_cues(open(path, encoding="utf-8-sig").read())
    video_keys = sorted(k for k in sources if k.startswith("video"))
    audio_keys = sorted(k for k in sources if k.startswith("audio"))

    # What ffprobe sees of the manifest as a whole.
    for kind, manifest in (("HLS", args.hls), ("DASH", args.dash)):
        what = "%s %s: ffprobe %s" % (label, kind, os.path.basename(manifest) if not is_url(manifest) else manifest)
        try:
            p = probe(manifest)
        except Exception as e:  # noqa: BLE001 (any failure is this check's)
            report("FAIL", what, e)
            continue
        st = p["streams"]
        vids = sorted({stream_key(s, None, one_audio) for s in st if s["codec_type"] == "video"})
        auds = sorted({stream_key(s, None, one_audio) for s in st if s["codec_type"] == "audio"})
        subs = sorted({lang3(s.get("tags", {}).get("language")) for s in st if s["codec_type"] == "subtitle"})
        dur = float(p["format"].get("duration") or "nan")
        desc = "%s; %s; subtitles %s; %.2f s (source %.2f s)" % (", ".join(vids), ", ".join(auds), subs or "none shown", dur, duration)
        if vids == video_keys and auds == audio_keys and abs(dur - duration) <= SEGMENT:
            report("PASS", "%s: %s" % (what, desc))
        else:
            report("FAIL", "%s: %s" % (what, desc), "want %s; %s; a duration within %.0f s of %.2f s" % (
                ", ".join(video_keys), ", ".join(audio_keys), SEGMENT, duration))

    # HLS: each media playlist on its own.
    found = {}
    try:
        rends = hls_renditions(args.hls)
    except Exception as e:  # noqa: BLE001
        report("FAIL", "%s HLS: reading %s" % (label, args.hls), e)
        rends = []
    text_seen = set()
    for kind, uri, attrs in rends:
        if kind == "SUBTITLES":
            lang = lang3(attrs.get("LANGUAGE"))
            text_seen.add(lang)
            what = "%s HLS subtitles %s (%s)" % (label, lang, uri)
            if lang not in vtts:
                report("FAIL", what + ": no such source subtitle track")
                continue
            try:
                cues = []
                url = resolve(args.hls, uri)
                for l in read_text(url).splitlines():
                    if l.strip() and not l.startswith("#"):
                        cues += vtt_cues(read_text(resolve(url, l.strip())))
                check_cues(what, vtts[lang], cues)
            except Exception as e:  # noqa: BLE001
                report("FAIL", what, e)
            continue
        if kind not in ("STREAM-INF", "AUDIO") or not uri:
            continue
        url = resolve(args.hls, uri)
        try:
            streams = probe(url)["streams"]
        except Exception as e:  # noqa: BLE001
            report("FAIL", "%s HLS %s: ffprobe" % (label, uri), e)
            continue
        for s in streams:
            if s["codec_type"] not in ("video", "audio"):
                continue
            lang = attrs.get("LANGUAGE") if kind == "AUDIO" else None
            compare_one(label, "HLS", uri, url, s, stream_key(s, lang, one_audio), sources, found)
    for lang in sorted(set(vtts) - text_seen):
        report("FAIL", "%s HLS: no SUBTITLES rendition for %s in the master playlist" % (label, lang))
    missing(label, "HLS", sources, found)

    # DASH: each representation, as the stream ffmpeg's DASH demuxer makes of it.
    found = {}
    try:
        streams = probe(args.dash)["streams"]
    except Exception as e:  # noqa: BLE001
        streams = []
        report("FAIL", "%s DASH: ffprobe %s" % (label, args.dash), e)
    for s in streams:
        if s["codec_type"] in ("video", "audio"):
            compare_one(label, "DASH", "stream %d" % s["index"], args.dash, s, stream_key(s, None, one_audio), sources, found)
    missing(label, "DASH", sources, found)
    dash_subtitles(label, args.dash, vtts)


def compare_one(label, kind, name, src, s, key, sources, found):
    what = "%s %s %s (%s)" % (label, kind, key, name)
    if key not in sources:
        report("FAIL", what + ": no source track is " + key, "sources: " + ", ".join(sorted(sources)))
        return
    found[key] = found.get(key, 0) + 1
    f, _, want = sources[key]
    try:
        got = framemd5(src, s["index"])
    except Exception as e:  # noqa: BLE001
        report("FAIL", what, e)
        return
    diff = compare_tracks(want, got)
    if diff:
        report("FAIL", "%s: differs from %s" % (what, os.path.basename(f)), diff)
    else:
        report("PASS", "%s: framemd5 equals %s's (%d packets)" % (what, os.path.basename(f), len(want[1])))


def missing(label, kind, sources, found):
    for key in sorted(set(sources) - set(found)):
        report("FAIL", "%s %s: no track is the source's %s (%s)" % (label, kind, key, os.path.basename(sources[key][0])))


def dash_subtitles(label, mpd, vtts):
    """A text AdaptationSet per --vtt: its language, and when it is one WebVTT file (a BaseURL),
    its cues."""
    try:
        root = ET.fromstring(read_text(mpd))
    except Exception as e:  # noqa: BLE001
        report("FAIL", "%s DASH: parsing the MPD" % label, e)
        return
    ns = {"d": "urn:mpeg:dash:schema:mpd:2011"}
    seen = set()
    for aset in root.iterfind(".//d:AdaptationSet", ns):
        reps = aset.findall("d:Representation", ns)
        mime = aset.get("mimeType") or (reps[0].get("mimeType") if reps else None) or ""
        if aset.get("contentType") != "text" and not mime.startswith("text/") and "stpp" not in (aset.get("codecs") or ""):
            continue
        lang = lang3(aset.get("lang"))
        seen.add(lang)
        what = "%s DASH subtitles %s (%s)" % (label, lang, mime)
        if lang not in vtts:
            report("FAIL", what + ": no such source subtitle track")
            continue
        base = None
        for rep in reps:
            b = rep.find("d:BaseURL", ns)
            if b is not None and b.text:
                base = b.text.strip()
        if mime != "text/vtt" or not base:
            report("NOTE", what + ": not one WebVTT file by BaseURL, cues not compared")
            continue
        try:
            check_cues(what, vtts[lang], vtt_cues(read_text(resolve(mpd, base))))
        except Exception as e:  # noqa: BLE001
            report("FAIL", what, e)
    for lang in sorted(set(vtts) - seen):
        report("FAIL", "%s DASH: no text AdaptationSet for %s in the MPD" % (label, lang))


class Handler(http.server.SimpleHTTPRequestHandler):
    """Files of one directory with single byte ranges (enough for players and ffmpeg)."""

    def log_message(self, fmt, *a):
        sys.stderr.write("%s\n" % (fmt % a))

    def translate_path(self, path):
        path = urllib.parse.unquote(urllib.parse.urlsplit(path).path)
        return super().translate_path(path)

    def guess_type(self, path):
        for ext, t in ((".m3u8", "application/vnd.apple.mpegurl"), (".mpd", "application/dash+xml"),
                       (".m4s", "video/iso.segment"), (".vtt", "text/vtt")):
            if str(path).endswith(ext):
                return t
        return super().guess_type(path)

    def send_head(self):
        rng = self.headers.get("Range")
        path = self.translate_path(self.path)
        m = re.fullmatch(r"bytes=(\d*)-(\d*)", rng or "")
        if not m or not os.path.isfile(path):
            return super().send_head()
        size = os.path.getsize(path)
        a, b = m.groups()
        if a == "":
            a, b = max(0, size - int(b)), size - 1
        else:
            a, b = int(a), min(int(b) if b else size - 1, size - 1)
        if a >= size or a > b:
            self.send_error(416)
            return None
        f = open(path, "rb")
        f.seek(a)
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Range", "bytes %d-%d/%d" % (a, b, size))
        self.send_header("Content-Length", str(b - a + 1))
        self.end_headers()
        self.range_left = b - a + 1
        return f

    def copyfile(self, src, dst):
        left = getattr(self, "range_left", None)
        if left is None:
            return super().copyfile(src, dst)
        while left > 0:
            buf = src.read(min(left, 1 << 16))
            if not buf:
                break
            dst.write(buf)
            left -= len(buf)


def static(args):
    handler = lambda *a, **k: Handler(*a, directory=args.dir, **k)  # noqa: E731
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    print("http://127.0.0.1:%d" % srv.server_address[1], flush=True)
    srv.serve_forever()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("--label", required=True)
    c.add_argument("--hls", required=True)
    c.add_argument("--dash", required=True)
    c.add_argument("--source", action="append", required=True)
    c.add_argument("--vtt", action="append", default=[], metavar="LANG=FILE")
    s = sub.add_parser("static")
    s.add_argument("dir")
    args = ap.parse_args()
    if args.cmd == "static":
        static(args)
        return
    try:
        check(args)
    except Exception as e:  # noqa: BLE001
        report("FAIL", "%s: the checks stopped" % args.label, e)
    sys.exit(1 if "FAIL" in results else 0)


if __name__ == "__main__":
    main()
