package keyexport

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/envelope"
	"github.com/amscrypt/amscrypt/internal/jsonstrict"
	"github.com/amscrypt/amscrypt/keyfile"
)

// docError formats an error about document doc: the sentinel, the document's
// name, then the detail.
func docError(doc string, sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %q: "+format, append([]any{sentinel, doc}, args...)...)
}

// kind is the form of a document, told from its members, never its file name.
type kind int

const (
	kindUnknown kind = iota
	kindManifest
	kindV3
	kindContentKey
	kindContentKeyList
	kindKeyVault
	kindFileList
	kindRebind
	kindKeyFile
	kindAssetFile
)

// object is a JSON object with its members by exact name.
type object map[string]json.RawMessage

func (o object) has(names ...string) bool {
	for _, n := range names {
		if _, ok := o[n]; !ok {
			return false
		}
	}
	return true
}

// jsonKind returns the first byte of a JSON value: '{', '[', '"', 'n', …
func jsonKind(v json.RawMessage) byte {
	v = bytes.TrimLeft(v, " \t\r\n")
	if len(v) == 0 {
		return 0
	}
	return v[0]
}

// classify tells the form of a document from its top-level object (and,
// for OData verbose, the object inside "d"). It returns the object the
// form's parser reads.
func classify(top object) (kind, object) {
	if d, ok := top["d"]; ok && len(top) == 1 {
		var inner object
		if json.Unmarshal(d, &inner) != nil || inner == nil {
			return kindUnknown, nil
		}
		switch {
		case inner.has("results"):
			return kindFileList, inner
		case inner.has("RebindContentKey"):
			return kindRebind, inner
		case inner.has("EncryptedContentKey"):
			return kindContentKey, inner
		case isAssetFile(inner):
			return kindAssetFile, inner
		}
		return kindUnknown, nil
	}
	switch {
	case top.has("amscryptManifest"):
		return kindManifest, top
	case top.has("assetFileEncryptionMetadata"):
		return kindV3, top
	case top.has("EncryptedContentKey"):
		return kindContentKey, top
	case top.has("tags", "value", "id"):
		return kindKeyVault, top
	case top.has("value"):
		switch jsonKind(top["value"]) {
		case '[':
			var items []object
			if json.Unmarshal(top["value"], &items) == nil && len(items) > 0 && items[0].has("EncryptedContentKey") {
				return kindContentKeyList, top
			}
			return kindFileList, top
		case '"':
			return kindRebind, top
		}
	case top.has("Key", "ContentKeyType", "Id"):
		return kindKeyFile, top
	case isAssetFile(top):
		return kindAssetFile, top
	}
	return kindUnknown, nil
}

// isTrue reports whether an OData Boolean is true: JSON true, or the
// string "true" in any case, as the upload document sends it.
func isTrue(v json.RawMessage) bool {
	var b bool
	if json.Unmarshal(v, &b) == nil {
		return b
	}
	var s string
	return json.Unmarshal(v, &s) == nil && strings.EqualFold(s, "true")
}

// wipe clears the raw members of a decoded object: encoding/json copied
// them out of the document, and one of them may be a base64 key.
func wipe(o object) {
	for _, v := range o {
		clear(v)
	}
}

func isAssetFile(o object) bool {
	return o.has("Name") && (o.has("IsEncrypted") || o.has("InitializationVector") || o.has("EncryptionKeyId"))
}

// parseDocument reads one document into the part it contributes.
func parseDocument(d Document, opts *Options) (part, error) {
	if err := jsonstrict.Check(d.Data); err != nil {
		return part{}, docError(d.Name, ErrInvalidDocument, "%w", err)
	}
	var top object
	if err := json.Unmarshal(d.Data, &top); err != nil || top == nil {
		if !json.Valid(d.Data) {
			return part{}, docError(d.Name, ErrInvalidDocument, "not valid JSON: %v", err)
		}
		return part{}, docError(d.Name, ErrUnknownDocument, "not a JSON object")
	}
	defer wipe(top)
	k, o := classify(top)
	if o != nil && len(top) == 1 && top["d"] != nil {
		defer wipe(o)
	}
	if k == kindUnknown {
		return part{}, docError(d.Name, ErrUnknownDocument, "top-level members %s", memberNames(top))
	}
	// Key Vault tags are blob names, which are case-sensitive; every other
	// form is read into Go structs, whose member names match in any case.
	if k != kindKeyVault {
		if err := jsonstrict.CheckFold(d.Data); err != nil {
			return part{}, docError(d.Name, ErrInvalidDocument, "%w", err)
		}
	}
	var (
		p   part
		err error
	)
	switch k {
	case kindManifest:
		p, err = parseManifest(d.Name, d.Data)
	case kindV3:
		p, err = parseV3(d.Name, d.Data)
	case kindContentKey:
		p, err = parseContentKey(d.Name, d.Data, "", opts)
	case kindContentKeyList:
		p, err = parseContentKeyList(d.Name, o, opts)
	case kindKeyVault:
		p, err = parseKeyVault(d.Name, o)
	case kindFileList:
		p, err = parseFileList(d.Name, o)
	case kindRebind:
		p, err = parseRebind(d.Name, o)
	case kindKeyFile:
		p, err = parseKeyFile(d.Name, d.Data)
	case kindAssetFile:
		var e Entry
		var id contentkey.ID
		if e, id, err = parseAssetFile(d.Name, o, "AssetFile"); err == nil {
			p = part{entries: []Entry{e}, keyIDs: []sightedID{{id, e.Name}}}
		}
	}
	if err != nil {
		return part{}, err
	}
	for _, e := range p.entries {
		if err := checkName(e.Name); err != nil {
			return part{}, docError(d.Name, ErrUnsafeName, "%v", err)
		}
	}
	return p, nil
}

// memberNames lists an object's member names for an error message.
func memberNames(o object) string {
	names := make([]string, 0, len(o))
	for n := range o {
		names = append(names, fmt.Sprintf("%q", n))
	}
	slices.Sort(names)
	if len(names) > 8 {
		names = append(names[:8], "…")
	}
	if len(names) == 0 {
		return "(none)"
	}
	return strings.Join(names, ", ")
}

// storageKey decodes a base64 key member as a StorageEncryption key. The
// decoded bytes are cleared; no error shows them or their base64.
func storageKey(doc, field string, raw json.RawMessage) (contentkey.Key, error) {
	if jsonKind(raw) != '"' {
		return contentkey.Key{}, docError(doc, ErrInvalidDocument, "member %s is not a base64 string", field)
	}
	var b []byte // encoding/json decodes standard padded base64 into []byte
	if err := json.Unmarshal(raw, &b); err != nil {
		clear(b)
		return contentkey.Key{}, docError(doc, ErrInvalidDocument, "member %s is not standard padded base64", field)
	}
	defer clear(b)
	if len(b) == 0 {
		return contentkey.Key{}, docError(doc, ErrInvalidDocument, "member %s is empty", field)
	}
	k, err := contentkey.FromBytes(contentkey.StorageEncryption, b)
	if err != nil {
		return contentkey.Key{}, docError(doc, ErrInvalidDocument, "member %s holds %d bytes; a StorageEncryption key is %d: %w",
			field, len(b), contentkey.StorageKeySize, contentkey.ErrInvalidKey)
	}
	return k, nil
}

// parseIV reads a decimal IV, naming the file and the value when it fails.
func parseIV(doc, file, s string) (contentkey.IV, error) {
	iv, err := contentkey.ParseIV(s)
	if err != nil {
		return 0, docError(doc, ErrInvalidDocument, "file %q: initialization vector %q: %w", file, s, err)
	}
	return iv, nil
}

// v3Response is StorageEncryptedAssetDecryptionData, the answer of the v3
// Assets_GetEncryptionKey.
type v3Response struct {
	Key   json.RawMessage `json:"key"`
	Files []struct {
		IV   *string `json:"initializationVector"`
		Name *string `json:"assetFileName"`
		ID   *string `json:"assetFileId"`
	} `json:"assetFileEncryptionMetadata"`
}

func parseV3(doc string, data []byte) (part, error) {
	var r v3Response
	if err := json.Unmarshal(data, &r); err != nil {
		return part{}, docError(doc, ErrInvalidDocument, "v3 getEncryptionKey response: %v", err)
	}
	if r.Key == nil {
		return part{}, docError(doc, ErrInvalidDocument, "v3 getEncryptionKey response: member key is missing")
	}
	k, err := storageKey(doc, "key", r.Key)
	clear(r.Key)
	if err != nil {
		return part{}, err
	}
	p := part{key: k, hasKey: true}
	for i, f := range r.Files {
		switch {
		case f.Name == nil:
			return part{}, docError(doc, ErrInvalidDocument, "assetFileEncryptionMetadata[%d]: assetFileName is missing", i)
		case f.IV == nil:
			return part{}, docError(doc, ErrInvalidDocument, "file %q: initializationVector is missing", *f.Name)
		}
		iv, err := parseIV(doc, *f.Name, *f.IV)
		if err != nil {
			return part{}, err
		}
		p.entries = append(p.entries, Entry{Name: *f.Name, IV: iv, Size: -1})
	}
	return p, nil
}

// parseFileList reads a v2 Files listing: {"value":[…]} or, verbose, the
// {"results":[…]} inside "d".
func parseFileList(doc string, o object) (part, error) {
	member := "value"
	if _, ok := o["results"]; ok {
		member = "results"
	}
	var items []json.RawMessage
	if err := json.Unmarshal(o[member], &items); err != nil || jsonKind(o[member]) != '[' {
		return part{}, docError(doc, ErrInvalidDocument, "member %s is not an array", member)
	}
	var p part
	for i, raw := range items {
		var item object
		if err := json.Unmarshal(raw, &item); err != nil || item == nil {
			return part{}, docError(doc, ErrInvalidDocument, "%s[%d] is not an AssetFile object", member, i)
		}
		e, id, err := parseAssetFile(doc, item, fmt.Sprintf("%s[%d]", member, i))
		if err != nil {
			return part{}, err
		}
		p.entries = append(p.entries, e)
		p.keyIDs = append(p.keyIDs, sightedID{id, e.Name})
	}
	return p, nil
}

// sizePlaceholder stands in for the ContentFileSize that live-archive tracks
// lack, since envelope.ParseAssetFile requires one.
var sizePlaceholder = json.RawMessage(`"0"`)

// parseAssetFile reads one AssetFile with envelope.ParseAssetFile, which
// ignores the listing's other members (Id, __metadata, Created, …) and checks
// the encryption fields, and refuses a file that is not storage-encrypted.
func parseAssetFile(doc string, o object, where string) (Entry, contentkey.ID, error) {
	if n, ok := o["Name"]; ok {
		var s string
		if json.Unmarshal(n, &s) == nil {
			where = fmt.Sprintf("%s %q", where, s)
		}
	}
	// A file that is not encrypted is refused before envelope sees it, which
	// would complain about its encryption fields instead.
	if !isTrue(o["IsEncrypted"]) {
		name := where
		if n, ok := o["Name"]; ok {
			var s string
			if json.Unmarshal(n, &s) == nil {
				name = fmt.Sprintf("%q", s)
			}
		}
		return Entry{}, contentkey.ID{}, docError(doc, ErrNotEncrypted, "file %s: IsEncrypted is not true; its blob is stored in the clear", name)
	}
	hasSize := o["ContentFileSize"] != nil && !bytes.Equal(bytes.TrimSpace(o["ContentFileSize"]), []byte("null"))
	if !hasSize {
		o = maps.Clone(o)
		o["ContentFileSize"] = sizePlaceholder
	}
	data, err := json.Marshal(o)
	if err != nil {
		return Entry{}, contentkey.ID{}, docError(doc, ErrInvalidDocument, "%s: %v", where, err)
	}
	f, err := envelope.ParseAssetFile(data)
	if err != nil {
		return Entry{}, contentkey.ID{}, docError(doc, ErrInvalidDocument, "%s: %w", where, err)
	}
	if !f.Encrypted() {
		return Entry{}, contentkey.ID{}, docError(doc, ErrNotEncrypted, "file %q: IsEncrypted is not true; its blob is stored in the clear", f.Name())
	}
	e := Entry{Name: f.Name(), IV: f.IV(), Size: -1, MimeType: f.MimeType}
	if hasSize {
		e.Size = f.Size()
	}
	return e, f.KeyID(), nil
}

// parseContentKey opens a ContentKey entity with the private key.
func parseContentKey(doc string, data []byte, where string, opts *Options) (part, error) {
	ck, err := envelope.ParseContentKey(data)
	if err != nil {
		return part{}, docError(doc, ErrInvalidDocument, "%s%w", where, err)
	}
	if ck.ContentKeyType != contentkey.StorageEncryption {
		return part{}, docError(doc, ErrInvalidDocument, "%sContentKey %s has ContentKeyType %s; storage encryption needs %s",
			where, ck.ID, ck.ContentKeyType, contentkey.StorageEncryption)
	}
	if opts.PrivateKey == nil {
		return part{}, docError(doc, ErrNeedPrivateKey, "%sContentKey %s is wrapped to the certificate %s; give its private key",
			where, ck.ID, ck.ProtectionKeyID)
	}
	k, id, err := ck.Open(opts.PrivateKey)
	if err != nil {
		return part{}, docError(doc, ErrInvalidDocument, "%sContentKey %s: %w", where, ck.ID, err)
	}
	return part{key: k, hasKey: true, keyIDs: []sightedID{{id, ""}}}, nil
}

// parseContentKeyList reads GET Assets('…')/ContentKeys: {"value":[ContentKey…]}.
func parseContentKeyList(doc string, o object, opts *Options) (part, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(o["value"], &items); err != nil {
		return part{}, docError(doc, ErrInvalidDocument, "member value is not an array")
	}
	var p part
	for i, raw := range items {
		q, err := parseContentKey(doc, raw, fmt.Sprintf("value[%d]: ", i), opts)
		if err != nil {
			return part{}, err
		}
		if p.hasKey && !p.key.Equal(q.key) {
			return part{}, &ConflictError{Field: "key", First: doc, Second: doc}
		}
		p.key, p.hasKey = q.key, true
		p.keyIDs = append(p.keyIDs, q.keyIDs...)
	}
	return p, nil
}

// parseKeyVault reads a Key Vault secret as `az keyvault secret show`
// prints it: the value is the base64 key, each tag a file name and its IV.
func parseKeyVault(doc string, o object) (part, error) {
	var id string
	if err := json.Unmarshal(o["id"], &id); err != nil || !strings.HasPrefix(id, "https://") || !strings.Contains(id, "/secrets/") {
		return part{}, docError(doc, ErrInvalidDocument, "Key Vault secret: member id is not a https://…/secrets/… URL")
	}
	k, err := storageKey(doc, "value", o["value"])
	if err != nil {
		return part{}, err
	}
	var tags map[string]json.RawMessage
	if err := json.Unmarshal(o["tags"], &tags); err != nil {
		return part{}, docError(doc, ErrInvalidDocument, "Key Vault secret: member tags is not an object")
	}
	p := part{key: k, hasKey: true}
	names := make([]string, 0, len(tags))
	for n := range tags {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		var s string
		if err := json.Unmarshal(tags[n], &s); err != nil {
			return part{}, docError(doc, ErrInvalidDocument, "file %q: tag value is not a string", n)
		}
		iv, err := parseIV(doc, n, s)
		if err != nil {
			return part{}, err
		}
		p.entries = append(p.entries, Entry{Name: n, IV: iv, Size: -1})
	}
	return p, nil
}

// parseRebind reads the RebindContentKey answer for an empty certificate:
// the clear key in base64.
func parseRebind(doc string, o object) (part, error) {
	member := "value"
	if _, ok := o["RebindContentKey"]; ok {
		member = "RebindContentKey"
	}
	k, err := storageKey(doc, member, o[member])
	if err != nil {
		return part{}, err
	}
	return part{key: k, hasKey: true}, nil
}

func parseKeyFile(doc string, data []byte) (part, error) {
	k, id, err := keyfile.Decode(data)
	if err != nil {
		return part{}, docError(doc, ErrInvalidDocument, "%w", err)
	}
	if k.Type() != contentkey.StorageEncryption {
		return part{}, docError(doc, ErrInvalidDocument, "key file holds a %s key; storage encryption needs %s", k.Type(), contentkey.StorageEncryption)
	}
	return part{key: k, hasKey: true, keyIDs: []sightedID{{id, ""}}}, nil
}
