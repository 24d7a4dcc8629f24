#!/usr/bin/env python3
"""Independent known-answer vector generator for amscrypt.

Run from the repository root:

    python3 testdata/gen_vectors.py

Everything here is computed with Python's standard library, the `cryptography`
package and the `openssl` command line tool -- never with the Go code under test.

Determinism: every input comes from fixed constants or random.Random(fixed seed).
The only things that are not reproducible are RSA/EC key generation, ECDSA
signatures, RSA-OAEP padding and PKCS#12 salts. For those the script reuses what
is already on disk (key files, the EC certificate, the PFX files, the wrapped keys
in oaep.json) as long as it still checks out, so a rerun leaves the tree unchanged.
Files are only rewritten when their content changes.
"""

import base64
import datetime
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import uuid
import warnings

import cryptography
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import NameOID

# Python cryptography warns (but still parses) certificates with a negative serial.
warnings.filterwarnings("ignore", category=CryptographyDeprecationWarning)

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED_AMS_CERT = "/work/shared/testdata/ams-protection-cert.b64"
AMS_THUMBPRINT = "7D9BB04D9D0A4A24800CADBFEF232689E048F69C"
ODATA_METADATA = "https://media.windows.net/api/$metadata#Edm.String"

# "expired" in certs.json is judged against this fixed instant, so the file does not
# change with the wall clock. not_after is recorded too.
EXPIRY_REFERENCE = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)

PFX_PASSWORD = "amscrypt-Pa55word"
PFX_WRONG_PASSWORD = "amscrypt-wrong-password"

CRYPTO_VERSION = cryptography.__version__


def openssl(args, data=b"", check=True):
    p = subprocess.run(["openssl"] + args, input=data, capture_output=True)
    if check and p.returncode != 0:
        raise RuntimeError("openssl %s failed: %s" % (" ".join(args), p.stderr.decode(errors="replace")))
    return p


OPENSSL_VERSION = openssl(["version"]).stdout.decode().strip()
TOOLS = "Python %s, cryptography %s, %s" % (sys.version.split()[0], CRYPTO_VERSION, OPENSSL_VERSION)


def path(name):
    return os.path.join(HERE, name)


def write_if_changed(name, data):
    if isinstance(data, str):
        data = data.encode()
    p = path(name)
    if os.path.exists(p):
        with open(p, "rb") as f:
            if f.read() == data:
                return
    with open(p, "wb") as f:
        f.write(data)


def read(name):
    with open(path(name), "rb") as f:
        return f.read()


def write_json(name, obj):
    write_if_changed(name, json.dumps(obj, indent=2, ensure_ascii=True) + "\n")


def b64(b):
    return base64.b64encode(b).decode()


def pem_wrap(der, label="CERTIFICATE"):
    s = base64.b64encode(der).decode()
    lines = [s[i:i + 64] for i in range(0, len(s), 64)]
    return "-----BEGIN %s-----\n%s\n-----END %s-----\n" % (label, "\n".join(lines), label)


def odata_body(der):
    return json.dumps({"odata.metadata": ODATA_METADATA, "value": b64(der)}, separators=(",", ":"))


# --------------------------------------------------------------------------------------
# Self-test of the environment against published NIST SP 800-38A vectors.
# --------------------------------------------------------------------------------------

def self_test():
    k128 = bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c")
    k256 = bytes.fromhex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
    p = bytes.fromhex("6bc1bee22e409f96e93d7e117393172a")
    e = Cipher(algorithms.AES(k128), modes.ECB()).encryptor()
    assert e.update(p) + e.finalize() == bytes.fromhex("3ad77bb40d7a3660a89ecaf32466ef97")  # F.1.1
    e = Cipher(algorithms.AES(k256), modes.ECB()).encryptor()
    assert e.update(p) + e.finalize() == bytes.fromhex("f3eed1bdb5d2a03c064b5a7e3db181f8")  # F.1.5
    e = Cipher(algorithms.AES(k256), modes.CTR(bytes.fromhex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"))).encryptor()
    assert e.update(p) + e.finalize() == bytes.fromhex("601ec313775789a5b7a7f504bbf3d228")  # F.5.5


# --------------------------------------------------------------------------------------
# Checksum
# --------------------------------------------------------------------------------------

def dotnet_guid_bytes(u):
    """.NET Guid.ToByteArray(): first three fields little-endian, last 8 bytes as written."""
    b = u.bytes
    manual = b[3::-1] + b[5:3:-1] + b[7:5:-1] + b[8:]
    assert manual == u.bytes_le, (manual.hex(), u.bytes_le.hex())
    return manual


def aes_ecb_block(key, block):
    assert len(key) in (16, 32) and len(block) == 16
    e = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return e.update(block) + e.finalize()


def openssl_ecb_block(key, block):
    alg = "-aes-128-ecb" if len(key) == 16 else "-aes-256-ecb"
    return openssl(["enc", alg, "-nopad", "-K", key.hex()], block).stdout


def parse_key_id(s):
    """Independent parser for the id spellings: optional case-insensitive nb:kid:UUID: prefix."""
    if s[:12].lower() == "nb:kid:uuid:":
        s = s[12:]
    assert re.fullmatch(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}", s), s
    return uuid.UUID(s)


def checksum(key, key_id):
    u = parse_key_id(key_id)
    c = base64.b64encode(aes_ecb_block(key, dotnet_guid_bytes(u))[:8]).decode()
    assert len(c) == 12 and c.endswith("=") and not c.endswith("=="), c
    return c


def java_checksum(key, u):
    return b64(aes_ecb_block(key, str(u).encode("utf-8")[:16])[:8])


def php_checksum(key, u):
    return b64(aes_ecb_block(key, ("nb:kid:UUID:" + str(u)).encode("utf-8")[:16])[:8])


def gen_checksum():
    rng = random.Random(20240630)

    def rkey(n):
        return bytes(rng.getrandbits(8) for _ in range(n))

    def rguid():
        return uuid.UUID(int=rng.getrandbits(128), version=4)

    g0 = uuid.UUID("00112233-4455-6677-8899-aabbccddeeff")
    assert dotnet_guid_bytes(g0).hex() == "33221100554477668899aabbccddeeff"
    gff = uuid.UUID("ffffffff-ffff-ffff-ffff-ffffffffffff")
    gzero = uuid.UUID(int=0)
    gdoc = uuid.UUID("316d14d4-b603-4d90-b8db-0fede8aa48f8")

    vectors = []
    for n in (32, 16):
        cases = [
            ("sequential key, documented byte-order example guid", bytes(range(n)), g0),
            ("all-zero key, documented byte-order example guid", bytes(n), g0),
            ("random key, all-0xff guid", rkey(n), gff),
            ("random key, all-zero (nil) guid", rkey(n), gzero),
            ("random key, guid from the SPEC key id example", rkey(n), gdoc),
            ("all-0xff key, random guid", b"\xff" * n, rguid()),
            ("random key, random guid", rkey(n), rguid()),
            ("random key, random guid", rkey(n), rguid()),
            ("random key, random guid", rkey(n), rguid()),
        ]
        for note, key, u in cases:
            lower = str(u)
            upper = lower.upper()
            spellings = [
                "nb:kid:UUID:" + lower,
                "NB:KID:uuid:" + upper,
                lower,
                upper,
                "nb:kid:uuid:" + lower,
                "nb:kid:UUID:" + upper,
            ]
            block = dotnet_guid_bytes(u)
            sums = {checksum(key, s) for s in spellings}
            assert len(sums) == 1
            c = sums.pop()
            # Cross-check the AES-ECB block with openssl.
            assert openssl_ecb_block(key, block) == aes_ecb_block(key, block)
            j = java_checksum(key, u)
            p = php_checksum(key, u)
            assert len({c, j, p}) == 3
            vectors.append({
                "note": note,
                "aes": "AES-%d" % (n * 8),
                "key": b64(key),
                "key_hex": key.hex(),
                "guid": lower,
                "id_spellings": spellings,
                "dotnet_block_hex": block.hex(),
                "checksum": c,
                "java_checksum": j,
                "php_checksum": p,
            })
    write_json("checksum.json", {
        "description": (
            "Content-key checksum vectors. Generated by testdata/gen_vectors.py with %s, "
            "independent of the Go code. checksum = base64(AES-ECB-Encrypt(key, block)[0:8]) where block is the "
            "GUID in .NET Guid.ToByteArray() order (Python uuid.UUID(...).bytes_le, asserted equal to a manual "
            "swap of the first three fields); AES-128 for 16-byte keys, AES-256 for 32-byte keys; every AES "
            "block was cross-checked with `openssl enc -aes-{128,256}-ecb -nopad`. Every spelling in id_spellings "
            "must give the same checksum. java_checksum (AES-ECB over the first 16 bytes of the UTF-8 lowercase "
            "GUID text) and php_checksum (first 16 bytes of UTF-8 'nb:kid:UUID:<lowercase guid>') are the legacy "
            "WRONG forms, for diagnostics only: a verifier must not accept them. Random keys/guids come from "
            "random.Random(20240630)." % TOOLS),
        "vectors": vectors,
    })


# --------------------------------------------------------------------------------------
# Keys and certificates
# --------------------------------------------------------------------------------------

def load_or_make_key(name, make):
    p = path(name)
    if os.path.exists(p):
        return serialization.load_pem_private_key(read(name), password=None)
    k = make()
    write_if_changed(name, k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return k


def pkcs8_pem(k):
    return k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def pkcs1_pem(k):
    return k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                           serialization.NoEncryption())


def utc(y, m, d, hh=0, mm=0, ss=0):
    return datetime.datetime(y, m, d, hh, mm, ss, tzinfo=datetime.timezone.utc)


def build_cert(key, cn, serial, not_before, not_after):
    name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "amscrypt testdata"),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ])
    b = (x509.CertificateBuilder()
         .subject_name(name).issuer_name(name)
         .public_key(key.public_key())
         .serial_number(serial)
         .not_valid_before(not_before).not_valid_after(not_after)
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
         .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=True,
                                      data_encipherment=True, key_agreement=False, key_cert_sign=False,
                                      crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    return b.sign(key, hashes.SHA256())


# A tiny DER reader/writer, enough to swap the serial number of a TBSCertificate.

def der_header(buf, pos):
    tag = buf[pos]
    assert tag & 0x1F != 0x1F, "multi-byte tags not supported"
    l0 = buf[pos + 1]
    if l0 < 0x80:
        return tag, 2, l0
    n = l0 & 0x7F
    assert 1 <= n <= 4
    return tag, 2 + n, int.from_bytes(buf[pos + 2:pos + 2 + n], "big")


def der_children(content):
    """Split the content octets of a constructed element into raw child TLVs."""
    out, pos = [], 0
    while pos < len(content):
        _, hl, ln = der_header(content, pos)
        out.append(content[pos:pos + hl + ln])
        pos += hl + ln
    assert pos == len(content)
    return out


def der_content(tlv):
    _, hl, ln = der_header(tlv, 0)
    assert hl + ln == len(tlv)
    return tlv[hl:]


def der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def der_tlv(tag, content):
    return bytes([tag]) + der_len(len(content)) + content


NEG_SERIAL_BYTES = bytes.fromhex("80123456789abcdef0123456789abcde")  # high bit set: negative in two's complement


def build_negative_serial_cert(key):
    template = build_cert(key, "amscrypt test rsa2048 negative serial", 0x1234,
                          utc(2020, 1, 1), utc(2049, 12, 31, 23, 59, 59))
    der = template.public_bytes(serialization.Encoding.DER)
    tbs, sig_alg, _sig = der_children(der_content(der))
    fields = der_children(der_content(tbs))
    assert fields[0][0] == 0xA0 and fields[1][0] == 0x02  # [0] version, INTEGER serialNumber
    assert der_content(fields[1]) == b"\x12\x34"
    fields[1] = der_tlv(0x02, NEG_SERIAL_BYTES)
    new_tbs = der_tlv(0x30, b"".join(fields))
    sig = key.sign(new_tbs, padding.PKCS1v15(), hashes.SHA256())
    cert = der_tlv(0x30, new_tbs + sig_alg + der_tlv(0x03, b"\x00" + sig))
    # Self-checks: Python parses it, sees the negative serial, and the signature verifies.
    c = x509.load_der_x509_certificate(cert)
    assert c.serial_number == int.from_bytes(NEG_SERIAL_BYTES, "big", signed=True) < 0
    assert c.tbs_certificate_bytes == new_tbs
    key.public_key().verify(c.signature, c.tbs_certificate_bytes, padding.PKCS1v15(), hashes.SHA256())
    return cert


def cert_matches_key(cert_der, key):
    c = x509.load_der_x509_certificate(cert_der)
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return c.public_key().public_bytes(*fmt) == key.public_key().public_bytes(*fmt)


def read_pem_cert_der(name):
    return x509.load_pem_x509_certificate(read(name)).public_bytes(serialization.Encoding.DER)


def gen_keys_and_certs():
    """Returns a dict with keys and certificate DERs."""
    k2048 = load_or_make_key("rsa2048.pkcs8.key.pem", lambda: rsa.generate_private_key(65537, 2048))
    write_if_changed("rsa2048.pkcs1.key.pem", pkcs1_pem(k2048))
    write_if_changed("rsa2048.pkcs8.key.pem", pkcs8_pem(k2048))
    k3072 = load_or_make_key("rsa3072.pkcs8.key.pem", lambda: rsa.generate_private_key(65537, 3072))
    k1024 = load_or_make_key("rsa1024.pkcs8.key.pem", lambda: rsa.generate_private_key(65537, 1024))
    kec = load_or_make_key("ec-p256.pkcs8.key.pem", lambda: ec.generate_private_key(ec.SECP256R1()))
    assert k2048.key_size == 2048 and k3072.key_size == 3072 and k1024.key_size == 1024
    assert isinstance(kec, ec.EllipticCurvePrivateKey) and kec.curve.name == "secp256r1"

    nb, na = utc(2020, 1, 1), utc(2049, 12, 31, 23, 59, 59)
    der = {}
    # RSA PKCS#1 v1.5 signatures are deterministic, so these certs are identical on every run.
    der["rsa2048"] = build_cert(k2048, "amscrypt test rsa2048", 0x2048, nb, na).public_bytes(serialization.Encoding.DER)
    der["rsa3072"] = build_cert(k3072, "amscrypt test rsa3072", 0x3072, nb, na).public_bytes(serialization.Encoding.DER)
    der["rsa1024"] = build_cert(k1024, "amscrypt test rsa1024 (weak)", 0x1024, nb, na).public_bytes(
        serialization.Encoding.DER)
    der["expired"] = build_cert(k2048, "amscrypt test rsa2048 expired", 0x2015, utc(2010, 1, 1),
                                utc(2015, 1, 1)).public_bytes(serialization.Encoding.DER)
    der["negserial"] = build_negative_serial_cert(k2048)
    # ECDSA signatures are randomised: keep the existing EC cert if it still matches the key.
    ec_name = "ec-p256.crt.pem"
    if os.path.exists(path(ec_name)) and cert_matches_key(read_pem_cert_der(ec_name), kec):
        der["ec"] = read_pem_cert_der(ec_name)
    else:
        der["ec"] = build_cert(kec, "amscrypt test ec-p256", 0x256, nb, na).public_bytes(serialization.Encoding.DER)

    write_if_changed("rsa2048.crt.der", der["rsa2048"])
    write_if_changed("rsa2048.crt.pem", pem_wrap(der["rsa2048"]))
    write_if_changed("rsa2048.crt.b64", b64(der["rsa2048"]) + "\n")
    write_if_changed("rsa2048.crt.json", odata_body(der["rsa2048"]))
    write_if_changed("rsa3072.crt.pem", pem_wrap(der["rsa3072"]))
    write_if_changed("rsa1024.crt.pem", pem_wrap(der["rsa1024"]))
    write_if_changed("ec-p256.crt.pem", pem_wrap(der["ec"]))
    write_if_changed("expired-rsa2048.crt.pem", pem_wrap(der["expired"]))
    write_if_changed("negserial-rsa2048.crt.pem", pem_wrap(der["negserial"]))
    write_if_changed("negserial-rsa2048.crt.der", der["negserial"])
    # openssl reads the negative serial and accepts the self-signature.
    neg_pem = path("negserial-rsa2048.crt.pem")
    assert openssl(["x509", "-noout", "-serial", "-in", neg_pem]).stdout.decode().startswith("serial=-")
    assert "(Negative)" in openssl(["x509", "-noout", "-text", "-in", neg_pem]).stdout.decode()
    assert openssl(["verify", "-CAfile", neg_pem, neg_pem]).stdout.decode().strip().endswith(": OK")

    # The documented Media Services protection certificate.
    if read_shared_differs():
        shutil.copyfile(SHARED_AMS_CERT, path("ams-protection-cert.b64"))
    ams_der = base64.b64decode(read("ams-protection-cert.b64"), validate=False)
    assert hashlib.sha1(ams_der).hexdigest().upper() == AMS_THUMBPRINT
    der["ams"] = ams_der
    write_if_changed("ams-protection-cert.der", ams_der)
    write_if_changed("ams-protection-cert.pem", pem_wrap(ams_der))
    write_if_changed("ams-protection-cert.json", odata_body(ams_der))

    # Files that are not certificates.
    rng = random.Random(4041)
    write_if_changed("invalid-empty.crt", b"")
    write_if_changed("invalid-garbage.bin", bytes(rng.getrandbits(8) for _ in range(300)))
    write_if_changed("invalid-not-a-cert.json", json.dumps(
        {"odata.metadata": ODATA_METADATA, "value": b64(b"this is not a certificate")}, separators=(",", ":")))
    write_if_changed("invalid-truncated.der", der["rsa2048"][:100])
    write_if_changed("invalid-truncated.b64", b64(der["rsa2048"][:100]) + "\n")
    write_if_changed("invalid-garbage-in-pem.pem", pem_wrap(bytes(rng.getrandbits(8) for _ in range(200))))

    return {"k2048": k2048, "k3072": k3072, "k1024": k1024, "kec": kec, "der": der}


def read_shared_differs():
    p = path("ams-protection-cert.b64")
    if not os.path.exists(p):
        return True
    with open(SHARED_AMS_CERT, "rb") as f:
        return f.read() != read("ams-protection-cert.b64")


def openssl_cert_info(der):
    """Thumbprint and serial as openssl prints them (DER fed on stdin)."""
    fp = openssl(["x509", "-inform", "DER", "-noout", "-fingerprint", "-sha1"], der).stdout.decode().strip()
    serial = openssl(["x509", "-inform", "DER", "-noout", "-serial"], der).stdout.decode().strip()
    m = re.fullmatch(r"(?i)sha1 Fingerprint=([0-9A-F:]+)", fp)
    assert m, fp
    return m.group(1).replace(":", "").upper(), serial


def decode_cert_file(name, fmt):
    data = read(name)
    if fmt == "der":
        return data
    if fmt == "pem":
        m = re.search(rb"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", data, re.S)
        return base64.b64decode(b"".join(m.group(1).split()), validate=True)
    if fmt == "b64":
        return base64.b64decode(b"".join(data.split()), validate=True)
    if fmt == "json":
        return base64.b64decode(json.loads(data)["value"], validate=True)
    raise ValueError(fmt)


def gen_certs_json(m):
    der = m["der"]
    files = [
        ("rsa2048.crt.pem", "pem", "rsa2048"), ("rsa2048.crt.der", "der", "rsa2048"),
        ("rsa2048.crt.b64", "b64", "rsa2048"), ("rsa2048.crt.json", "json", "rsa2048"),
        ("rsa3072.crt.pem", "pem", "rsa3072"),
        ("rsa1024.crt.pem", "pem", "rsa1024"),
        ("ec-p256.crt.pem", "pem", "ec"),
        ("expired-rsa2048.crt.pem", "pem", "expired"),
        ("negserial-rsa2048.crt.pem", "pem", "negserial"), ("negserial-rsa2048.crt.der", "der", "negserial"),
        ("ams-protection-cert.b64", "b64", "ams"), ("ams-protection-cert.der", "der", "ams"),
        ("ams-protection-cert.pem", "pem", "ams"), ("ams-protection-cert.json", "json", "ams"),
    ]
    private_key_for = {"rsa2048": "rsa2048.pkcs8.key.pem", "expired": "rsa2048.pkcs8.key.pem",
                       "negserial": "rsa2048.pkcs8.key.pem", "rsa3072": "rsa3072.pkcs8.key.pem",
                       "rsa1024": "rsa1024.pkcs8.key.pem", "ec": "ec-p256.pkcs8.key.pem", "ams": ""}
    vectors = []
    for name, fmt, which in files:
        d = decode_cert_file(name, fmt)
        assert d == der[which], name
        # openssl must also read the file itself (pem/der directly).
        if fmt in ("pem", "der"):
            fp = openssl(["x509", "-inform", fmt.upper(), "-in", path(name), "-noout", "-fingerprint", "-sha1"])
            assert fp.stdout.decode().strip().split("=", 1)[1].replace(":", "").upper() == hashlib.sha1(d).hexdigest().upper()
        thumb = hashlib.sha1(d).hexdigest().upper()
        ossl_thumb, ossl_serial = openssl_cert_info(d)
        assert ossl_thumb == thumb, (name, ossl_thumb, thumb)
        c = x509.load_der_x509_certificate(d)
        pub = c.public_key()
        if isinstance(pub, rsa.RSAPublicKey):
            kt, bits = "RSA", pub.key_size
        else:
            assert isinstance(pub, ec.EllipticCurvePublicKey)
            kt, bits = "EC", 0
        neg = c.serial_number < 0
        assert neg == ossl_serial.startswith("serial=-"), ossl_serial
        vectors.append({
            "file": name,
            "format": fmt,
            "thumbprint": thumb,
            "key_type": kt,
            "rsa_bits": bits,
            "can_wrap": kt == "RSA" and bits >= 2048,
            "negative_serial": neg,
            "expired": c.not_valid_after_utc < EXPIRY_REFERENCE,
            "not_before": c.not_valid_before_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "not_after": c.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "serial": str(c.serial_number),
            "openssl_serial": ossl_serial,
            "signature_algorithm": c.signature_algorithm_oid._name,
            "subject": c.subject.rfc4514_string(),
            "private_key_file": private_key_for[which],
            "expect_error": False,
        })
    assert any(v["thumbprint"] == AMS_THUMBPRINT for v in vectors)

    invalid = [
        ("invalid-empty.crt", "empty file"),
        ("invalid-garbage.bin", "300 random bytes (random.Random(4041))"),
        ("rsa2048.pkcs8.key.pem", "PEM with only a PKCS#8 private key, no certificate"),
        ("rsa2048.pkcs1.key.pem", "PEM with only a PKCS#1 RSA private key, no certificate"),
        ("invalid-not-a-cert.json", "GetProtectionKey JSON body whose value is base64 of a text string, not a certificate"),
        ("invalid-truncated.der", "first 100 bytes of rsa2048.crt.der"),
        ("invalid-truncated.b64", "base64 of the first 100 bytes of rsa2048.crt.der"),
        ("invalid-garbage-in-pem.pem", "CERTIFICATE PEM block wrapping 200 random bytes"),
    ]
    for name, why in invalid:
        data = read(name)
        # Neither Python nor openssl may read these as certificates.
        for loader in (x509.load_der_x509_certificate, x509.load_pem_x509_certificate):
            try:
                loader(data)
                raise AssertionError("%s parsed as a certificate" % name)
            except ValueError:
                pass
        for inform in ("DER", "PEM"):
            assert openssl(["x509", "-inform", inform, "-noout", "-in", path(name)], check=False).returncode != 0, name
        vectors.append({"file": name, "format": "invalid", "expect_error": True, "why": why})

    write_json("certs.json", {
        "description": (
            "Certificate files and what the library must read from them. Generated by testdata/gen_vectors.py with "
            "%s, independent of the Go code. thumbprint = uppercase hex SHA-1 of the certificate DER (hashlib), "
            "cross-checked with `openssl x509 -fingerprint -sha1` for every entry (b64/json forms decoded to DER "
            "and fed to openssl on stdin); openssl_serial is `openssl x509 -noout -serial` output. can_wrap is true "
            "only for RSA >= 2048 bits. expired = notAfter < %s (a fixed reference instant; not_after is given so a "
            "test can compare with its own clock). The RSA/EC keys were generated once by the script and are "
            "checked in; the RSA certificates are re-derived deterministically from them. The negative-serial "
            "certificate was made by replacing the serial INTEGER of a normal TBSCertificate with DER bytes %s, "
            "re-encoding the lengths with a hand-written DER encoder and re-signing (RSA PKCS#1 v1.5 SHA-256); "
            "openssl prints its serial as 'serial=-7FEDCBA9876543210FEDCBA987654322' (and '(Negative)7f:ed:...' in "
            "-text) and `openssl verify -CAfile F F` accepts its self-signature. "
            "ams-protection-cert.* is the documented Media Services protection certificate (negative serial, "
            "md5WithRSAEncryption, thumbprint %s). Entries with format 'invalid' and expect_error true must be "
            "refused as not a certificate." % (TOOLS, EXPIRY_REFERENCE.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                               NEG_SERIAL_BYTES.hex(), AMS_THUMBPRINT)),
        "vectors": vectors,
    })
    return {v["file"]: v["thumbprint"] for v in vectors if not v["expect_error"]}


# --------------------------------------------------------------------------------------
# RSA-OAEP wrapping and ContentKey entities
# --------------------------------------------------------------------------------------

OAEP = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None)


def openssl_oaep_decrypt(key_file, wrapped):
    return openssl(["pkeyutl", "-decrypt", "-inkey", path(key_file), "-pkeyopt", "rsa_padding_mode:oaep",
                    "-pkeyopt", "rsa_oaep_md:sha1", "-pkeyopt", "rsa_mgf1_md:sha1"], wrapped).stdout


def openssl_oaep_encrypt(cert_file, clear):
    return openssl(["pkeyutl", "-encrypt", "-certin", "-inkey", path(cert_file), "-pkeyopt",
                    "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha1", "-pkeyopt", "rsa_mgf1_md:sha1"],
                   clear).stdout


def gen_oaep(m, thumbs):
    previous = {}
    if os.path.exists(path("oaep.json")):
        try:
            for v in json.loads(read("oaep.json"))["vectors"]:
                previous[(v["private_key_file"], v["cert_file"], v["key"], v["key_id"], v["wrapped_by"])] = v["wrapped"]
        except (ValueError, KeyError):
            previous = {}

    rng = random.Random(1030)

    def rkey(n):
        return bytes(rng.getrandbits(8) for _ in range(n))

    vectors = []
    for key_file, cert_file, priv in (("rsa2048.pkcs8.key.pem", "rsa2048.crt.pem", m["k2048"]),
                                      ("rsa3072.pkcs8.key.pem", "rsa3072.crt.pem", m["k3072"])):
        pub = x509.load_pem_x509_certificate(read(cert_file)).public_key()
        clears = [
            (rkey(32), "cryptography"),
            (rkey(32), "cryptography"),
            (bytes(3) + rkey(29), "cryptography"),  # leading zero bytes must survive
            (rkey(16), "cryptography"),
            (rkey(16), "cryptography"),
            (rkey(32), "openssl"),
            (rkey(16), "openssl"),
        ]
        for clear, by in clears:
            kid = "nb:kid:UUID:" + str(uuid.UUID(int=rng.getrandbits(128), version=4))
            ident = (key_file, cert_file, b64(clear), kid, by)
            wrapped = None
            if ident in previous:
                w = base64.b64decode(previous[ident])
                try:
                    if priv.decrypt(w, OAEP) == clear:
                        wrapped = w
                except ValueError:
                    pass
            if wrapped is None:
                wrapped = pub.encrypt(clear, OAEP) if by == "cryptography" else openssl_oaep_encrypt(cert_file, clear)
            assert len(wrapped) == priv.key_size // 8
            assert priv.decrypt(wrapped, OAEP) == clear
            assert openssl_oaep_decrypt(key_file, wrapped) == clear
            vectors.append({
                "private_key_file": key_file,
                "cert_file": cert_file,
                "protection_key_id": thumbs[cert_file],
                "key_type": 1 if len(clear) == 32 else 0,
                "key": b64(clear),
                "wrapped": b64(wrapped),
                "wrapped_by": by,
                "key_id": kid,
                "checksum": checksum(clear, kid),
            })
    write_json("oaep.json", {
        "description": (
            "RSA-OAEP content-key unwrap vectors. Generated by testdata/gen_vectors.py with %s, independent of the "
            "Go code. Scheme: RSA-OAEP, hash SHA-1, MGF1-SHA-1, empty label, over the raw content-key bytes; "
            "wrapped is standard padded base64. wrapped_by says who wrapped it: Python cryptography "
            "(public_key.encrypt with OAEP(MGF1(SHA1), SHA1, None)) or `openssl pkeyutl -encrypt -certin -pkeyopt "
            "rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha1 -pkeyopt rsa_mgf1_md:sha1`. Every vector was unwrapped "
            "both by cryptography and by `openssl pkeyutl -decrypt` with the same options. OAEP is randomised: a "
            "rerun keeps the stored wrapped value when it still unwraps to key. key_type is the ContentKeyType "
            "(1 StorageEncryption for 32-byte keys, 0 CommonEncryption for 16-byte keys). checksum is computed as "
            "in checksum.json. Clear keys and key ids come from random.Random(1030)." % TOOLS),
        "vectors": vectors,
    })
    return vectors


def gen_entities(oaep_vectors):
    v2048 = [v for v in oaep_vectors if v["private_key_file"] == "rsa2048.pkcs8.key.pem"]
    v3072 = [v for v in oaep_vectors if v["private_key_file"] == "rsa3072.pkcs8.key.pem"]
    k32 = [v for v in v2048 if v["key_type"] == 1]
    k16 = [v for v in v2048 if v["key_type"] == 0]

    def entity(v, ckt=None, pkt=0, cs=None, kid=None, name="amscrypt test content key"):
        return {
            "Id": kid or v["key_id"],
            "ContentKeyType": v["key_type"] if ckt is None else ckt,
            "EncryptedContentKey": v["wrapped"],
            "ProtectionKeyId": v["protection_key_id"],
            "ProtectionKeyType": pkt,
            "Checksum": cs or v["checksum"],
            "Name": name,
        }

    def flip(c):
        ch = "B" if c[0] != "B" else "C"
        return ch + c[1:]

    out = []

    def add(name, ent, v, expect_error="", field="", why=""):
        e = {"name": name, "entity": ent, "private_key_file": v["private_key_file"],
             "valid": expect_error == "", "expect_error": expect_error}
        if expect_error:
            e["field"] = field
            e["why"] = why
        else:
            e["key"] = v["key"]
        out.append(e)

    add("storage-key-json-numbers", entity(k32[0]), k32[0])
    ent = entity(k32[1], ckt="1", pkt="0")
    add("storage-key-string-numbers", ent, k32[1])
    add("storage-key-leading-zero-bytes", entity(k32[2]), k32[2])
    add("storage-key-uppercase-id", entity(k32[0], kid="NB:KID:UUID:" + k32[0]["key_id"][12:].upper()), k32[0])
    ent = {"odata.metadata": "https://media.windows.net/api/$metadata#ContentKeys/@Element"}
    ent.update(entity(k32[0]))
    ent.update({"Created": "2024-01-02T03:04:05.678", "LastModified": "2024-01-02T03:04:05.678",
                "AuthorizationPolicyId": None})
    add("storage-key-with-service-fields", ent, k32[0])
    add("common-encryption-16-byte-key", entity(k16[0]), k16[0])
    add("common-encryption-16-byte-key-string-numbers", entity(k16[1], ckt="0", pkt="0"), k16[1])
    v3 = [v for v in v3072 if v["key_type"] == 1][0]
    add("storage-key-rsa3072", entity(v3), v3)

    add("protection-key-type-1", entity(k32[0], pkt=1), k32[0], "error", "ProtectionKeyType",
        "ProtectionKeyType must be 0 (X509CertificateThumbprint); 1 is a documentation error")
    add("protection-key-type-1-string", entity(k32[0], pkt="1"), k32[0], "error", "ProtectionKeyType",
        "ProtectionKeyType must be 0, here \"1\" as a string")
    bad = flip(k32[0]["checksum"])
    assert bad != k32[0]["checksum"] and base64.b64decode(bad) != base64.b64decode(k32[0]["checksum"])
    add("checksum-one-char-flipped", entity(k32[0], cs=bad), k32[0], "error", "Checksum",
        "checksum has its first character changed")
    clear0 = base64.b64decode(k32[0]["key"])
    u0 = parse_key_id(k32[0]["key_id"])
    add("checksum-java-style", entity(k32[0], cs=java_checksum(clear0, u0)), k32[0], "java", "Checksum",
        "Java SDK checksum: AES-ECB over the UTF-8 GUID text instead of the .NET GUID bytes")
    add("checksum-php-style", entity(k32[0], cs=php_checksum(clear0, u0)), k32[0], "php", "Checksum",
        "PHP SDK checksum: AES-ECB over the UTF-8 'nb:kid:UUID:...' text")
    add("storage-type-with-16-byte-key", entity(k16[0], ckt=1), k16[0], "error", "ContentKeyType",
        "ContentKeyType 1 (StorageEncryption) needs a 32-byte key; the wrapped key is 16 bytes "
        "(checksum is the correct AES-128 one)")
    add("common-type-with-32-byte-key", entity(k32[1], ckt=0), k32[1], "error", "ContentKeyType",
        "ContentKeyType 0 (CommonEncryption) needs a 16-byte key; the wrapped key is 32 bytes")
    ent = entity(v3)
    ent["ProtectionKeyId"] = k32[0]["protection_key_id"]
    e = {"name": "wrapped-to-other-key", "entity": ent, "private_key_file": "rsa2048.pkcs8.key.pem",
         "valid": False, "expect_error": "error", "field": "EncryptedContentKey",
         "why": "key was wrapped to rsa3072 but the entity claims the rsa2048 thumbprint; unwrapping with "
                "rsa2048.pkcs8.key.pem fails"}
    out.append(e)
    add("bad-key-id", entity(k32[0], kid="nb:kid:UUID:not-a-guid"), k32[0], "error", "Id",
        "Id is not nb:kid:UUID:<guid>")

    # Self-check every entity against an independent Python validator.
    privs = {}
    for e in out:
        got = python_validate_entity(e["entity"], e["private_key_file"], privs)
        if e["valid"]:
            assert got == ("", base64.b64decode(e["key"])), (e["name"], got)
        else:
            assert got[0] == (e["expect_error"] if e["expect_error"] in ("java", "php") else "error"), (e["name"], got)

    write_json("contentkey_entities.json", {
        "description": (
            "ContentKey entity JSON documents (POST /ContentKeys bodies and service responses). Generated by "
            "testdata/gen_vectors.py with %s from the vectors in oaep.json, independent of the Go code. Each entry: "
            "entity is the JSON object; valid entries carry the expected clear key (base64) and the private key "
            "file that unwraps EncryptedContentKey; ContentKeyType/ProtectionKeyType appear both as JSON numbers "
            "and as strings. Invalid entries have valid=false, expect_error ('error', or 'java'/'php' for the "
            "legacy SDK checksum forms, which a verifier may recognise but must not accept), field (the entity "
            "field at fault) and why. Every entry was re-checked by an independent Python validator in the "
            "script." % TOOLS),
        "vectors": out,
    })


def python_validate_entity(ent, key_file, cache):
    if key_file not in cache:
        cache[key_file] = serialization.load_pem_private_key(read(key_file), None)
    priv = cache[key_file]
    try:
        u = parse_key_id(ent["Id"])
    except AssertionError:
        return ("error", "Id")
    if int(ent["ProtectionKeyType"]) != 0:
        return ("error", "ProtectionKeyType")
    try:
        clear = priv.decrypt(base64.b64decode(ent["EncryptedContentKey"]), OAEP)
    except ValueError:
        return ("error", "EncryptedContentKey")
    want_len = {1: 32, 0: 16}[int(ent["ContentKeyType"])]
    if len(clear) != want_len:
        return ("error", "ContentKeyType")
    if ent["Checksum"] != checksum(clear, ent["Id"]):
        if ent["Checksum"] == java_checksum(clear, u):
            return ("java", "Checksum")
        if ent["Checksum"] == php_checksum(clear, u):
            return ("php", "Checksum")
        return ("error", "Checksum")
    return ("", clear)


# --------------------------------------------------------------------------------------
# PFX
# --------------------------------------------------------------------------------------

def pfx_info(name, password, legacy):
    args = ["pkcs12", "-info", "-noout", "-in", path(name), "-passin", "pass:" + password]
    if legacy:
        args.append("-legacy")
    p = openssl(args)
    lines = [l.strip() for l in (p.stdout + p.stderr).decode().splitlines() if l.strip()]
    return [l for l in lines if re.match(r"(MAC|PKCS7 Encrypted data|Shrouded Keybag|Certificate bag|PKCS7 Data)", l)]


def pfx_ok(name, password, k2048, cert_der):
    try:
        with warnings.catch_warnings():
            # The negative-serial certificate loads with a deprecation warning.
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            key, cert, _ = pkcs12.load_key_and_certificates(read(name), password.encode())
    except (ValueError, FileNotFoundError):
        return False
    if cert is None or cert.public_bytes(serialization.Encoding.DER) != cert_der:
        return False
    return key.private_numbers() == k2048.private_numbers()


def gen_pfx(m, thumbs):
    k2048 = m["k2048"]
    key_pem = path("rsa2048.pkcs8.key.pem")
    certs = {"rsa2048": "rsa2048.crt.pem", "negserial": "negserial-rsa2048.crt.pem"}
    specs = [
        # file, certificate, password, flavour, made_by, openssl export args (None = Python), needs -legacy to read
        ("rsa2048.legacy-rc2-3des.pfx", "rsa2048", PFX_PASSWORD, "legacy-rc2-3des", "openssl pkcs12 -export -legacy",
         ["-legacy"], True),
        ("rsa2048.legacy-3des.pfx", "rsa2048", PFX_PASSWORD, "legacy-3des",
         "openssl pkcs12 -export -certpbe PBE-SHA1-3DES -keypbe PBE-SHA1-3DES -macalg sha1",
         ["-certpbe", "PBE-SHA1-3DES", "-keypbe", "PBE-SHA1-3DES", "-macalg", "sha1"], False),
        ("rsa2048.legacy-3des.pyca.pfx", "rsa2048", PFX_PASSWORD, "legacy-3des",
         "Python cryptography serialize_key_and_certificates, PBESv1SHA1And3KeyTripleDESCBC, hmac SHA1",
         None, False),
        ("rsa2048.modern.pfx", "rsa2048", PFX_PASSWORD, "modern-aes256-pbkdf2",
         "openssl pkcs12 -export (OpenSSL 3 defaults)", [], False),
        ("rsa2048.empty-password.legacy.pfx", "rsa2048", "", "empty-password",
         "openssl pkcs12 -export -legacy -passout pass: (Windows-style legacy algorithms, empty password)",
         ["-legacy"], True),
        ("rsa2048.empty-password.modern.pfx", "rsa2048", "", "empty-password",
         "openssl pkcs12 -export -passout pass: (OpenSSL 3 defaults, empty password)", [], False),
        # A certificate with a negative serial number, like the service's own, which crypto/x509 refuses.
        ("negserial-rsa2048.legacy.pfx", "negserial", PFX_PASSWORD, "negative-serial",
         "openssl pkcs12 -export -legacy, certificate negserial-rsa2048.crt.pem", ["-legacy"], True),
        ("negserial-rsa2048.modern.pfx", "negserial", PFX_PASSWORD, "negative-serial",
         "openssl pkcs12 -export (OpenSSL 3 defaults), certificate negserial-rsa2048.crt.pem", [], False),
    ]
    vectors = []
    for name, cert, pw, flavour, made_by, args, legacy in specs:
        cert_file, cert_der = certs[cert], m["der"][cert]
        if not (os.path.exists(path(name)) and pfx_ok(name, pw, k2048, cert_der)):
            if args is None:
                enc = (serialization.PrivateFormat.PKCS12.encryption_builder()
                       .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
                       .hmac_hash(hashes.SHA1()).build(pw.encode()))
                data = pkcs12.serialize_key_and_certificates(b"amscrypt test", k2048,
                                                             x509.load_der_x509_certificate(cert_der), None, enc)
                write_if_changed(name, data)
            else:
                openssl(["pkcs12", "-export"] + args + ["-inkey", key_pem, "-in", path(cert_file),
                                                        "-name", "amscrypt test",
                                                        "-passout", "pass:" + pw, "-out", path(name)])
            assert pfx_ok(name, pw, k2048, cert_der), name
        algs = pfx_info(name, pw, legacy)
        # The certificate openssl extracts has the expected thumbprint.
        extra = ["-legacy"] if legacy else []
        out = openssl(["pkcs12", "-in", path(name), "-passin", "pass:" + pw, "-nokeys", "-clcerts"] + extra).stdout
        fp = openssl(["x509", "-noout", "-fingerprint", "-sha1"], out).stdout.decode().strip()
        assert fp.split("=", 1)[1].replace(":", "").upper() == thumbs[cert_file], name
        if cert == "negserial":
            assert openssl(["x509", "-noout", "-serial"], out).stdout.decode().startswith("serial=-"), name
        # Wrong password fails in both openssl and Python.
        assert openssl(["pkcs12", "-info", "-noout", "-in", path(name), "-passin", "pass:" + PFX_WRONG_PASSWORD]
                       + extra, check=False).returncode != 0
        assert not pfx_ok(name, PFX_WRONG_PASSWORD, k2048, cert_der)
        if legacy:
            # Without the legacy provider OpenSSL 3 cannot read the RC2 bag.
            assert openssl(["pkcs12", "-info", "-noout", "-in", path(name), "-passin", "pass:" + pw],
                           check=False).returncode != 0
        vectors.append({
            "file": name,
            "password": pw,
            "flavour": flavour,
            "made_by": made_by,
            "algorithms": algs,
            "openssl_needs_legacy_provider": legacy,
            "thumbprint": thumbs[cert_file],
            "cert_file": cert_file,
            "private_key_file": "rsa2048.pkcs8.key.pem",
            "wrong_password": PFX_WRONG_PASSWORD,
        })
    write_json("pfx.json", {
        "description": (
            "PKCS#12 (PFX) files holding rsa2048.pkcs8.key.pem and the certificate in cert_file (rsa2048.crt.pem, "
            "or negserial-rsa2048.crt.pem, whose serial number is negative). Generated by "
            "testdata/gen_vectors.py with %s, independent of the Go code. made_by says how each was exported; "
            "algorithms are the lines printed by `openssl pkcs12 -info -noout` (with -legacy where "
            "openssl_needs_legacy_provider). Each file was checked to load with its password in Python cryptography "
            "(key and certificate equal to the PEM files) and in openssl (certificate SHA-1 fingerprint = "
            "thumbprint), and to fail with wrong_password in both. PKCS#12 salts are random, so a rerun keeps "
            "existing files that still load correctly." % TOOLS),
        "vectors": vectors,
    })


# --------------------------------------------------------------------------------------
# AES-256-CTR file encryption
# --------------------------------------------------------------------------------------

_PATTERN = bytes((i * 7 + 3) % 256 for i in range(256))


def plaintext(n):
    reps = n // 256 + 1
    return (_PATTERN * reps)[:n]


def ctr_at(key, iv, offset, data):
    """Encrypt/decrypt data that sits at byte offset `offset` of the file, starting the counter there."""
    counter = iv.to_bytes(8, "big") + (offset // 16).to_bytes(8, "big")
    skip = offset % 16
    e = Cipher(algorithms.AES(key), modes.CTR(counter)).encryptor()
    return (e.update(bytes(skip) + data) + e.finalize())[skip:]


def openssl_ctr(key, iv, data):
    counter = iv.to_bytes(8, "big") + bytes(8)
    return openssl(["enc", "-aes-256-ctr", "-K", key.hex(), "-iv", counter.hex(), "-nosalt"], data).stdout


def gen_ctr():
    for n in (0, 1, 255, 256, 257, 1000):
        assert plaintext(n) == bytes((i * 7 + 3) % 256 for i in range(n))
    assert plaintext(3 * 1048576 + 5)[-300:] == bytes((i * 7 + 3) % 256 for i in range(3 * 1048576 + 5 - 300, 3 * 1048576 + 5))
    rng = random.Random(0xC7)
    key_nist = bytes.fromhex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
    key_rand = bytes(rng.getrandbits(8) for _ in range(32))
    keys = [key_nist, key_rand]
    ivs = [0, 1, 1 << 63, (1 << 64) - 1, 397304628502661816]
    lengths = [0, 1, 15, 16, 17, 31, 33, 4095, 4096, 65537, 3 * 1048576 + 5]
    vectors = []
    big_pt = plaintext(max(lengths))
    openssl_checked = 0
    for ii, iv in enumerate(ivs):
        for li, n in enumerate(lengths):
            key = keys[(ii + li) % 2]
            pt = big_pt[:n]
            ct = ctr_at(key, iv, 0, pt)
            assert len(ct) == n
            if n > 0:
                assert openssl_ctr(key, iv, pt) == ct, (iv, n)
                openssl_checked += 1
            v = {"key_hex": key.hex(), "iv": str(iv), "length": n}
            if n <= 4096:
                v["ciphertext_hex"] = ct.hex()
            else:
                v["ciphertext_sha256"] = hashlib.sha256(ct).hexdigest()
                v["ciphertext_head_hex"] = ct[:64].hex()
                v["ciphertext_tail_hex"] = ct[-64:].hex()
                v["plaintext_sha256"] = hashlib.sha256(pt).hexdigest()
            vectors.append(v)

    ranges = []
    for iv in ((1 << 64) - 1, 397304628502661816):
        key = key_nist
        n = 4096
        pt = plaintext(n)
        whole = ctr_at(key, iv, 0, pt)
        rs = []
        for o in (0, 1, 15, 16, 17, 1000, 2047, 4080, 4095):
            for ln in (1, 15, 16, 17, 100):
                ln = min(ln, n - o)
                part = ctr_at(key, iv, o, pt[o:o + ln])
                assert part == whole[o:o + ln], (iv, o, ln)
                rs.append({"offset": o, "length": ln, "ciphertext_hex": part.hex()})
        ranges.append({"key_hex": key.hex(), "iv": str(iv), "length": n, "ranges": rs})

    write_json("ctr.json", {
        "description": (
            "AES-256-CTR file-encryption vectors (StorageEncryption 1.0). Generated by testdata/gen_vectors.py with "
            "%s, independent of the Go code. The counter block for the AES block at byte offset o is "
            "BE64(iv) || BE64(o/16); iv is the decimal string. The plaintext of a vector with length n is "
            "bytes((i*7+3) %% 256 for i in range(n)) (not stored). Ciphertexts were computed with "
            "Cipher(algorithms.AES(key), modes.CTR(BE64(iv)||BE64(0))) and every non-empty vector (%d of them, "
            "including the 3 MiB+5 ones) was cross-checked against `openssl enc -aes-256-ctr -K <key> -iv "
            "<BE64(iv)||00*8> -nosalt` with the plaintext piped in. Vectors up to 4096 bytes store ciphertext_hex; "
            "longer ones store ciphertext_sha256, ciphertext_head_hex/ciphertext_tail_hex (first/last 64 bytes) and "
            "plaintext_sha256. 'ranges' holds, for a 4096-byte file, ciphertext of byte ranges [offset, offset+length) "
            "(length clipped at the end of the file), each computed on its own by starting CTR at counter "
            "BE64(iv)||BE64(offset//16) and discarding offset%%16 keystream bytes, then asserted equal to the slice "
            "of the whole-file ciphertext. The random key comes from random.Random(0xC7); the other key is the "
            "NIST SP 800-38A AES-256 key." % (TOOLS, openssl_checked)),
        "vectors": vectors,
        "ranges": ranges,
    })


# --------------------------------------------------------------------------------------
# IV parsing
# --------------------------------------------------------------------------------------

def python_parse_iv(text):
    if not re.fullmatch(r"[0-9]+", text, flags=re.ASCII) or "\n" in text:
        return None
    v = int(text, 10)
    return v if v < (1 << 64) else None


def gen_iv():
    valid = [
        ("0", None), ("1", None), ("12", None),
        ("397304628502661816", "the value in the upload documentation"),
        ("9223372036854775807", "2^63-1"), ("9223372036854775808", "2^63 (does not fit int64)"),
        ("18446744073709551615", "2^64-1, the largest IV"),
        ("00012", "leading zeros are accepted (only ASCII digits, value < 2^64): value 12"),
        ("00", "leading zeros: value 0"),
        ("0000000000000000000018446744073709551615", "many leading zeros, value 2^64-1: still < 2^64"),
    ]
    invalid = [
        ("", "empty"), (" 1", "leading space"), ("1 ", "trailing space"), ("+1", "sign"), ("-1", "sign"),
        ("-0", "sign"),
        ("18446744073709551616", "2^64, out of range"), ("99999999999999999999999", "out of range"),
        ("0x10", "hex prefix"), ("1e3", "exponent"), ("1.0", "decimal point"),
        ("397304628502661816</d:InitializationVector", "trailing XML from the documentation"),
        ("\uff11\uff12", "fullwidth digits (not ASCII)"), ("\u0661\u0662", "Arabic-Indic digits (not ASCII)"),
        ("1_000", "underscore digit separator"), ("1,000", "comma separator"), ("\t5", "leading tab"),
        ("12\n", "trailing newline"), ("1 2", "inner space"), ("12\x00", "trailing NUL"),
    ]
    vv, iv_ = [], []
    for t, note in valid:
        val = python_parse_iv(t)
        assert val is not None, t
        e = {"text": t, "text_hex": t.encode().hex(), "value": str(val)}
        if note:
            e["note"] = note
        vv.append(e)
    for t, why in invalid:
        assert python_parse_iv(t) is None, t
        iv_.append({"text": t, "text_hex": t.encode().hex(), "why": why})
    write_json("iv.json", {
        "description": (
            "InitializationVector wire-form parsing vectors. Generated by testdata/gen_vectors.py with %s, "
            "independent of the Go code. Rule (SPEC.md): only ASCII digits 0-9, at least one, no sign, no "
            "whitespace, value < 2^64. Decision: leading zeros are accepted (they are ASCII digits and the value "
            "is in range), so '00012' is 12. value is the decimal string of the uint64; text_hex is the UTF-8 of "
            "text, to remove any doubt about invisible characters. 'vectors' is valid+invalid together, each with a 'valid' bool. Each case was checked against a Python parser "
            "implementing the rule." % TOOLS),
        "vectors": [dict(e, valid=True) for e in vv] + [dict(e, valid=False) for e in iv_],
        "valid": vv,
        "invalid": iv_,
    })


# --------------------------------------------------------------------------------------
# README
# --------------------------------------------------------------------------------------

def gen_readme():
    text = """# testdata: independent known-answer vectors

Everything in this directory is produced by `gen_vectors.py` with the Python standard library,
Python `cryptography` and the `openssl` command line tool, never with the Go code it tests.
Regenerate from the repository root with `python3 testdata/gen_vectors.py` (takes a few seconds;
it is idempotent: files are only rewritten when their content changes). Last generated with
%s.

**gen_vectors.py** - the generator. All inputs are fixed constants or come from
`random.Random(<fixed seed>)`. RSA/EC keys are generated only when their file is missing;
randomised outputs (the ECDSA-signed EC certificate, RSA-OAEP ciphertexts, PKCS#12 salts) are
kept from the previous run whenever they still verify, so a rerun leaves the tree unchanged.
Before anything else it checks `cryptography` against NIST SP 800-38A AES-ECB and AES-CTR vectors.

**checksum.json** - content-key checksum vectors (SPEC.md "Checksum"): 9 with 32-byte keys
(AES-256) and 9 with 16-byte keys (AES-128), including the `00112233-4455-6677-8899-aabbccddeeff`
byte-order example, an all-zero key, an all-0xff GUID and random keys/GUIDs. The .NET block order
comes from `uuid.UUID(...).bytes_le`, asserted equal to a manual swap; each AES block is
cross-checked with `openssl enc -aes-*-ecb -nopad`. Every `id_spellings` entry must give
`checksum`; `java_checksum` and `php_checksum` are the legacy wrong forms, for diagnostics only.

**Keys** (`rsa2048.pkcs1.key.pem`, `rsa2048.pkcs8.key.pem`, `rsa3072.pkcs8.key.pem`,
`rsa1024.pkcs8.key.pem`, `ec-p256.pkcs8.key.pem`) - unencrypted test keys generated once by
`cryptography` and checked in. Test material only.

**Certificates** (`rsa2048.crt.{pem,der,b64,json}`, `rsa3072.crt.pem`, `rsa1024.crt.pem`,
`ec-p256.crt.pem`, `expired-rsa2048.crt.pem`, `negserial-rsa2048.crt.{pem,der}`) - self-signed
certificates built with `cryptography`'s CertificateBuilder (RSA ones are re-derived
deterministically from the keys: fixed serials, fixed validity, PKCS#1 v1.5 signatures). `.b64`
is bare base64 DER, `.json` is the GetProtectionKey OData body. The expired and negative-serial
certificates use the rsa2048 key. The negative-serial certificate is a normal TBSCertificate
whose serial INTEGER was replaced by DER bytes `80123456789abcdef0123456789abcde` with a
hand-written DER encoder, then re-signed; `openssl x509 -serial` prints `serial=-7FEDCBA9876543210FEDCBA987654322`
and `openssl verify` accepts its self-signature (Go's `x509.ParseCertificate` rejects it, as it
does the real protection certificate).
rsa1024 must be refused as weak and ec-p256 as non-RSA for wrapping.

**ams-protection-cert.{b64,der,pem,json}** - the documented Media Services protection
certificate (negative serial, md5WithRSAEncryption), copied from `/work/shared/testdata/`
(`.b64` is byte-for-byte the shared file) and re-encoded. SHA-1 thumbprint
`7D9BB04D9D0A4A24800CADBFEF232689E048F69C` is asserted.

**invalid-*** - inputs that must be refused as not a certificate: an empty file, random bytes, a
GetProtectionKey body whose value is not a certificate, a DER truncated to 100 bytes (raw and
base64), and a CERTIFICATE PEM block around random bytes. The script asserts that neither
`cryptography` nor `openssl x509` reads any of them.

**certs.json** - one entry per certificate file (every encoding): format, thumbprint (hashlib
SHA-1, cross-checked with `openssl x509 -fingerprint -sha1`), key type, RSA size, whether it may
be used for wrapping, negative serial, expiry (against the fixed instant 2026-01-01T00:00:00Z),
plus entries with format `invalid` and `expect_error: true` (including the private-key-only PEM
files).

**oaep.json** - RSA-OAEP (SHA-1, MGF1-SHA-1, empty label) wrapped content keys to unwrap, for the
rsa2048 and rsa3072 keys, wrapped by `cryptography` or by `openssl pkeyutl -encrypt`, and every
one unwrapped by both `cryptography` and `openssl pkeyutl -decrypt`.

**contentkey_entities.json** - ContentKey entity documents built from the oaep.json vectors:
valid ones (numbers as JSON numbers and as strings, an uppercase id, extra service fields, a
16-byte CommonEncryption key, an rsa3072 one) with the expected clear key, and invalid ones with
`expect_error` (`error`, `java`, `php`), the offending `field` and `why`.

**rsa2048.*.pfx / pfx.json** - PKCS#12 files for the rsa2048 key and certificate: legacy
RC2-40 + 3DES with SHA-1 MAC (`openssl pkcs12 -export -legacy`, as Windows makes them), legacy
3DES everywhere (openssl and `cryptography`), modern AES-256-CBC/PBKDF2/HMAC-SHA256 (OpenSSL 3
default), and two with the empty password (legacy and modern).
**negserial-rsa2048.{legacy,modern}.pfx** hold the same key with the negative-serial certificate,
like a PFX exported next to the service's own certificate. pfx.json records password, the
algorithm lines from `openssl pkcs12 -info`, the contained certificate's thumbprint and a wrong
password that must fail.

**ctr.json** - AES-256-CTR file-encryption vectors with counter block BE64(iv) || BE64(offset/16):
lengths 0 to 3 MiB+5 across IVs 0, 1, 2^63, 2^64-1 and 397304628502661816. The plaintext is
`bytes((i*7+3) %% 256 for i in range(n))` and is not stored; long ciphertexts are stored as SHA-256
plus head/tail. Every non-empty vector is cross-checked with `openssl enc -aes-256-ctr`. `ranges`
gives byte ranges of a 4096-byte file computed independently from their own starting counter.

**iv.json** - InitializationVector parsing: `valid` (text and uint64 value as a decimal string;
leading zeros accepted) and `invalid` (text and why), each with `text_hex`.
""" % TOOLS
    write_if_changed("README.md", text)


def main():
    self_test()
    gen_checksum()
    m = gen_keys_and_certs()
    thumbs = gen_certs_json(m)
    oaep_vectors = gen_oaep(m, thumbs)
    gen_entities(oaep_vectors)
    gen_pfx(m, thumbs)
    gen_ctr()
    gen_iv()
    gen_readme()


if __name__ == "__main__":
    main()
