package keyexport

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/envelope"
	"github.com/amscrypt/amscrypt/internal/jsonstrict"
	"github.com/amscrypt/amscrypt/internal/parse"
)

// ManifestVersion is the version of the decryption manifest Manifest writes
// and the only one NewPlan reads.
const ManifestVersion = 1

// manifestFile is one entry of the decryption manifest.
type manifestFile struct {
	Name     *string `json:"name"`
	IV       *string `json:"iv"`
	Size     *string `json:"size,omitempty"`
	MimeType *string `json:"mimeType,omitempty"`
}

// manifest is the decryption manifest as NewPlan reads it; Manifest writes
// the key itself so that no string copy of it is left behind.
type manifest struct {
	Version json.RawMessage `json:"amscryptManifest"`
	Key     json.RawMessage `json:"key"`
	KeyID   *string         `json:"keyId"`
	AssetID *string         `json:"assetId"`
	Files   []manifestFile  `json:"files"`
}

// Manifest returns the plan as a decryption manifest, which NewPlan reads
// back to the same plan:
//
//	{"amscryptManifest":1,"key":"<base64>","keyId":"nb:kid:UUID:…","assetId":"nb:cid:UUID:…",
//	 "files":[{"name":"…","iv":"<decimal>","size":"<decimal>","mimeType":"…"}]}
//
// keyId, assetId, size and mimeType appear only when known; Entry.Sources is not
// written (a plan read back from a manifest names the manifest). The
// manifest holds the clear key: keep it as private as a key file.
func (p *Plan) Manifest() ([]byte, error) {
	if p.Key.Len() != contentkey.StorageKeySize || p.Key.Type() != contentkey.StorageEncryption {
		return nil, errNoKeyToWrite
	}
	// Everything but the key is built first, so that the one buffer holding
	// the key is allocated once at its final size and no copy is left behind.
	var rest bytes.Buffer
	rest.WriteString("\",\n")
	if p.HasKeyID {
		rest.WriteString("  \"keyId\": \"" + p.KeyID.String() + "\",\n")
	}
	if p.AssetID != "" {
		id, err := envelope.ParseEntityIDOf(envelope.KindContent, p.AssetID)
		if err != nil {
			return nil, fmt.Errorf("keyexport: Manifest: AssetID %q: %w", p.AssetID, err)
		}
		rest.WriteString("  \"assetId\": \"" + id.String() + "\",\n")
	}
	rest.WriteString("  \"files\": [")
	for i, e := range p.Entries {
		if err := checkName(e.Name); err != nil {
			return nil, fmt.Errorf("%w: Manifest: %v", errUnsafeName, err)
		}
		iv := e.IV.String()
		f := manifestFile{Name: &e.Name, IV: &iv}
		if e.Size >= 0 {
			s := strconv.FormatInt(e.Size, 10)
			f.Size = &s
		}
		if e.MimeType != "" {
			f.MimeType = &e.MimeType
		}
		var line bytes.Buffer
		je := json.NewEncoder(&line)
		je.SetEscapeHTML(false)
		if err := je.Encode(f); err != nil {
			return nil, fmt.Errorf("keyexport: Manifest: %w", err)
		}
		if i > 0 {
			rest.WriteByte(',')
		}
		rest.WriteString("\n    ")
		rest.Write(bytes.TrimSuffix(line.Bytes(), []byte("\n")))
	}
	rest.WriteString("\n  ]\n}\n")

	raw := p.Key.Bytes()
	defer clear(raw)
	head := "{\n  \"amscryptManifest\": " + strconv.Itoa(ManifestVersion) + ",\n  \"key\": \""
	out := make([]byte, len(head), len(head)+base64.StdEncoding.EncodedLen(len(raw))+rest.Len())
	copy(out, head)
	out = base64.StdEncoding.AppendEncode(out, raw)
	return append(out, rest.Bytes()...), nil
}

func parseManifest(doc string, data []byte, top object) (part, error) {
	// The version is read first, so that a later version's new members are
	// reported as a version this program does not read, not as unknown members.
	v := bytes.TrimSpace(top["amscryptManifest"])
	if string(v) != strconv.Itoa(ManifestVersion) {
		return part{}, docError(doc, errManifestVersion, "amscryptManifest is %s; this program reads version %d",
			snippet(v), ManifestVersion)
	}
	var m manifest
	if err := jsonstrict.Decode(data, &m); err != nil {
		return part{}, docError(doc, ErrInvalidDocument, "decryption manifest: %w", err)
	}
	if m.Key == nil {
		return part{}, docError(doc, ErrInvalidDocument, "decryption manifest: member key is missing")
	}
	k, err := storageKey(doc, "key", m.Key)
	clear(m.Key)
	if err != nil {
		return part{}, err
	}
	p := part{key: k, hasKey: true}
	if m.KeyID != nil {
		id, err := contentkey.ParseID(*m.KeyID)
		if err != nil {
			return part{}, docError(doc, ErrInvalidDocument, "decryption manifest: keyId: %w", err)
		}
		p.keyIDs = []sightedID{{id, ""}}
	}
	if m.AssetID != nil {
		id, err := envelope.ParseEntityIDOf(envelope.KindContent, *m.AssetID)
		if err != nil {
			return part{}, docError(doc, ErrInvalidDocument, "decryption manifest: assetId: %w", err)
		}
		p.assetID, p.assetIDFrom = id.String(), "assetId"
	}
	if m.Files == nil {
		return part{}, docError(doc, ErrInvalidDocument, "decryption manifest: member files is missing")
	}
	for i, f := range m.Files {
		switch {
		case f.Name == nil:
			return part{}, docError(doc, ErrInvalidDocument, "files[%d]: name is missing", i)
		case f.IV == nil:
			return part{}, docError(doc, ErrInvalidDocument, "file %q: iv is missing", *f.Name)
		}
		iv, err := parseIV(doc, *f.Name, *f.IV)
		if err != nil {
			return part{}, err
		}
		e := Entry{Name: *f.Name, IV: iv, Size: -1}
		if f.Size != nil {
			n, err := parse.Decimal(*f.Size, math.MaxInt64)
			if err != nil {
				return part{}, docError(doc, ErrInvalidDocument, "file %q: size %q: %v", *f.Name, *f.Size, err)
			}
			e.Size = int64(n)
		}
		if f.MimeType != nil {
			if *f.MimeType == "" {
				return part{}, docError(doc, ErrInvalidDocument, "file %q: mimeType is empty; leave it out when unknown", *f.Name)
			}
			e.MimeType = *f.MimeType
		}
		p.entries = append(p.entries, e)
	}
	return p, nil
}

// snippet renders a raw JSON value for an error message.
func snippet(v json.RawMessage) string {
	if len(v) == 0 {
		return "missing"
	}
	if len(v) > 40 {
		return string(v[:40]) + "…"
	}
	return string(v)
}
