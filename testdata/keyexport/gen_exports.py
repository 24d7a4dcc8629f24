#!/usr/bin/env python3
"""Key-export fixtures in every shape AMS and the migration tools wrote, made independently of the Go code.

Run from the repository root:

    python3 testdata/keyexport/gen_exports.py

Uses only the Python standard library (xml.etree for nothing but a well-formedness check; the
documents are written as text, the way the service's serialisers laid them out) and, for the
protection certificate, the files gen_vectors.py made. Everything describes the on-demand asset
of testdata/restore (its key, key id, files and IVs come from testdata/restore/expected.json,
and its wrapped ContentKey from testdata/restore/vod/keys/contentkey.json, both made by
gen_restore.py with Python's cryptography), so every valid export here decrypts the blobs in
testdata/restore/vod/enc. Files are only rewritten when their content changes.

expected.json lists every file: "valid" ones with what they hold ("key", "entries", "sizes"),
invalid ones with the sentinel their error must match ("is") and substrings of its message.
"""

import base64
import json
import os
import uuid
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
TESTDATA = os.path.dirname(HERE)
RESTORE = os.path.join(TESTDATA, "restore")

NS_ATOM = "http://www.w3.org/2005/Atom"
NS_D = "http://schemas.microsoft.com/ado/2007/08/dataservices"
NS_M = NS_D + "/metadata"
BASE = "https://media.windows.net/api/"
MODELS = "Microsoft.Cloud.Media.Vod.Rest.Data.Models."
VAULT = "https://example-vault.vault.azure.net/secrets/"

EXPECTED = []


def write(name, data, **expect):
    if isinstance(data, str):
        data = data.encode("utf-8")
    p = os.path.join(HERE, name)
    if not (os.path.exists(p) and open(p, "rb").read() == data):
        with open(p, "wb") as f:
            f.write(data)
    EXPECTED.append(dict(file=name, **expect))


def compact(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n"


def pretty(obj):
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# ------------------------------------------------------------------------------------------
# Atom XML, as the v2 REST API wrote it for the .NET SDK before JSON light
# ------------------------------------------------------------------------------------------

def prop(name, value, typ=None):
    t = ' m:type="%s"' % typ if typ else ""
    if value is None:
        return '<d:%s%s m:null="true" />' % (name, t)
    return "<d:%s%s>%s</d:%s>" % (name, t, esc(value), name)


def entry_body(kind, entity_set, key, props, nl):
    return nl.join([
        "<id>%s%s('%s')</id>" % (BASE, entity_set, key.replace(":", "%3A")),
        '<category term="%s%s" scheme="http://schemas.microsoft.com/ado/2007/08/dataservices/scheme" />' % (MODELS, kind),
        '<link rel="edit" title="%s" href="%s(\'%s\')" />' % (kind, entity_set, key.replace(":", "%3A")),
        "<title />",
        "<updated>2016-06-01T10:00:00Z</updated>",
        "<author><name /></author>",
        '<content type="application/xml"><m:properties>' + nl + nl.join(props) + nl + "</m:properties></content>",
    ])


def ns_attrs():
    return 'xml:base="%s" xmlns="%s" xmlns:d="%s" xmlns:m="%s"' % (BASE, NS_ATOM, NS_D, NS_M)


def atom_entry(kind, entity_set, key, props, nl="\n"):
    return ('<?xml version="1.0" encoding="utf-8"?>' + nl + "<entry %s>" % ns_attrs() + nl +
            entry_body(kind, entity_set, key, props, nl) + nl + "</entry>" + nl)


def atom_feed(title, entries, nl="\n"):
    body = [
        "<id>%s%s</id>" % (BASE, title),
        '<title type="text">%s</title>' % title,
        "<updated>2016-06-01T10:00:00Z</updated>",
        '<link rel="self" title="%s" href="%s" />' % (title, title),
    ]
    for kind, entity_set, key, props in entries:
        body.append("<entry>" + nl + entry_body(kind, entity_set, key, props, nl) + nl + "</entry>")
    return ('<?xml version="1.0" encoding="utf-8"?>' + nl + "<feed %s>" % ns_attrs() + nl +
            nl.join(body) + nl + "</feed>" + nl)


def assetfile_props(a, e, iv=None, types=None):
    types = types or {}
    return [
        prop("Id", e["file_id"]),
        prop("Name", e["name"]),
        prop("ContentFileSize", e["content_file_size"], types.get("ContentFileSize", "Edm.Int64")),
        prop("ParentAssetId", a["asset_id"]),
        prop("EncryptionVersion", "1.0"),
        prop("EncryptionScheme", "StorageEncryption"),
        prop("IsEncrypted", "true", types.get("IsEncrypted", "Edm.Boolean")),
        prop("EncryptionKeyId", a["key_id"]),
        prop("InitializationVector", iv if iv is not None else e["iv"]),
        prop("IsPrimary", "false", "Edm.Boolean"),
        prop("LastModified", "2016-06-01T10:00:00.123", "Edm.DateTime"),
        prop("Created", "2016-06-01T09:59:00.123", "Edm.DateTime"),
        prop("MimeType", None),
        prop("ContentChecksum", None),
    ]


def file_entries(a):
    # Live-archive tracks have no ContentFileSize; the on-demand asset's files all do.
    return [e for e in a["entries"] if e.get("content_file_size") is not None]


def check_xml(data):
    ET.fromstring(data.lstrip("\ufeff").encode("utf-8"))  # well-formed, or the generator stops
    return data


def write_atom(a, ck):
    files = file_entries(a)
    feed = [("AssetFile", "Files", e["file_id"], assetfile_props(a, e)) for e in files]
    entries = {e["name"]: {"iv": e["iv"], "size": e["content_file_size"]} for e in files}
    write("atom-files-feed.xml", check_xml(atom_feed("Files", feed)), valid=True, entries=entries, key_id=a["key_id"])
    # A capture whose lines end in bare CRs (an old Mac tool, a proxy log).
    write("atom-files-feed-cr.xml", check_xml(atom_feed("Files", feed, nl="\r")), valid=True, entries=entries, key_id=a["key_id"])
    write("atom-files-feed-bom.xml", "\ufeff" + check_xml(atom_feed("Files", feed)), valid=True, entries=entries, key_id=a["key_id"])
    e = files[0]
    write("atom-assetfile-entry.xml", check_xml(atom_entry("AssetFile", "Files", e["file_id"], assetfile_props(a, e))), valid=True,
          entries={e["name"]: {"iv": e["iv"], "size": e["content_file_size"]}}, key_id=a["key_id"])

    ck_props = [
        prop("Id", ck["Id"]),
        prop("Created", "2016-06-01T09:58:00.123", "Edm.DateTime"),
        prop("LastModified", "2016-06-01T09:58:00.123", "Edm.DateTime"),
        prop("ContentKeyType", str(ck["ContentKeyType"]), "Edm.Int32"),
        prop("EncryptedContentKey", ck["EncryptedContentKey"]),
        prop("Name", ck["Name"]),
        prop("ProtectionKeyId", ck["ProtectionKeyId"]),
        prop("ProtectionKeyType", str(ck["ProtectionKeyType"]), "Edm.Int32"),
        prop("Checksum", ck["Checksum"]),
        prop("AuthorizationPolicyId", None),
    ]
    write("atom-contentkey-entry.xml", check_xml(atom_entry("ContentKey", "ContentKeys", ck["Id"], ck_props)), valid=True,
          key=a["key_hex"], key_id=a["key_id"], private_key=True)
    write("atom-contentkeys-feed.xml", check_xml(atom_feed("ContentKeys", [("ContentKey", "ContentKeys", ck["Id"], ck_props)])),
          valid=True, key=a["key_hex"], key_id=a["key_id"], private_key=True)
    write("atom-rebind.xml", check_xml('<?xml version="1.0" encoding="utf-8"?>\n<RebindContentKey xmlns="%s">%s</RebindContentKey>\n'
                                       % (NS_D, a["key"])), valid=True, key=a["key_hex"])

    # Invalid ones.
    dup = assetfile_props(a, e)
    dup.insert(9, prop("InitializationVector", "1"))
    write("atom-repeated-property.xml", check_xml(atom_entry("AssetFile", "Files", e["file_id"], dup)), valid=False,
          **{"is": "invalid", "contains": ["InitializationVector", "appears twice", "line "]})
    write("atom-unknown-type.xml", check_xml(atom_entry("AssetFile", "Files", e["file_id"],
                                                        assetfile_props(a, e, types={"ContentFileSize": "Edm.Decimal"}))),
          valid=False, **{"is": "invalid", "contains": ["ContentFileSize", '"Edm.Decimal"', "Edm.Int64"]})
    write("atom-iv-markup.xml", check_xml(atom_entry("AssetFile", "Files", e["file_id"],
                                                     assetfile_props(a, e, iv=e["iv"] + "</d:InitializationVector"))),
          valid=False, **{"is": "iv", "contains": [e["name"], "offset %d" % len(e["iv"])]})
    write("atom-contentkey-no-private-key.xml", check_xml(atom_entry("ContentKey", "ContentKeys", ck["Id"], ck_props)), valid=False,
          **{"is": "need_private_key", "contains": [ck["Id"]]})
    locator = [prop("Id", "nb:lid:UUID:" + str(uuid.UUID(int=7))), prop("Name", "upload"),
               prop("ExpirationDateTime", "2016-06-02T10:00:00", "Edm.DateTime"), prop("Type", "1", "Edm.Int32"),
               prop("Path", "https://example.blob.core.windows.net/asset-1?sv=2012-02-12&sr=c&si=x&sig=y&se=2016-06-02T10%3A00%3A00Z"),
               prop("BaseUri", "https://example.blob.core.windows.net/asset-1"), prop("ContentAccessComponent", None),
               prop("AccessPolicyId", "nb:pid:UUID:" + str(uuid.UUID(int=8))), prop("AssetId", a["asset_id"]),
               prop("StartTime", "2016-06-01T09:55:00", "Edm.DateTime")]
    write("atom-locator-entry.xml", check_xml(atom_entry("Locator", "Locators", "nb:lid:UUID:" + str(uuid.UUID(int=7)), locator)),
          valid=False, **{"is": "unknown", "contains": ["is an Atom Locator entity, not a key export"]})


# ------------------------------------------------------------------------------------------
# JSON shapes: BOMs, leading junk, the 2018 preview, answers that are not keys
# ------------------------------------------------------------------------------------------

def v3(a):
    return {"key": a["key"], "assetFileEncryptionMetadata": [
        {"initializationVector": e["iv"], "assetFileName": e["name"], "assetFileId": e["file_id"].split(":")[-1]}
        for e in a["entries"]]}


def write_json_shapes(a, cert_b64, thumbprint):
    entries = {e["name"]: {"iv": e["iv"]} for e in a["entries"]}
    write("v3-bom.json", "\ufeff" + pretty(v3(a)), valid=True, key=a["key_hex"], entries=entries)
    write("v3-utf16.json", pretty(v3(a)).encode("utf-16"), valid=False,
          **{"is": "invalid", "contains": ["UTF-16 byte-order mark at offset 0", "UTF-8"]})
    write("v3-http-capture.json", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n" + compact(v3(a)), valid=False,
          **{"is": "invalid", "contains": ['starts with "HTTP/1.1 200 OK" at offset 0', "not JSON or XML"]})
    write("v3-bom-junk.json", "\ufeff>>> " + compact(v3(a)), valid=False,
          **{"is": "invalid", "contains": ['starts with ">>> " at offset 3']})
    write("bare-key.txt", a["key"] + "\n", valid=False,
          **{"is": "invalid", "contains": ["a line holding 44 base64 or hex characters at offset 0"]})
    write("preview-2018.json", pretty({"storageEncryptionKey": a["key"]}), valid=True, key=a["key_hex"])
    write("preview-2018-null.json", pretty({"storageEncryptionKey": None}), valid=False,
          **{"is": "invalid", "contains": ["storageEncryptionKey is null", "no key"]})
    write("getprotectionkeyid.json", compact({"odata.metadata": BASE + "$metadata#Edm.String", "value": thumbprint}), valid=False,
          **{"is": "unknown", "contains": ['"getprotectionkeyid.json" is a GetProtectionKeyId answer (a certificate thumbprint), not a key export']})
    write("getprotectionkeyid-verbose.json", compact({"d": {"GetProtectionKeyId": thumbprint}}), valid=False,
          **{"is": "unknown", "contains": ["is a GetProtectionKeyId answer"]})
    write("getprotectionkey.json", compact({"odata.metadata": BASE + "$metadata#Edm.String", "value": cert_b64}), valid=False,
          **{"is": "unknown", "contains": ['"getprotectionkey.json" is a GetProtectionKey answer (a protection certificate), not a key export']})
    locator = {"odata.metadata": BASE + "$metadata#Locators/@Element", "Id": "nb:lid:UUID:" + str(uuid.UUID(int=7)),
               "ExpirationDateTime": "2016-06-02T10:00:00", "Type": 1, "Path": "https://example.blob.core.windows.net/asset-1?sv=x&sig=y",
               "BaseUri": "https://example.blob.core.windows.net/asset-1", "ContentAccessComponent": None,
               "AccessPolicyId": "nb:pid:UUID:" + str(uuid.UUID(int=8)), "AssetId": a["asset_id"],
               "StartTime": "2016-06-01T09:55:00", "Name": "upload"}
    write("locator.json", compact(locator), valid=False, **{"is": "unknown", "contains": ["is a Locator entity, not a key export"]})
    asset = {"odata.metadata": BASE + "$metadata#Assets/@Element", "Id": a["asset_id"], "State": 0, "Created": "2016-06-01T09:50:00",
             "LastModified": "2016-06-01T09:50:00", "AlternateId": None, "Name": "vod", "Options": 1, "FormatOption": 0,
             "Uri": "https://example.blob.core.windows.net/asset-1", "StorageAccountName": "example"}
    write("asset.json", compact(asset), valid=False, **{"is": "unknown", "contains": ["is an Asset entity, not a key export"]})
    write("assets-verbose.json", compact({"d": {"results": [dict(asset, __metadata={"type": MODELS + "Asset"})]}}), valid=False,
          **{"is": "unknown", "contains": ["is a listing of Asset entities, not a key export"]})
    write("v3-asset.json", pretty({"name": "vod", "id": "/subscriptions/0/resourceGroups/rg/providers/Microsoft.Media/mediaservices/ams/assets/vod",
                                   "type": "Microsoft.Media/mediaservices/assets",
                                   "properties": {"assetId": a["asset_id"].split(":")[-1], "container": "asset-1",
                                                  "storageEncryptionFormat": "MediaStorageClientEncryption"}}), valid=False,
          **{"is": "unknown", "contains": ['"Microsoft.Media/mediaservices/assets"', "not a key export"]})


# ------------------------------------------------------------------------------------------
# Key Vault secrets as MediaMigrate and azure-media-migration wrote them, as az prints them
# ------------------------------------------------------------------------------------------

def secret(name, version, value, tags, minute=0):
    s = {"attributes": {"created": "2024-04-11T12:%02d:00+00:00" % minute, "enabled": True, "expires": None, "notBefore": None,
                        "recoverableDays": 90, "recoveryLevel": "Recoverable+Purgeable", "updated": "2024-04-11T12:%02d:00+00:00" % minute},
         "contentType": None, "id": VAULT + name + "/" + version, "managed": None, "name": name, "tags": tags}
    if value is not None:
        s["kid"] = None
        s["value"] = value
    return s


def write_keyvault(a):
    name = "vod"  # MediaMigrate names the secret after the asset
    ents = a["entries"]
    versions = []
    for i in range(1, len(ents) + 1):
        # SetSecretAsync inside the loop over files: one version per file, each with one more tag.
        tags = {e["name"]: e["iv"] for e in ents[:i]}
        versions.append(secret(name, "%032x" % (0x1000 + i), None, tags, minute=i))
    versions.reverse()  # az lists the newest first
    all_entries = {e["name"]: {"iv": e["iv"]} for e in ents}
    write("keyvault-mediamigrate-list-versions.json", pretty(versions), valid=True, entries=all_entries)
    write("keyvault-mediamigrate-rest-versions.json", compact({"value": [{k: v for k, v in s.items() if k not in ("name", "contentType", "managed")}
                                                                          for s in versions], "nextLink": None}),
          valid=True, entries=all_entries)
    first = secret(name, "%032x" % 0x1001, a["key"], {ents[0]["name"]: ents[0]["iv"]}, minute=1)
    write("keyvault-mediamigrate-first-version.json", pretty(first), valid=True, key=a["key_hex"],
          entries={ents[0]["name"]: {"iv": ents[0]["iv"]}})
    with_values = [secret(name, "%032x" % 0x2002, a["key"], {ents[0]["name"]: ents[0]["iv"], ents[1]["name"]: ents[1]["iv"]}, 2),
                   secret(name, "%032x" % 0x2001, a["key"], {ents[0]["name"]: ents[0]["iv"]}, 1)]
    write("keyvault-versions-with-values.json", pretty(with_values), valid=True, key=a["key_hex"],
          entries={e["name"]: {"iv": e["iv"]} for e in ents[:2]})
    # azure-media-migration's keys command: named by the key id, the base64 key, no tags.
    kid = a["key_id"].split(":")[-1]
    write("keyvault-no-tags.json", pretty(secret(kid, "%032x" % 0x3001, a["key"], None)), valid=True, key=a["key_hex"])

    bad_iv = str((int(ents[0]["iv"]) + 1) % (1 << 64))
    conflict = [secret(name, "%032x" % 0x4002, None, {ents[0]["name"]: bad_iv}, 2),
                secret(name, "%032x" % 0x4001, None, {ents[0]["name"]: ents[0]["iv"]}, 1)]
    write("keyvault-versions-conflict.json", pretty(conflict), valid=False,
          **{"is": "conflict", "contains": ["version %032x" % 0x4002, "version %032x" % 0x4001, ents[0]["name"]]})
    two = [secret("vod", "%032x" % 0x5001, None, {ents[0]["name"]: ents[0]["iv"]}),
           secret("other-asset", "%032x" % 0x5002, None, {ents[1]["name"]: ents[1]["iv"]})]
    write("keyvault-two-secrets.json", pretty(two), valid=False,
          **{"is": "invalid", "contains": ['"vod" and "other-asset"', "versions of one secret"]})
    streaming = base64.b64encode(bytes(range(0x40, 0x50))).decode()
    write("keyvault-streaming-key.json", pretty(secret(str(uuid.UUID(int=0x51)), "%032x" % 0x6001, streaming, None)), valid=False,
          **{"is": "unknown", "contains": ["16-byte key", "not the asset's storage-encryption key"], "not_contains": [streaming]})
    hexkey = bytes(range(0x60, 0x70)).hex()
    write("keyvault-packaging-key.json", pretty(secret(uuid.UUID(int=0x52).hex, "%032x" % 0x7001, hexkey, None)), valid=False,
          **{"is": "unknown", "contains": ["32 hex digits", "packaging key"], "not_contains": [hexkey]})


def main():
    with open(os.path.join(RESTORE, "expected.json")) as f:
        a = json.load(f)["assets"]["vod"]
    with open(os.path.join(RESTORE, "vod", "keys", "contentkey.json")) as f:
        ck = json.load(f)
    with open(os.path.join(TESTDATA, "rsa2048.crt.b64")) as f:
        cert_b64 = f.read().strip()
    with open(os.path.join(TESTDATA, "certs.json")) as f:
        thumbprint = next(c["thumbprint"] for c in json.load(f)["vectors"] if c.get("file") == "rsa2048.crt.b64")
    write_atom(a, ck)
    write_json_shapes(a, cert_b64, thumbprint)
    write_keyvault(a)
    out = pretty({"asset": "vod", "exports": EXPECTED})
    p = os.path.join(HERE, "expected.json")
    if not (os.path.exists(p) and open(p).read() == out):
        with open(p, "w") as f:
            f.write(out)


if __name__ == "__main__":
    main()
