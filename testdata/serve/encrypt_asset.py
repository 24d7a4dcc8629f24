#!/usr/bin/env python3
"""Storage-encrypts files the way Media Services v2 did, independently of the Go code.

Used by scripts/test-serve and bench/serve.sh to make encrypted assets at run time from
media that ffmpeg has just produced (so nothing large is checked in):

    python3 testdata/serve/encrypt_asset.py --out ENC_DIR --keys-out KEYS.json \
        [--wrong-iv NAME]... [--existing NAME]... PLAINTEXT...

Each PLAINTEXT is encrypted with AES-256-CTR (Python `cryptography`) under one fresh random
key and its own fresh random 8-byte IV into ENC_DIR/<basename>; the counter block for byte
offset o is BE64(iv) || BE64(o / 16), i.e. ordinary CTR starting at BE64(iv) || 0^64 (SPEC.md,
"File encryption"). KEYS.json is the v3 getEncryptionKey answer for the asset:

    {"key":"<base64>","assetFileEncryptionMetadata":[{"initializationVector":"<decimal uint64>",
      "assetFileName":"<name>","assetFileId":"<guid>"}, ...]}

--wrong-iv NAME  the export gives NAME an IV other than the one it was encrypted with, so its
                 plaintext cannot be recovered and its head check must fail.
--existing NAME  ENC_DIR/NAME is already there (say a sparse file made with `truncate`); it is
                 listed in the export with a random IV and left as it is: whatever its bytes, they
                 "decrypt" to something, which is enough for a file of an unknown format.

Before writing anything the script checks its counter layout against AES-ECB on single blocks
(so the layout does not rest on how `cryptography` increments the counter), and afterwards it
spot-checks blocks of every ciphertext the same way. Writes only ENC_DIR/<name> and KEYS.json,
both refused if they exist already.
"""

import argparse
import base64
import json
import os
import secrets
import struct
import sys
import uuid

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

CHUNK = 1 << 20


def counter_block(iv, offset):
    return struct.pack(">QQ", iv, offset // 16)


def ecb_block(key, block):
    e = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return e.update(block) + e.finalize()


def check_block(key, iv, offset, plain, cipher):
    """The 16-byte block at offset (a multiple of 16), or what is left of it, must be
    plaintext XOR AES-ECB(key, BE64(iv) || BE64(offset/16))."""
    ks = ecb_block(key, counter_block(iv, offset))
    want = bytes(p ^ k for p, k in zip(plain, ks))
    if want != cipher:
        sys.exit("encrypt_asset: counter layout check failed at offset %d" % offset)


def self_test():
    key = secrets.token_bytes(32)
    iv = 0xFFFFFFFFFFFFFFFF  # an IV with every bit set must not carry into the block number
    plain = secrets.token_bytes(16 * 40 + 5)
    ct = Cipher(algorithms.AES(key), modes.CTR(counter_block(iv, 0))).encryptor().update(plain)
    for off in (0, 16, 16 * 17, 16 * 40):
        check_block(key, iv, off, plain[off:off + 16], ct[off:off + 16])


def encrypt_file(key, iv, src, dst):
    enc = Cipher(algorithms.AES(key), modes.CTR(counter_block(iv, 0))).encryptor()
    with open(src, "rb") as fin, open(dst, "xb") as fout:
        while True:
            buf = fin.read(CHUNK)
            if not buf:
                break
            fout.write(enc.update(buf))
        fout.write(enc.finalize())


def spot_check(key, iv, src, dst):
    size = os.path.getsize(src)
    if os.path.getsize(dst) != size:
        sys.exit("encrypt_asset: %s: ciphertext length differs from plaintext" % dst)
    if size == 0:
        return
    last = (size - 1) // 16 * 16
    offsets = {0, last, (size // 2) // 16 * 16, secrets.randbelow(last + 1) // 16 * 16}
    with open(src, "rb") as fp, open(dst, "rb") as fc:
        for off in sorted(offsets):
            fp.seek(off)
            fc.seek(off)
            check_block(key, iv, off, fp.read(16), fc.read(16))


def random_iv():
    return int.from_bytes(secrets.token_bytes(8), "big")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="directory for the ciphertexts (created if missing)")
    ap.add_argument("--keys-out", required=True, help="where to write the getEncryptionKey document")
    ap.add_argument("--wrong-iv", action="append", default=[], metavar="NAME")
    ap.add_argument("--existing", action="append", default=[], metavar="NAME")
    ap.add_argument("plaintext", nargs="*")
    args = ap.parse_args()

    self_test()
    names = [os.path.basename(p) for p in args.plaintext] + args.existing
    if len(set(names)) != len(names):
        sys.exit("encrypt_asset: a file name is given twice")
    for name in args.wrong_iv:
        if name not in names:
            sys.exit("encrypt_asset: --wrong-iv %s names no file" % name)
    if os.path.exists(args.keys_out):
        sys.exit("encrypt_asset: %s exists already" % args.keys_out)
    os.makedirs(args.out, exist_ok=True)

    key = secrets.token_bytes(32)
    entries = []
    for src in args.plaintext:
        name = os.path.basename(src)
        dst = os.path.join(args.out, name)
        iv = random_iv()
        encrypt_file(key, iv, src, dst)
        spot_check(key, iv, src, dst)
        entries.append((name, iv))
    for name in args.existing:
        if not os.path.isfile(os.path.join(args.out, name)):
            sys.exit("encrypt_asset: --existing %s: no such file in %s" % (name, args.out))
        entries.append((name, random_iv()))

    meta = []
    for name, iv in entries:
        if name in args.wrong_iv:
            iv ^= 1 << secrets.randbelow(64)  # any other IV; one bit is as wrong as all of them
        meta.append({
            "initializationVector": str(iv),
            "assetFileName": name,
            "assetFileId": str(uuid.uuid4()),
        })
    doc = {"key": base64.b64encode(key).decode("ascii"), "assetFileEncryptionMetadata": meta}
    fd = os.open(args.keys_out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
