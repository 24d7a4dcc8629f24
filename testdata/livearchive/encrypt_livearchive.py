#!/usr/bin/env python3
"""Storage-encrypts a plaintext live archive the way Media Services v2 stored one, independently
of the Go code, and writes its v3 getEncryptionKey export.

    python3 testdata/livearchive/encrypt_livearchive.py --in testdata/livearchive/archive \
        --out ENC_DIR --keys-out KEYS.json [--untimed-last STREAM]...

Used by the stitching tests of restore and serve (and scripts/test-serve), which run it into a
temporary directory, so no ciphertext is checked in.

Every file in the root of --in (live.ism, live.ismc) is encrypted with AES-256-CTR (Python
`cryptography`) under one fresh random key and its own fresh random 8-byte IV. Every directory
of --in is a track: its fragblobs (`header`, `<time>`) are each encrypted on their own from
counter 0 with one IV for the whole track, and the export names the track by its prefix (the
directory's name), as SPEC.md ("Live archives") describes. The counter block for byte offset o
is BE64(iv) || BE64(o / 16). The counter layout is checked against AES-ECB on single blocks
before anything is written, and spot-checked in every ciphertext afterwards (the helpers of
testdata/serve/encrypt_asset.py).

--untimed-last STREAM  drop the last <c> element of the StreamIndex named STREAM from the client
                       manifest before it is encrypted: that track's last fragblob is then one
                       the timeline does not name (an "extra" fragment for the stitcher).

Writes only ENC_DIR/... and KEYS.json, refused if they exist already.
"""

import argparse
import base64
import json
import os
import re
import sys
import tempfile
import uuid

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "serve"))
import encrypt_asset as ea  # noqa: E402


def untime_last(ismc, stream):
    """The client manifest without the last <c> of StreamIndex Name=stream."""
    m = re.search(r'<StreamIndex[^>]*\bName="%s"[^>]*>(.*?)</StreamIndex>' % re.escape(stream), ismc, re.S)
    if not m:
        sys.exit("encrypt_livearchive: no StreamIndex named %s" % stream)
    body = m.group(1)
    cs = list(re.finditer(r'[ \t]*<c\b[^>]*/>\n?', body))
    if not cs:
        sys.exit("encrypt_livearchive: StreamIndex %s has no <c>" % stream)
    last = cs[-1]
    if 'r="' in last.group(0):
        sys.exit("encrypt_livearchive: the last <c> of %s repeats; not supported" % stream)
    body = body[:last.start()] + body[last.end():]
    return ismc[:m.start(1)] + body + ismc[m.end(1):]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--in", dest="src", required=True, help="the plaintext live archive")
    ap.add_argument("--out", required=True, help="directory for the ciphertexts (must not exist)")
    ap.add_argument("--keys-out", required=True, help="where to write the getEncryptionKey document")
    ap.add_argument("--untimed-last", action="append", default=[], metavar="STREAM")
    args = ap.parse_args()

    ea.self_test()
    if os.path.exists(args.out) or os.path.exists(args.keys_out):
        sys.exit("encrypt_livearchive: %s or %s exists already" % (args.out, args.keys_out))
    os.makedirs(args.out)
    key = os.urandom(32)
    meta = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in sorted(os.listdir(args.src)):
            src = os.path.join(args.src, name)
            iv = ea.random_iv()
            if os.path.isdir(src):
                os.makedirs(os.path.join(args.out, name))
                for frag in sorted(os.listdir(src)):
                    s, d = os.path.join(src, frag), os.path.join(args.out, name, frag)
                    ea.encrypt_file(key, iv, s, d)
                    ea.spot_check(key, iv, s, d)
            else:
                if name.lower().endswith(".ismc") and args.untimed_last:
                    with open(src, encoding="utf-8") as f:
                        text = f.read()
                    for stream in args.untimed_last:
                        text = untime_last(text, stream)
                    src = os.path.join(tmp, name)
                    with open(src, "w", encoding="utf-8") as f:
                        f.write(text)
                d = os.path.join(args.out, name)
                ea.encrypt_file(key, iv, src, d)
                ea.spot_check(key, iv, src, d)
            meta.append({"initializationVector": str(iv), "assetFileName": name, "assetFileId": str(uuid.uuid4())})
    doc = {"key": base64.b64encode(key).decode("ascii"), "assetFileEncryptionMetadata": meta}
    fd = os.open(args.keys_out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
