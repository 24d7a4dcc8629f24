package keyexport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/envelope"
	"github.com/amscrypt/amscrypt/internal/jsonstrict"
	"github.com/amscrypt/amscrypt/internal/quote"
	"github.com/amscrypt/amscrypt/keyfile"
	"github.com/amscrypt/amscrypt/protection"
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
	kindPreview
	kindContentKey
	kindContentKeyList
	kindKeyVault
	kindKeyVaultVersions
	kindFileList
	kindRebind
	kindKeyFile
	kindAssetFile
	kindNotExport
)

// object is a JSON object with its members by exact name, each value a
// slice of the document (see members).
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
// form's parser reads and, for kindNotExport, what the document is.
func classify(top object) (kind, object, string) {
	if d, ok := top["d"]; ok && len(top) == 1 {
		inner := members(d)
		switch {
		case inner == nil:
			return kindUnknown, nil, ""
		case inner.has("results"):
			if what := notExport(members(firstElement(inner["results"]))); what != "" {
				return kindNotExport, nil, listingOf(what)
			}
			return kindFileList, inner, ""
		case inner.has("RebindContentKey"):
			return kindRebind, inner, ""
		case inner.has("GetProtectionKeyId"):
			return kindNotExport, nil, thumbprintAnswer
		case inner.has("GetProtectionKey"):
			return kindNotExport, nil, certificateAnswer
		case inner.has("EncryptedContentKey"):
			return kindContentKey, inner, ""
		case isAssetFile(inner):
			return kindAssetFile, inner, ""
		}
		if what := notExport(inner); what != "" {
			return kindNotExport, nil, what
		}
		return kindUnknown, nil, ""
	}
	switch {
	case top.has("amscryptManifest"):
		return kindManifest, top, ""
	case top.has("assetFileEncryptionMetadata"):
		return kindV3, top, ""
	case top.has("storageEncryptionKey"):
		return kindPreview, top, ""
	case top.has("EncryptedContentKey"):
		return kindContentKey, top, ""
	case isSecret(top) || top.has("tags", "value", "id"):
		return kindKeyVault, top, ""
	case top.has("value"):
		switch jsonKind(top["value"]) {
		case '[':
			first := members(firstElement(top["value"]))
			switch {
			case first.has("EncryptedContentKey"):
				return kindContentKeyList, top, ""
			case isSecret(first):
				return kindKeyVaultVersions, top, ""
			}
			if what := notExport(first); what != "" {
				return kindNotExport, nil, listingOf(what)
			}
			return kindFileList, top, ""
		case '"':
			return kindRebind, top, ""
		}
	case top.has("Key", "ContentKeyType", "Id"):
		return kindKeyFile, top, ""
	case isAssetFile(top):
		return kindAssetFile, top, ""
	}
	if what := notExport(top); what != "" {
		return kindNotExport, nil, what
	}
	return kindUnknown, nil, ""
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

func isAssetFile(o object) bool {
	return o.has("Name") && (o.has("IsEncrypted") || o.has("InitializationVector") || o.has("EncryptionKeyId"))
}

// MaxDocumentSize is the largest key export NewPlan reads, 256 MiB: a v3
// export lists a file in about 160 bytes, so no asset comes near it, while a
// wrong file (a video, a disk image) is refused before it costs memory.
const MaxDocumentSize = 256 << 20

// utf8BOM is the byte-order mark Windows tools put before UTF-8 text.
var utf8BOM = []byte("\xef\xbb\xbf")

// parseDocument reads one document into the part it contributes.
func parseDocument(d Document, opts *Options) (part, error) {
	if len(d.Data) > MaxDocumentSize {
		return part{}, docError(d.Name, ErrInvalidDocument, "%d bytes, larger than the %d bytes (256 MiB) a key export can be",
			len(d.Data), MaxDocumentSize)
	}
	data, isXML, err := documentBody(d.Name, d.Data)
	if err != nil {
		return part{}, err
	}
	var p part
	if isXML {
		p, err = parseAtom(d.Name, data, opts)
	} else {
		p, err = parseJSON(d.Name, data, len(d.Data)-len(data), opts)
	}
	if err != nil {
		return part{}, err
	}
	for _, e := range p.entries {
		if err := checkName(e.Name); err != nil {
			return part{}, docError(d.Name, errUnsafeName, "%v", err)
		}
	}
	return p, nil
}

// documentBody returns data without its UTF-8 byte-order mark and whether it
// is XML, refusing anything that starts otherwise than JSON or XML. The
// error quotes what comes before the document (at most a line, never a
// bracket on), unless it holds a run of base64 or hex characters (a bare key
// saved on its own), which it only describes.
func documentBody(doc string, data []byte) (body []byte, isXML bool, err error) {
	body = bytes.TrimPrefix(data, utf8BOM)
	i := skipSpace(body, 0)
	if i == len(body) {
		return nil, false, docError(doc, ErrInvalidDocument, "empty document")
	}
	rest := body[i:]
	if rest[0] == '{' || rest[0] == '[' || rest[0] == '<' || json.Valid(rest) {
		return body, rest[0] == '<', nil
	}
	at := len(data) - len(rest)
	if bytes.HasPrefix(rest, []byte("\xff\xfe")) || bytes.HasPrefix(rest, []byte("\xfe\xff")) {
		return nil, false, docError(doc, ErrInvalidDocument, "starts with a UTF-16 byte-order mark at offset %d; save it as UTF-8", at)
	}
	junk := rest
	if n := bytes.IndexAny(junk, "\r\n{[<"); n >= 0 {
		junk = junk[:n]
	}
	if run := longestBase64Run(junk); run >= 16 {
		return nil, false, docError(doc, ErrInvalidDocument, "starts with a line holding %d base64 or hex characters at offset %d, not JSON or XML; "+
			"give the whole answer that held the key, or a key file", run, at)
	}
	if len(junk) > 16 {
		junk = junk[:16]
	}
	return nil, false, docError(doc, ErrInvalidDocument, "starts with %s at offset %d, not JSON or XML", quote.Input(string(junk)), at)
}

// longestBase64Run returns the length of the longest run of base64 (and so
// hex) characters in b.
func longestBase64Run(b []byte) int {
	longest, run := 0, 0
	for _, c := range b {
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '=' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return longest
}

// parseJSON reads a JSON document that starts at offset at of its file
// (after a byte-order mark).
func parseJSON(doc string, data []byte, at int, opts *Options) (part, error) {
	if err := json.Unmarshal(data, &struct{}{}); err != nil {
		// No error quotes the document: the character json names could be
		// a byte of a raw key saved where a document was expected.
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return part{}, docError(doc, ErrInvalidDocument, "not valid JSON at offset %d", int64(at)+max(se.Offset-1, 0))
		}
		if !json.Valid(data) {
			return part{}, docError(doc, ErrInvalidDocument, "%v", jsonstrict.Redact(err))
		}
	}
	if jsonKind(data) == '[' {
		// az keyvault secret list-versions prints an array of versions.
		if isSecret(members(firstElement(data))) {
			if err := jsonstrict.Check(data); err != nil {
				return part{}, docError(doc, ErrInvalidDocument, "%w", err)
			}
			return parseSecretVersions(doc, data)
		}
		return part{}, docError(doc, errUnknownDocument, "a JSON array, not an object")
	}
	top := members(data)
	if top == nil {
		return part{}, docError(doc, errUnknownDocument, "not a JSON object")
	}
	k, o, what := classify(top)
	switch k {
	case kindUnknown:
		return part{}, docError(doc, errUnknownDocument, "top-level members %s", memberNames(top))
	case kindNotExport:
		return part{}, &notExportError{doc, what + ", not a key export"}
	}
	// A repeated member is refused before anything is read. Key Vault tags
	// are blob names, which are case-sensitive; every other form is read
	// into Go structs, whose member names match in any case.
	check := jsonstrict.CheckFold
	if k == kindKeyVault || k == kindKeyVaultVersions {
		check = jsonstrict.Check
	}
	if err := check(data); err != nil {
		return part{}, docError(doc, ErrInvalidDocument, "%w", err)
	}
	switch k {
	case kindManifest:
		return parseManifest(doc, data, top)
	case kindV3:
		return parseV3(doc, top)
	case kindPreview:
		return parsePreview(doc, top)
	case kindContentKey:
		return parseContentKey(doc, data, "", opts)
	case kindContentKeyList:
		return parseContentKeyList(doc, o, opts)
	case kindKeyVault:
		return parseKeyVault(doc, o)
	case kindKeyVaultVersions:
		return parseSecretVersions(doc, o["value"])
	case kindFileList:
		return parseFileList(doc, o)
	case kindRebind:
		return parseRebind(doc, o)
	case kindKeyFile:
		return parseKeyFile(doc, data)
	default: // kindAssetFile
		e, id, parent, err := parseAssetFile(doc, o, "AssetFile")
		if err != nil {
			return part{}, err
		}
		p := part{entries: []Entry{e}, keyIDs: []sightedID{{id, e.Name}}}
		return p, p.setParent(doc, e.Name, parent)
	}
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

// v3File is one element of assetFileEncryptionMetadata in
// StorageEncryptedAssetDecryptionData, the answer of the v3
// Assets_GetEncryptionKey.
type v3File struct {
	IV   *string `json:"initializationVector"`
	Name *string `json:"assetFileName"`
	ID   *string `json:"assetFileId"`
}

func parseV3(doc string, o object) (part, error) {
	if o["key"] == nil {
		return part{}, docError(doc, ErrInvalidDocument, "v3 getEncryptionKey response: member key is missing")
	}
	k, err := storageKey(doc, "key", o["key"])
	if err != nil {
		return part{}, err
	}
	p := part{key: k, hasKey: true}
	files := o["assetFileEncryptionMetadata"]
	if c := jsonKind(files); c != '[' && c != 'n' {
		return part{}, docError(doc, ErrInvalidDocument, "v3 getEncryptionKey response: member assetFileEncryptionMetadata is not an array")
	}
	for i, raw := range elements(files) {
		var f v3File
		if err := json.Unmarshal(raw, &f); err != nil {
			return part{}, docError(doc, ErrInvalidDocument, "assetFileEncryptionMetadata[%d]: %v", i, jsonstrict.Redact(err))
		}
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

// parsePreview reads the answer of getEncryptionKey in the 2018 preview of
// the v3 API, {"storageEncryptionKey":"<base64>"}: the key and nothing else.
func parsePreview(doc string, o object) (part, error) {
	if jsonKind(o["storageEncryptionKey"]) == 'n' {
		return part{}, docError(doc, ErrInvalidDocument, "storageEncryptionKey is null: this 2018-preview getEncryptionKey answer holds no key "+
			"(the asset is not storage-encrypted, or the key was not returned)")
	}
	k, err := storageKey(doc, "storageEncryptionKey", o["storageEncryptionKey"])
	if err != nil {
		return part{}, err
	}
	return part{key: k, hasKey: true}, nil
}

// parseFileList reads a v2 Files listing: {"value":[…]} or, verbose, the
// {"results":[…]} inside "d".
func parseFileList(doc string, o object) (part, error) {
	member := "value"
	if _, ok := o["results"]; ok {
		member = "results"
	}
	if jsonKind(o[member]) != '[' {
		return part{}, docError(doc, ErrInvalidDocument, "member %s is not an array", member)
	}
	var p part
	for i, raw := range elements(o[member]) {
		item := members(raw)
		if item == nil {
			return part{}, docError(doc, ErrInvalidDocument, "%s[%d] is not an AssetFile object", member, i)
		}
		e, id, parent, err := parseAssetFile(doc, item, fmt.Sprintf("%s[%d]", member, i))
		if err != nil {
			return part{}, err
		}
		if err := p.setParent(doc, e.Name, parent); err != nil {
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
// It also returns the file's ParentAssetId, or "".
func parseAssetFile(doc string, o object, where string) (Entry, contentkey.ID, string, error) {
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
		return Entry{}, contentkey.ID{}, "", docError(doc, ErrNotEncrypted, "file %s: IsEncrypted is not true; its blob is stored in the clear", name)
	}
	hasSize := o["ContentFileSize"] != nil && !bytes.Equal(bytes.TrimSpace(o["ContentFileSize"]), []byte("null"))
	if !hasSize {
		o = maps.Clone(o)
		o["ContentFileSize"] = sizePlaceholder
	}
	data, err := json.Marshal(o)
	if err != nil {
		return Entry{}, contentkey.ID{}, "", docError(doc, ErrInvalidDocument, "%s: %v", where, err)
	}
	f, err := envelope.ParseAssetFile(data)
	if err != nil {
		return Entry{}, contentkey.ID{}, "", docError(doc, ErrInvalidDocument, "%s: %w", where, err)
	}
	if !f.Encrypted() {
		return Entry{}, contentkey.ID{}, "", docError(doc, ErrNotEncrypted, "file %q: IsEncrypted is not true; its blob is stored in the clear", f.Name())
	}
	e := Entry{Name: f.Name(), IV: f.IV(), Size: -1, MimeType: f.MimeType}
	if hasSize {
		e.Size = f.Size()
	}
	return e, f.KeyID(), f.ParentAssetID.String(), nil
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
	var p part
	for i, raw := range elements(o["value"]) {
		q, err := parseContentKey(doc, raw, fmt.Sprintf("value[%d]: ", i), opts)
		if err != nil {
			return part{}, err
		}
		if err := p.add(doc, q); err != nil {
			return part{}, err
		}
	}
	return p, nil
}

// add adds what q holds to p, both from document doc: one document that
// holds two different keys is refused.
func (p *part) add(doc string, q part) error {
	if q.hasKey {
		if p.hasKey && !p.key.Equal(q.key) {
			return &ConflictError{Field: "key", First: doc, Second: doc}
		}
		p.key, p.hasKey = q.key, true
	}
	p.keyIDs = append(p.keyIDs, q.keyIDs...)
	p.entries = append(p.entries, q.entries...)
	if q.assetID != "" {
		return p.setParent(doc, "", q.assetID)
	}
	return nil
}

// setParent records the ParentAssetId of a file of the document (parent ""
// for none); the files of one document must agree.
func (p *part) setParent(doc, file, parent string) error {
	switch {
	case parent == "":
	case p.assetID == "":
		p.assetID, p.assetIDFrom = parent, "ParentAssetId"
	case p.assetID != parent:
		return &ConflictError{Field: "asset id", Entry: file, First: doc, Second: doc, FirstValue: p.assetID, SecondValue: parent}
	}
	return nil
}

// parseRebind reads the RebindContentKey answer for an empty certificate:
// the clear key in base64. GetProtectionKeyId and GetProtectionKey answers
// have the same shape; they are named for what they are.
func parseRebind(doc string, o object) (part, error) {
	member := "value"
	if _, ok := o["RebindContentKey"]; ok {
		member = "RebindContentKey"
	}
	k, err := storageKey(doc, member, o[member])
	if err != nil {
		var s string
		if json.Unmarshal(o[member], &s) == nil {
			if what := notKeyAnswer(s); what != "" {
				return part{}, &notExportError{doc, what + ", not a key export"}
			}
		}
		return part{}, err
	}
	return part{key: k, hasKey: true}, nil
}

// The answers of the upload flow that look like a RebindContentKey answer.
const (
	thumbprintAnswer  = "a GetProtectionKeyId answer (a certificate thumbprint)"
	certificateAnswer = "a GetProtectionKey answer (a protection certificate)"
)

// notKeyAnswer names the answer whose value is s when s is a thumbprint or
// a certificate, and returns "" otherwise.
func notKeyAnswer(s string) string {
	if _, err := protection.ParseThumbprint(s); err == nil {
		return thumbprintAnswer
	}
	if len(s) > 2*contentkey.StorageKeySize {
		if _, err := protection.ParseCertificate([]byte(s)); err == nil {
			return certificateAnswer
		}
	}
	return ""
}

// notExport names the REST entities that carry no key and are not AssetFiles
// (v2 Locators and Assets, any v3 resource), and returns "" for others.
func notExport(o object) string {
	switch {
	case o.has("AccessPolicyId", "AssetId") || o.has("Path", "ExpirationDateTime"):
		return "a Locator entity"
	case o.has("Options", "State") || o.has("Options", "StorageAccountName"):
		return "an Asset entity"
	}
	var t string
	if json.Unmarshal(o["type"], &t) == nil && len(t) > len("Microsoft.Media/") && strings.EqualFold(t[:len("Microsoft.Media/")], "Microsoft.Media/") {
		return "a Media Services v3 resource of type " + quote.Input(t)
	}
	return ""
}

// listingOf turns "a Locator entity" into "a listing of Locator entities".
func listingOf(what string) string {
	what = strings.TrimPrefix(strings.TrimPrefix(what, "a "), "an ")
	if s, ok := strings.CutSuffix(what, "entity"); ok {
		what = s + "entities"
	}
	return "a listing of " + what
}

// notExportError is a document recognised as something other than a key
// export; it matches ErrInvalidDocument.
type notExportError struct{ doc, what string }

func (e *notExportError) Error() string { return fmt.Sprintf("keyexport: %q is %s", e.doc, e.what) }
func (e *notExportError) Is(target error) bool {
	return target == errUnknownDocument || target == ErrInvalidDocument
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
