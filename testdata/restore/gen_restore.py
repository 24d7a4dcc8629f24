#!/usr/bin/env python3
"""Known-answer fixtures for `amscrypt restore`, made independently of the Go code.

Run from the repository root:

    python3 testdata/restore/gen_restore.py

Uses only the Python standard library, the `cryptography` package and the `openssl`
command line tool (plus a few helpers imported from testdata/gen_vectors.py, which is
neither changed nor run). Everything comes from fixed constants and random.Random(fixed
seed); the one randomised output, the RSA-OAEP wrapped key in vod/keys/contentkey.json,
is kept from the previous run as long as it still unwraps to the right key. Files are only
rewritten when their content changes, so a rerun leaves the tree unchanged.

Layout (all paths relative to testdata/restore/):

    vod/plain/<name>          plaintexts of the on-demand asset (big.mp4 is NOT stored, see below)
    vod/enc/<name>            their storage-encrypted blobs, one IV per file
    vod/keys/*.json           valid key exports, all for the same key and files
    vod/bad/*.json            invalid or conflicting exports
    live/plain/<track>/<fragblob>, live/plain/video.ism
    live/enc/<track>/<fragblob>,   live/enc/video.ism
    live/keys/*.json
    expected.json             what a correct restore produces, and what every key export is
"""

import base64
import datetime
import hashlib
import json
import os
import random
import struct
import subprocess
import sys
import uuid
import zlib

sys.dont_write_bytecode = True  # importing gen_vectors must not leave testdata/__pycache__ behind

HERE = os.path.dirname(os.path.abspath(__file__))
TESTDATA = os.path.dirname(HERE)
sys.path.insert(0, TESTDATA)
import gen_vectors as gv  # noqa: E402  (checksum, CTR and OAEP helpers; importing runs nothing)

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding  # noqa: E402
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: E402

TOOLS = gv.TOOLS
PRIVATE_KEY_FILE = "rsa2048.pkcs8.key.pem"  # relative to testdata/
CERT_FILE = "rsa2048.crt.pem"
ODATA_BASE = "https://media.windows.net/api/"
ASSETFILE_TYPE = "Microsoft.Cloud.Media.Vod.Rest.Data.Models.AssetFile"

WRITTEN = set()


# --------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------

def rpath(rel):
    return os.path.join(HERE, *rel.split("/"))


def write(rel, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    p = rpath(rel)
    WRITTEN.add(rel)
    if os.path.exists(p):
        with open(p, "rb") as f:
            if f.read() == data:
                return
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(data)


def read_rel(rel):
    with open(rpath(rel), "rb") as f:
        return f.read()


def compact(obj):
    """Compact JSON, as the service and amscrypt write it, with a final newline."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n"


def pretty(obj):
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"


def az_json(obj):
    """What `az ... show` prints (knack: indent 2, sorted keys, not ASCII-escaped)."""
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def b64(b):
    return base64.b64encode(b).decode()


def sha256(b):
    return hashlib.sha256(b).hexdigest()


# --------------------------------------------------------------------------------------
# Crypto
# --------------------------------------------------------------------------------------

def ctr_encrypt(key, iv, data):
    """StorageEncryption 1.0: AES-256-CTR, initial counter BE64(iv) || BE64(0)."""
    assert len(key) == 32 and 0 <= iv < 1 << 64
    counter = iv.to_bytes(8, "big") + bytes(8)
    e = Cipher(algorithms.AES(key), modes.CTR(counter)).encryptor()
    out = e.update(data) + e.finalize()
    assert len(out) == len(data)
    return out


def check_ctr(key, iv, plain, enc, with_openssl):
    # Independent per-block recomputation of a few blocks (ECB of the counter block).
    for blk in sorted({0, 1, (len(plain) - 1) // 16 if plain else 0}):
        o = blk * 16
        if o >= len(plain):
            continue
        ks = gv.aes_ecb_block(key, iv.to_bytes(8, "big") + blk.to_bytes(8, "big"))
        seg = plain[o:o + 16]
        assert bytes(a ^ b for a, b in zip(seg, ks)) == enc[o:o + 16]
    # Ranged decryption from an odd offset with gen_vectors' own helper.
    if len(plain) > 100:
        o = len(plain) // 3 + 5
        assert gv.ctr_at(key, iv, o, enc[o:o + 77]) == plain[o:o + 77]
    if with_openssl and plain:
        assert gv.openssl_ctr(key, iv, plain) == enc, "openssl enc -aes-256-ctr disagrees"


def unwrap(priv, wrapped):
    return priv.decrypt(wrapped, padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None))


def wrap(pub, clear):
    return pub.encrypt(clear, padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None))


# --------------------------------------------------------------------------------------
# Format recognition (independent of the Go sniffer; used to assert expected.json)
# --------------------------------------------------------------------------------------

BMFF_TYPES = {b"ftyp", b"styp", b"moov", b"moof", b"mdat", b"free", b"skip", b"sidx", b"uuid", b"wide", b"pdin"}


def sniff(data):
    if len(data) >= 8 and data[4:8] in BMFF_TYPES and struct.unpack(">I", data[:4])[0] != 2 \
            and struct.unpack(">I", data[:4])[0] not in range(3, 8):
        return "iso-bmff"  # size 0 (to end) and 1 (64-bit size follows) are legal too
    if len(data) >= 189 and data[0] == 0x47 and data[188] == 0x47:
        return "mpeg-ts"
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    text = data[3:] if data[:3] == b"\xef\xbb\xbf" else data
    if text[:6] == b"WEBVTT" and (len(text) == 6 or text[6:7] in (b" ", b"\t", b"\n", b"\r")):
        return "webvtt"
    stripped = text.lstrip(b" \t\r\n")
    if stripped[:1] == b"<":
        return "xml"
    if stripped[:1] in (b"{", b"["):
        try:
            json.loads(text.decode("utf-8"))
            return "json"
        except ValueError:
            pass
    return None


# --------------------------------------------------------------------------------------
# ISO-BMFF and other content
# --------------------------------------------------------------------------------------

def box(typ, payload=b""):
    assert len(typ) == 4
    return struct.pack(">I", 8 + len(payload)) + typ + payload


def full_box(typ, version, flags, payload=b""):
    return box(typ, bytes([version]) + flags.to_bytes(3, "big") + payload)


def ftyp(major, minor, compat, typ=b"ftyp"):
    return box(typ, major + struct.pack(">I", minor) + b"".join(compat))


def mvhd(timescale, duration, next_track):
    matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    p = struct.pack(">IIII", 3600000000, 3600000000, timescale, duration)  # creation/modification (1904 epoch)
    p += struct.pack(">IH", 0x00010000, 0x0100) + bytes(10) + matrix + bytes(24) + struct.pack(">I", next_track)
    b = full_box(b"mvhd", 0, 0, p)
    assert len(b) == 108
    return b


def moov(rng, timescale, duration, tracks, fragmented=False):
    extra = box(b"udta", box(b"name", b"amscrypt restore fixture"))
    trex = b"".join(full_box(b"trex", 0, 0, struct.pack(">5I", t, 1, 0, 0, 0)) for t in range(1, tracks + 1))
    # A 'free' box with random bytes stands in for the track boxes. A
    # progressive file has no mvex (that would announce fragments); a
    # 'free' box of its size keeps the file's length.
    mvex = box(b"mvex", trex) if fragmented else box(b"free", bytes(len(trex)))
    return box(b"moov", mvhd(timescale, duration, tracks + 1) + mvex + extra + box(b"free", rbytes(rng, 333)))


def with_moov(head, timescale, duration, payload):
    """A progressive file: head, a moov of an mvhd alone, and an mdat of
    payload less the moov's length, so the file is as long as head plus an
    mdat of all of payload would be."""
    mv = box(b"moov", mvhd(timescale, duration, 1))
    return head + mv + box(b"mdat", payload[:len(payload) - len(mv)])


def rbytes(rng, n):
    return rng.getrandbits(8 * n).to_bytes(n, "little") if n else b""


def fragment(rng, seq, track_id, time, sample_sizes, styp=False):
    mdat_payload = rbytes(rng, sum(sample_sizes))

    def build(data_offset):
        tfhd = full_box(b"tfhd", 0, 0x020000, struct.pack(">I", track_id))  # default-base-is-moof
        tfdt = full_box(b"tfdt", 1, 0, struct.pack(">Q", time))
        trun = full_box(b"trun", 0, 0x000201, struct.pack(">Ii", len(sample_sizes), data_offset)
                        + b"".join(struct.pack(">I", s) for s in sample_sizes))
        return box(b"moof", full_box(b"mfhd", 0, 0, struct.pack(">I", seq)) + box(b"traf", tfhd + tfdt + trun))

    moof = build(0)
    moof = build(len(moof) + 8)
    head = ftyp(b"msdh", 0, [b"msdh", b"msix"], typ=b"styp") if styp else b""
    return head + moof + box(b"mdat", mdat_payload)


def check_bmff(data):
    """Walk top-level boxes; every size must add up to the file length."""
    pos, types = 0, []
    while pos < len(data):
        size, typ = struct.unpack(">I4s", data[pos:pos + 8])
        assert size >= 8 and pos + size <= len(data), (typ, size, pos, len(data))
        types.append(typ.decode())
        pos += size
    assert pos == len(data)
    return types


def png(rng, w, h):
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + rbytes(rng, 3 * w) for _ in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def jpeg(rng):
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00" + b"\x01\x01" + b"\x00" + struct.pack(">HH", 1, 1) + b"\x00\x00"
    com = b"\xff\xfe" + struct.pack(">H", 2 + 24) + b"amscrypt restore fixture"
    body = bytes(b if b != 0xFF else 0xFE for b in rbytes(rng, 1500))  # no markers inside the fake scan
    return b"\xff\xd8" + app0 + com + b"\xff\xda" + struct.pack(">H", 8) + b"\x01\x01\x00\x00\x3f\x00" + body + b"\xff\xd9"


def mpeg_ts(rng, packets):
    out = b""
    for i in range(packets):
        pid = 0 if i == 0 else 0x100
        hdr = bytes([0x47, (0x40 if i in (0, 1) else 0) | (pid >> 8), pid & 0xFF, 0x10 | (i % 16)])
        out += hdr + rbytes(rng, 184)
    assert len(out) == 188 * packets
    return out


# --------------------------------------------------------------------------------------
# Ids and dates
# --------------------------------------------------------------------------------------

def rguid(rng):
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def iso(dt):
    """v2 JSON light DateTime: 7 fractional digits and Z, as the service wrote them."""
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%07dZ" % (dt.microsecond * 10)


def msdate(dt):
    """v2 verbose JSON DateTime: /Date(<ms since epoch>)/."""
    return "/Date(%d)/" % int(dt.timestamp() * 1000)


def dump_verbose(obj):
    """Verbose OData JSON as .NET wrote it: '/' in /Date()/ escaped as '\\/'."""
    s = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    return s.replace('"/Date(', '"\\/Date(').replace(')/"', ')\\/"') + "\n"


def files_uri(file_id):
    return ODATA_BASE + "Files('%s')" % file_id.replace(":", "%3A")


# --------------------------------------------------------------------------------------
# Assets
# --------------------------------------------------------------------------------------

class Asset:
    def __init__(self, name, seed, created):
        self.name = name
        self.rng = random.Random(seed)
        self.key = rbytes(self.rng, 32)
        self.kid_guid = rguid(self.rng)
        self.key_id = "nb:kid:UUID:%s" % self.kid_guid
        self.asset_guid = rguid(self.rng)
        self.asset_id = "nb:cid:UUID:%s" % self.asset_guid
        self.created = created
        self.entries = []  # metadata entries: dict(name, iv, size or None, guid, mime, primary, blobs=[(rel, plain)])

    def entry(self, name, blobs, mime, primary=False, iv=None, size=True):
        guid = rguid(self.rng)
        if iv is None:
            iv = self.rng.getrandbits(64)
        e = {"name": name, "iv": iv, "guid": guid, "id": "nb:cid:UUID:%s" % guid, "mime": mime,
             "primary": primary, "blobs": blobs}
        e["size"] = len(blobs[0][1]) if size else None
        n = len(self.entries)
        e["created"] = self.created + datetime.timedelta(seconds=3 + n, microseconds=113000 * (n + 1) % 1000000)
        e["modified"] = e["created"] + datetime.timedelta(seconds=41, microseconds=270000)
        self.entries.append(e)
        return e


def assetfile_minimal(a, e, size=None):
    d = {"Id": e["id"], "Name": e["name"]}
    s = e["size"] if size is None else size
    if s is not None:
        d["ContentFileSize"] = str(s)
    d.update({
        "ParentAssetId": a.asset_id,
        "EncryptionVersion": "1.0",
        "EncryptionScheme": "StorageEncryption",
        "IsEncrypted": True,
        "EncryptionKeyId": a.key_id,
        "InitializationVector": str(e["iv"]),
        "IsPrimary": e["primary"],
        "LastModified": iso(e["modified"]),
        "Created": iso(e["created"]),
        "MimeType": e["mime"],
        "ContentChecksum": None,
    })
    return d


def assetfile_verbose(a, e):
    d = assetfile_minimal(a, e)
    d["LastModified"] = msdate(e["modified"])
    d["Created"] = msdate(e["created"])
    uri = files_uri(e["id"])
    out = {"__metadata": {"id": uri, "uri": uri, "type": ASSETFILE_TYPE}}
    out.update(d)
    out["ParentAsset"] = {"__deferred": {"uri": uri + "/ParentAsset"}}
    return out


def v3_doc(a, override=None):
    override = override or {}
    meta = []
    for e in a.entries:
        m = {"initializationVector": str(e["iv"]), "assetFileName": e["name"], "assetFileId": str(e["guid"])}
        m.update(override.get(e["name"], {}))
        meta.append(m)
    return {"key": b64(a.key), "assetFileEncryptionMetadata": meta}


def v2_minimal_doc(a, sizes=None):
    sizes = sizes or {}
    return {"odata.metadata": ODATA_BASE + "$metadata#Files",
            "value": [assetfile_minimal(a, e, sizes.get(e["name"])) for e in a.entries]}


def keyvault_doc(a, secret_version_seed):
    vrng = random.Random(secret_version_seed)
    name = str(a.asset_guid)
    version = "%032x" % vrng.getrandbits(128)
    created = a.created + datetime.timedelta(days=2950, hours=3, minutes=12, seconds=7)
    updated = created + datetime.timedelta(minutes=4, seconds=31)
    ts = lambda dt: dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")  # noqa: E731
    return {
        "attributes": {"created": ts(created), "enabled": True, "expires": None, "notBefore": None,
                       "recoverableDays": 90, "recoveryLevel": "Recoverable+Purgeable", "updated": ts(updated)},
        "contentType": None,
        "id": "https://example-vault.vault.azure.net/secrets/%s/%s" % (name, version),
        "kid": None,
        "managed": None,
        "name": name,
        "tags": {e["name"]: str(e["iv"]) for e in a.entries},
        "value": b64(a.key),
    }


def encrypt_asset(a, with_openssl_names):
    """Writes plain/ and enc/ for every blob; returns expected file records."""
    files = []
    for e in a.entries:
        for rel, plain in e["blobs"]:
            enc = ctr_encrypt(a.key, e["iv"], plain)
            check_ctr(a.key, e["iv"], plain, enc, rel in with_openssl_names)
            stored = len(plain) <= 1 << 20
            if stored:
                write("%s/plain/%s" % (a.name, rel), plain)
            write("%s/enc/%s" % (a.name, rel), enc)
            fmt = sniff(plain)
            files.append({"path": rel, "entry": e["name"], "size": len(plain), "sha256": sha256(plain),
                          "format": fmt, "head_hex": plain[:16].hex(), "iv": str(e["iv"]),
                          "plain_stored": stored, "enc_sha256": sha256(enc)})
    return files


# --------------------------------------------------------------------------------------
# Asset 1: on demand
# --------------------------------------------------------------------------------------

def ism_vod():
    return ("\ufeff" + """<?xml version="1.0" encoding="utf-8" standalone="yes"?>
<smil xmlns="http://www.w3.org/2001/SMIL20/Language">
  <head>
    <meta name="clientManifestRelativePath" content="video.ismc" />
    <meta name="formats" content="mp4-v3" />
  </head>
  <body>
    <switch>
      <video src="movie.mp4" systemBitrate="2962000">
        <param name="trackID" value="1" valuetype="data" />
      </video>
      <video src="big.mp4" systemBitrate="6000000">
        <param name="trackID" value="1" valuetype="data" />
      </video>
      <audio src="movie_audio.m4a" systemBitrate="128000">
        <param name="trackID" value="2" valuetype="data" />
        <param name="trackName" value="aac_und_2_127999_2_1" valuetype="data" />
      </audio>
      <textstream src="subs.vtt" systemLanguage="eng" />
    </switch>
  </body>
</smil>
""").encode("utf-8")


def ismc_vod():
    return b"""<?xml version="1.0" encoding="utf-8"?>
<SmoothStreamingMedia MajorVersion="2" MinorVersion="2" Duration="100000000" TimeScale="10000000">
  <StreamIndex Chunks="1" Type="video" Url="QualityLevels({bitrate})/Fragments(video={start time})" QualityLevels="1" MaxWidth="1280" MaxHeight="720">
    <QualityLevel Index="0" Bitrate="2962000" FourCC="H264" MaxWidth="1280" MaxHeight="720" CodecPrivateData="000000016764001FACD94050045FF8C200000300020000030064" />
    <c t="0" d="100000000" />
  </StreamIndex>
  <StreamIndex Chunks="1" Type="audio" Url="QualityLevels({bitrate})/Fragments(aac_und_2_127999_2_1={start time})" QualityLevels="1" Name="aac_und_2_127999_2_1">
    <QualityLevel AudioTag="255" Index="0" BitsPerSample="16" Bitrate="127999" FourCC="AACL" CodecPrivateData="1190" Channels="2" PacketSize="4" SamplingRate="48000" />
    <c t="0" d="100000000" />
  </StreamIndex>
</SmoothStreamingMedia>
"""


def build_vod():
    a = Asset("vod", 20240630_01, datetime.datetime(2016, 3, 14, 9, 26, 53, 589000, tzinfo=datetime.timezone.utc))
    r = a.rng
    mp4_ftyp = ftyp(b"isom", 512, [b"isom", b"iso2", b"avc1", b"mp41"])
    movie = mp4_ftyp + moov(r, 1000, 10000, 2) + box(b"mdat", rbytes(r, 300 * 1024 + 1234))
    audio = with_moov(ftyp(b"M4A ", 0, [b"M4A ", b"mp42", b"isom"]), 44100, 441000, rbytes(r, 6000 + 7))
    subs = ("WEBVTT\n\n00:00.000 --> 00:02.500\nRestored from storage encryption.\n\n"
            "00:02.500 --> 00:05.000\nÜmlauts and ‘quotes’ survive: UTF-8.\n").encode("utf-8")
    meta = (json.dumps({"title": "amscrypt restore fixture", "durationSeconds": 10, "tracks": ["video", "audio"],
                        "languages": {"audio": "und", "subtitles": "eng"}}, indent=2) + "\n").encode()
    thumb = jpeg(r)
    poster = png(r, 8, 6)
    clip = mpeg_ts(r, 10)
    data = rbytes(r, 4096)
    big = with_moov(ftyp(b"isom", 512, [b"isom", b"iso2", b"mp41"]), 1000, 60000, rbytes(r, 3 * 512 * 1024 + 4321))

    for blob in (movie, audio, big):
        check_bmff(blob)
    # (name, bytes, mime, primary, iv override)
    plan = [
        ("movie.mp4", movie, "video/mp4", False, None),
        ("movie_audio.m4a", audio, "audio/mp4", False, None),
        ("video.ism", ism_vod(), "application/octet-stream", True, None),
        ("video.ismc", ismc_vod(), "application/octet-stream", False, None),
        ("subs.vtt", subs, "text/vtt", False, None),
        ("meta.json", meta, "application/json", False, None),
        ("thumb.jpg", thumb, "image/jpeg", False, None),
        ("poster.png", poster, "image/png", False, None),
        ("clip.ts", clip, "video/mp2t", False, None),
        # IV edge cases: the largest uint64, and one with the top bit set (not an int64).
        ("data.bin", data, "application/octet-stream", False, (1 << 64) - 1),
        ("empty.txt", b"", "text/plain", False, None),
        ("big.mp4", big, "video/mp4", False, None),
    ]
    for name, blob, mime, primary, iv in plan:
        e = a.entry(name, [(name, blob)], mime, primary, iv)
        if name == "big.mp4":
            e["iv"] |= 1 << 63
    assert len({e["iv"] for e in a.entries}) == len(a.entries)
    files = encrypt_asset(a, {"movie.mp4", "subs.vtt", "data.bin", "big.mp4"})
    return a, files


def write_vod_keys(a):
    docs = []

    def doc(rel, content, kind, provides, valid=True, **extra):
        write(rel, content)
        d = {"file": rel, "asset": a.name, "kind": kind, "provides": provides, "valid": valid}
        d.update(extra)
        docs.append(d)

    by = {e["name"]: e for e in a.entries}
    movie = by["movie.mp4"]
    v3 = v3_doc(a)
    doc("vod/keys/v3.json", pretty(v3), "v3-getEncryptionKey", ["key", "iv", "name", "fileId"])
    doc("vod/keys/v2-files-minimal.json", compact(v2_minimal_doc(a)), "v2-files-minimal",
        ["keyId", "iv", "name", "size", "fileId"])
    doc("vod/keys/v2-files-verbose.json",
        dump_verbose({"d": {"results": [assetfile_verbose(a, e) for e in a.entries]}}), "v2-files-verbose",
        ["keyId", "iv", "name", "size", "fileId"])
    # Exactly what the amscrypt CLI prints: alphabetical fields, compact, newline.
    af = {"ContentFileSize": str(movie["size"]), "EncryptionKeyId": a.key_id, "EncryptionScheme": "StorageEncryption",
          "EncryptionVersion": "1.0", "InitializationVector": str(movie["iv"]), "IsEncrypted": True,
          "Name": "movie.mp4"}
    doc("vod/keys/assetfile-movie.json", json.dumps(af, separators=(",", ":")) + "\n", "assetfile",
        ["keyId", "iv", "name", "size"], covers=["movie.mp4"])
    keyfile = {"Id": a.key_id, "ContentKeyType": 1, "Key": b64(a.key)}
    doc("vod/keys/keyfile.json", json.dumps(keyfile, separators=(",", ":")) + "\n", "keyfile", ["key", "keyId"])

    # ContentKey entity wrapped to rsa2048.crt.pem.
    cert = x509.load_pem_x509_certificate(gv.read(CERT_FILE))
    priv = serialization.load_pem_private_key(gv.read(PRIVATE_KEY_FILE), password=None)
    thumb = hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    wrapped = None
    ck_rel = "vod/keys/contentkey.json"
    if os.path.exists(rpath(ck_rel)):
        try:
            old = base64.b64decode(json.loads(read_rel(ck_rel))["EncryptedContentKey"], validate=True)
            if unwrap(priv, old) == a.key:
                wrapped = old
        except Exception:  # noqa: BLE001 - anything wrong with the old file: make a new one
            wrapped = None
    if wrapped is None:
        wrapped = wrap(cert.public_key(), a.key)
    assert unwrap(priv, wrapped) == a.key
    assert gv.openssl_oaep_decrypt(PRIVATE_KEY_FILE, wrapped) == a.key, "openssl pkeyutl cannot unwrap"
    ck = {"Id": a.key_id, "ContentKeyType": 1, "EncryptedContentKey": b64(wrapped), "ProtectionKeyId": thumb,
          "ProtectionKeyType": 0, "Checksum": gv.checksum(a.key, a.key_id), "Name": "vod key"}
    doc(ck_rel, pretty(ck), "contentkey", ["wrappedKey", "keyId", "checksum"],
        private_key_file=PRIVATE_KEY_FILE, certificate_file=CERT_FILE,
        pfx_files=["rsa2048.legacy-rc2-3des.pfx", "rsa2048.modern.pfx"], pfx_password=gv.PFX_PASSWORD)
    doc("vod/keys/rebind-minimal.json",
        compact({"odata.metadata": ODATA_BASE + "$metadata#Edm.String", "value": b64(a.key)}), "rebind-minimal",
        ["key"])
    doc("vod/keys/rebind-verbose.json", compact({"d": {"RebindContentKey": b64(a.key)}}), "rebind-verbose", ["key"])
    doc("vod/keys/keyvault-secret.json", az_json(keyvault_doc(a, 77001)), "keyvault-secret", ["key", "iv", "name"])

    # ---- bad / conflicting documents ----
    wrong_iv = movie["iv"] ^ (1 << 20)
    doc("vod/bad/v3-wrong-iv.json",
        pretty(v3_doc(a, {"movie.mp4": {"initializationVector": str(wrong_iv)}})), "v3-getEncryptionKey",
        ["key", "iv", "name", "fileId"], valid=False, entry="movie.mp4", field="initializationVector",
        conflicts_with=["vod/keys/v2-files-minimal.json", "vod/keys/v2-files-verbose.json",
                        "vod/keys/assetfile-movie.json", "vod/keys/keyvault-secret.json", "vod/keys/v3.json"],
        why="movie.mp4's IV is %s instead of %d (bit 20 flipped): it decrypts to garbage that is not ISO-BMFF"
            % (wrong_iv, movie["iv"]))
    other_key = random.Random(4242).getrandbits(256).to_bytes(32, "big")
    assert other_key != a.key
    doc("vod/bad/keyfile-wrong-key.json",
        json.dumps({"Id": a.key_id, "ContentKeyType": 1, "Key": b64(other_key)}, separators=(",", ":")) + "\n",
        "keyfile", ["key", "keyId"], valid=False, field="Key",
        conflicts_with=["vod/keys/keyfile.json", "vod/keys/v3.json", "vod/keys/contentkey.json",
                        "vod/keys/rebind-minimal.json", "vod/keys/keyvault-secret.json"],
        why="right Id, wrong key: its checksum (%s) differs from contentkey.json's Checksum (%s) and every file "
            "decrypts to garbage" % (gv.checksum(other_key, a.key_id), ck["Checksum"]))
    other_id = "nb:kid:UUID:%s" % uuid.UUID(int=random.Random(4343).getrandbits(128), version=4)
    doc("vod/bad/keyfile-other-id.json",
        json.dumps({"Id": other_id, "ContentKeyType": 1, "Key": b64(a.key)}, separators=(",", ":")) + "\n",
        "keyfile", ["key", "keyId"], valid=False, field="Id",
        conflicts_with=["vod/keys/v2-files-minimal.json", "vod/keys/v2-files-verbose.json",
                        "vod/keys/assetfile-movie.json", "vod/keys/contentkey.json"],
        why="right key, but its Id %s is not the files' EncryptionKeyId %s" % (other_id, a.key_id))
    doc("vod/bad/v2-other-size.json", compact(v2_minimal_doc(a, {"movie.mp4": movie["size"] + 1})),
        "v2-files-minimal", ["keyId", "iv", "name", "size", "fileId"], valid=False, entry="movie.mp4",
        field="ContentFileSize",
        conflicts_with=["vod/keys/v2-files-minimal.json", "vod/keys/v2-files-verbose.json",
                        "vod/keys/assetfile-movie.json"],
        why="movie.mp4 ContentFileSize is %d, one more than the blob (%d bytes) and the other documents"
            % (movie["size"] + 1, movie["size"]))
    doc("vod/bad/v3-negative-iv.json",
        pretty(v3_doc(a, {"thumb.jpg": {"initializationVector": "-1234567"}})), "v3-getEncryptionKey",
        ["key", "iv", "name", "fileId"], valid=False, entry="thumb.jpg", field="initializationVector",
        why="thumb.jpg's IV is \"-1234567\": IVs are unsigned decimals (the v3 spec example's negative one is an error)")
    doc("vod/bad/v3-case.json",
        pretty(v3_doc(a, {"movie.mp4": {"assetFileName": "Movie.MP4"}})), "v3-getEncryptionKey",
        ["key", "iv", "name", "fileId"], valid=False, entry="Movie.MP4", field="assetFileName",
        why="movie.mp4 is listed as Movie.MP4: blob names are case-sensitive, so the blob movie.mp4 has no "
            "metadata and the entry Movie.MP4 has no blob; must not be matched case-insensitively")
    big = by["big.mp4"]
    doc("vod/bad/v2-truncated-size.json", compact(v2_minimal_doc(a, {"big.mp4": big["size"] + 65536})),
        "v2-files-minimal", ["keyId", "iv", "name", "size", "fileId"], valid=False, entry="big.mp4",
        field="ContentFileSize",
        conflicts_with=["vod/keys/v2-files-minimal.json", "vod/keys/v2-files-verbose.json"],
        why="big.mp4 ContentFileSize is %d but vod/enc/big.mp4 has %d bytes: the blob looks truncated"
            % (big["size"] + 65536, big["size"]))
    return docs, ck


# --------------------------------------------------------------------------------------
# Asset 2: live archive
# --------------------------------------------------------------------------------------

def ism_live():
    return b"""<?xml version="1.0" encoding="utf-8" standalone="yes"?>
<smil xmlns="http://www.w3.org/2001/SMIL20/Language">
  <head>
    <meta name="formats" content="fragmented-mp4" />
    <meta name="lookahead_fragments" content="2" />
  </head>
  <body>
    <switch>
      <video src="video" systemBitrate="1500000">
        <param name="trackID" value="1" valuetype="data" />
        <param name="trackName" value="video" valuetype="data" />
        <param name="timescale" value="10000000" valuetype="data" />
      </video>
      <audio src="audio_eng=128000" systemBitrate="128000" systemLanguage="eng">
        <param name="trackID" value="2" valuetype="data" />
        <param name="trackName" value="audio_eng" valuetype="data" />
        <param name="timescale" value="10000000" valuetype="data" />
      </audio>
    </switch>
  </body>
</smil>
"""


def build_live():
    a = Asset("live", 20240630_02, datetime.datetime(2019, 11, 5, 18, 0, 4, 251000, tzinfo=datetime.timezone.utc))
    r = a.rng
    header_ftyp = ftyp(b"isml", 1, [b"piff", b"iso2"])
    tracks = [
        ("video", 1, [0, 20000000, 40000000], lambda: [r.randrange(2500, 6000) for _ in range(3)], None),
        ("audio_eng=128000", 2, [0, 20053333, 40106666], lambda: [r.randrange(300, 700) for _ in range(4)], 20053333),
    ]
    for track, tid, times, sizes, styp_at in tracks:
        blobs = [("%s/header" % track, header_ftyp + moov(r, 10000000, 0, 1, fragmented=True))]
        for seq, t in enumerate(times, 1):
            blobs.append(("%s/%d" % (track, t), fragment(r, seq, tid, t, sizes(), styp=(t == styp_at))))
        for _, blob in blobs:
            check_bmff(blob)
        a.entry(track, blobs, None, False, size=False)
    a.entry("video.ism", [("video.ism", ism_live())], "application/octet-stream", True)
    files = encrypt_asset(a, {"video/20000000", "audio_eng=128000/header", "video.ism"})
    return a, files


def write_live_keys(a):
    docs = []
    write("live/keys/v3.json", pretty(v3_doc(a)))
    docs.append({"file": "live/keys/v3.json", "asset": "live", "kind": "v3-getEncryptionKey",
                 "provides": ["key", "iv", "name", "fileId"], "valid": True})
    write("live/keys/v2-files-minimal.json", compact(v2_minimal_doc(a)))
    docs.append({"file": "live/keys/v2-files-minimal.json", "asset": "live", "kind": "v2-files-minimal",
                 "provides": ["keyId", "iv", "name", "size", "fileId"], "valid": True,
                 "note": "track entries (video, audio_eng=128000) have no ContentFileSize; video.ism has one"})
    write("live/keys/keyvault-secret.json", az_json(keyvault_doc(a, 77002)))
    docs.append({"file": "live/keys/keyvault-secret.json", "asset": "live", "kind": "keyvault-secret",
                 "provides": ["key", "iv", "name"], "valid": True})
    return docs


# --------------------------------------------------------------------------------------

def asset_record(a, files, layout):
    return {
        "key": b64(a.key), "key_hex": a.key.hex(), "key_id": a.key_id, "asset_id": a.asset_id, "layout": layout,
        "plain_dir": "%s/plain" % a.name, "enc_dir": "%s/enc" % a.name,
        "entries": [{"name": e["name"], "iv": str(e["iv"]), "file_id": e["id"], "content_file_size":
                     None if e["size"] is None else str(e["size"]),
                     "blobs": [rel for rel, _ in e["blobs"]]} for e in a.entries],
        "files": files,
    }


def main():
    gv.self_test()
    vod, vod_files = build_vod()
    vod_docs, ck = write_vod_keys(vod)
    live, live_files = build_live()
    live_docs = write_live_keys(live)

    # Assertions on the recognised formats.
    want = {"movie.mp4": "iso-bmff", "movie_audio.m4a": "iso-bmff", "video.ism": "xml", "video.ismc": "xml",
            "subs.vtt": "webvtt", "meta.json": "json", "thumb.jpg": "jpeg", "poster.png": "png",
            "clip.ts": "mpeg-ts", "data.bin": None, "empty.txt": None, "big.mp4": "iso-bmff"}
    assert {f["path"]: f["format"] for f in vod_files} == want, {f["path"]: f["format"] for f in vod_files}
    assert all(f["format"] == ("xml" if f["path"] == "video.ism" else "iso-bmff") for f in live_files)
    assert read_rel("vod/plain/video.ism")[:3] == b"\xef\xbb\xbf" and read_rel("vod/plain/video.ismc")[:1] == b"<"
    # Every ciphertext differs from its plaintext and no two files share an IV.
    for f in vod_files + live_files:
        if f["size"]:
            assert f["enc_sha256"] != f["sha256"]

    expected = {
        "description": (
            "Known answers for `amscrypt restore`, generated by testdata/restore/gen_restore.py with %s, "
            "independent of the Go code. Paths in files[] are relative to <asset>/plain and <asset>/enc; "
            "format is what the plaintext head should be recognised as (null: unknown). plain_stored=false means "
            "the plaintext is not checked in (size budget) and only size/sha256 can be compared. Live archives: "
            "every fragblob <track>/<name> is decrypted with the IV of the metadata entry <track>, counter from 0 "
            "for each fragblob. key_exports[]: valid=false documents are wrong or contradict the valid ones on "
            "`field` (of `entry` when set)." % TOOLS),
        "assets": {
            "vod": asset_record(vod, vod_files, "on-demand: one blob per metadata entry, same name"),
            "live": asset_record(live, live_files, "live archive: entry <track> covers blobs <track>/*"),
        },
        "key_exports": vod_docs + live_docs,
    }
    write("expected.json", pretty(expected))

    write_readme_section()

    # Anything under testdata/restore the generator does not make is reported, never deleted.
    stray = []
    for root, _, names in os.walk(HERE):
        for n in names:
            rel = os.path.relpath(os.path.join(root, n), HERE).replace(os.sep, "/")
            if rel not in WRITTEN and rel != "gen_restore.py":
                stray.append(rel)
    if stray:
        print("warning: files not made by gen_restore.py:", ", ".join(sorted(stray)), file=sys.stderr)
    total = sum(os.path.getsize(os.path.join(r, n)) for r, _, ns in os.walk(HERE) for n in ns)
    print("testdata/restore: %d files, %d bytes" % (len(WRITTEN) + 1, total))


README_MARK = "<!-- restore/ section: maintained by testdata/restore/gen_restore.py -->"


def readme_section():
    return README_MARK + """
## restore/

Fixtures for `amscrypt restore`, made by `restore/gen_restore.py` (run `python3 testdata/restore/gen_restore.py`
from the repository root; deterministic from `random.Random` seeds, idempotent, imports helpers from
`gen_vectors.py` without running it) with %s, never with the Go code.

- `restore/vod/` - an on-demand asset: `plain/` and `enc/` hold movie.mp4 (ftyp+moov+mdat, 300 KiB),
  movie_audio.m4a, video.ism (SMIL with a UTF-8 BOM), video.ismc, subs.vtt, meta.json, thumb.jpg,
  poster.png, clip.ts (10 TS packets), data.bin (unknown format), empty.txt (0 bytes) and, in `enc/` only,
  big.mp4 (1.5 MiB+, multi-chunk; its plaintext is not stored to keep the tree under 2.5 MB, expected.json
  has its size and SHA-256). Each file is AES-256-CTR encrypted with its own IV (counter BE64(iv)||BE64(0));
  data.bin's IV is 2^64-1 and big.mp4's has the top bit set. `keys/` holds every export of the one key:
  v3 getEncryptionKey, v2 Files (minimal and verbose OData), an AssetFile as amscrypt prints it, a key file,
  a ContentKey entity wrapped (RSA-OAEP-SHA1) to `rsa2048.crt.pem` (unwrap with `rsa2048.pkcs8.key.pem` or
  the rsa2048 PFX files), RebindContentKey answers (minimal, verbose) and an `az keyvault secret show`
  output. `bad/` holds wrong or conflicting exports.
- `restore/live/` - a live archive: tracks `video` and `audio_eng=128000`, each a `header` fragblob
  (ftyp+moov) and three fragments named by time (moof+mdat; audio `20053333` starts with styp), all
  fragblobs of a track under the track entry's IV with the counter restarting at 0 per fragblob, plus
  `video.ism` with its own IV. `keys/`: v3, v2 Files (tracks without ContentFileSize), Key Vault secret.
- `restore/expected.json` - per asset the key, key id, entries and IVs, and per plaintext file its path,
  size, SHA-256 and recognised format (`iso-bmff`, `mpeg-ts`, `xml`, `webvtt`, `json`, `jpeg`, `png`, null);
  per key export document its asset, kind, what it provides, whether it is valid and, if not, the field
  and the documents it conflicts with.

Checks made while generating: NIST AES vectors, ISO-BMFF box sizes, spot blocks recomputed with AES-ECB,
ranged decryption, `openssl enc -aes-256-ctr` on movie.mp4, subs.vtt, data.bin, big.mp4 and three live
blobs, the ContentKey unwrapped by `cryptography` and `openssl pkeyutl`, and its checksum from
`gen_vectors.checksum`. Note: `gen_vectors.py` rewrites README.md without this section; rerun
`gen_restore.py` afterwards to put it back.
""" % TOOLS


def write_readme_section():
    p = os.path.join(TESTDATA, "README.md")
    with open(p, "rb") as f:
        text = f.read().decode("utf-8")
    i = text.find(README_MARK)
    base = text if i < 0 else text[:i]
    new = base.rstrip("\n") + "\n\n" + readme_section()
    if new != text:
        with open(p, "wb") as f:
            f.write(new.encode("utf-8"))


if __name__ == "__main__":
    main()
