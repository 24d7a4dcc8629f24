package keyexport

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/amscrypt/amscrypt/envelope"
	"github.com/amscrypt/amscrypt/internal/parse"
	"github.com/amscrypt/amscrypt/internal/quote"
)

// Key Vault secrets as the migration tools wrote them and az prints them.
//
// MediaMigrate's keys command stores an asset's key (base64) under the
// asset's name, with one tag per file, "<assetFileName>": "<decimal IV>". It
// sets the secret once per file, adding one tag each time, so an asset has as
// many versions as files, each with one more tag. `az keyvault secret show`
// prints one version with its value; `az keyvault secret list-versions` (and
// the REST listing {"value":[…]}) prints every version's tags but no values.
//
// azure-media-migration's keys command stores streaming locators' content
// keys (16 bytes, base64) under their key ids, without tags; its packaging
// stores the new key of the repackaged output as 32 hex digits under a
// 32-hex-digit key id. Neither is the asset's storage-encryption key, and
// both are named as such rather than reported as a wrong key length.

// isSecret reports whether o is a Key Vault secret (a version of one): its
// id is https://<vault>/secrets/<name>[/<version>].
func isSecret(o object) bool {
	_, _, ok := secretID(o)
	return ok && (o.has("value") || o.has("tags") || o.has("attributes"))
}

// secretID returns the name and version ("" when absent) of o's id.
func secretID(o object) (name, version string, ok bool) {
	var id string
	if json.Unmarshal(o["id"], &id) != nil || !strings.HasPrefix(id, "https://") {
		return "", "", false
	}
	_, path, ok := strings.Cut(id, "/secrets/")
	if !ok {
		return "", "", false
	}
	name, version, _ = strings.Cut(path, "/")
	return name, version, name != "" && !strings.Contains(version, "/")
}

// parseKeyVault reads one secret version as `az keyvault secret show` prints
// it.
func parseKeyVault(doc string, o object) (part, error) {
	p, name, _, err := parseSecret(doc, o, "Key Vault secret")
	if err == nil && len(p.entries) > 0 {
		// MediaMigrate's secrets (the ones with file tags) are named
		// ${AssetId} unless its --secret-template said otherwise: a hint.
		if id, ok := secretAssetID(name); ok {
			p.assetID, p.assetIDFrom, p.assetIDWeak = id, "Key Vault secret name", true
		}
	}
	return p, err
}

// secretAssetID returns, for a secret whose name is a GUID, the asset id
// nb:cid:UUID:<name in lower case>.
func secretAssetID(name string) (string, bool) {
	g, err := parse.GUID(name, 0)
	if err != nil {
		return "", false
	}
	e, err := envelope.NewEntityID(envelope.KindContent, g)
	if err != nil {
		return "", false
	}
	return e.String(), true
}

// parseSecret reads one secret version: the key from its value (absent in a
// listing of versions), a file and its IV from each tag. where prefixes
// errors about the secret's form.
func parseSecret(doc string, o object, where string) (p part, name, version string, err error) {
	name, version, ok := secretID(o)
	if !ok {
		return part{}, "", "", docError(doc, ErrInvalidDocument, "%s: member id is not a https://…/secrets/… URL", where)
	}
	if v := o["value"]; v != nil && jsonKind(v) != 'n' {
		if what := notStorageKey(v); what != "" {
			return part{}, "", "", &notExportError{doc, fmt.Sprintf("Key Vault secret %s holding %s, not the asset's storage-encryption key", quote.Input(name), what)}
		}
		if p.key, err = storageKey(doc, "value", v); err != nil {
			return part{}, "", "", err
		}
		p.hasKey = true
	}
	tags := o["tags"]
	switch jsonKind(tags) {
	case 0, 'n':
		return p, name, version, nil // no file metadata: the key only
	case '{':
	default:
		return part{}, "", "", docError(doc, ErrInvalidDocument, "%s: member tags is not an object", where)
	}
	t := members(tags)
	files := make([]string, 0, len(t))
	for n := range t {
		files = append(files, n)
	}
	slices.Sort(files)
	for _, n := range files {
		var s string
		if err := json.Unmarshal(t[n], &s); err != nil {
			return part{}, "", "", docError(doc, ErrInvalidDocument, "file %q: tag value is not a string", n)
		}
		iv, err := parseIV(doc, n, s)
		if err != nil {
			return part{}, "", "", err
		}
		p.entries = append(p.entries, Entry{Name: n, IV: iv, Size: -1})
	}
	return p, name, version, nil
}

// notStorageKey describes a secret value that azure-media-migration wrote
// (32 hex digits, or the base64 of 16 bytes), and returns "" for others.
// It shows nothing of the value.
func notStorageKey(v json.RawMessage) string {
	s := bytesTrim(v)
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return ""
	}
	s = s[1 : len(s)-1]
	if len(s) == 32 && !slices.ContainsFunc(s, func(c byte) bool { return !isHexDigit(c) }) {
		return "32 hex digits (azure-media-migration's packaging key for the repackaged output)"
	}
	if len(s) != 24 {
		return ""
	}
	var k [18]byte // base64.StdEncoding.DecodedLen(24)
	n, err := base64.StdEncoding.Decode(k[:], s)
	clear(k[:])
	if err == nil && n == 16 {
		return "a 16-byte key (a streaming locator's content key, as azure-media-migration's keys command copies them)"
	}
	return ""
}

func bytesTrim(v []byte) []byte {
	return v[skipSpace(v, 0):]
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// parseSecretVersions reads an array of versions of one secret, as
// `az keyvault secret list-versions` prints it: the union of their tags and
// the key of whichever versions carry a value. Versions that disagree (on the
// key or a file's IV) are refused, naming both.
func parseSecretVersions(doc string, versions json.RawMessage) (part, error) {
	m := merger{entries: map[string]*entryState{}}
	first := ""
	n := 0
	for i, raw := range elements(versions) {
		o := members(raw)
		if !isSecret(o) {
			return part{}, docError(doc, ErrInvalidDocument, "element %d is not a version of a Key Vault secret", i)
		}
		q, name, version, err := parseSecret(doc, o, fmt.Sprintf("element %d", i))
		if err != nil {
			return part{}, err
		}
		if n == 0 {
			first = name
		} else if name != first {
			return part{}, docError(doc, ErrInvalidDocument, "holds the secrets %s and %s; give the versions of one secret (az keyvault secret list-versions)",
				quote.Input(first), quote.Input(name))
		}
		n++
		if err := m.add(fmt.Sprintf("%s (version %s)", doc, version), q); err != nil {
			return part{}, err
		}
	}
	if n == 0 {
		return part{}, docError(doc, ErrInvalidDocument, "lists no secret versions")
	}
	p := part{key: m.key, hasKey: m.hasKey}
	for _, s := range m.entries {
		p.entries = append(p.entries, Entry{Name: s.e.Name, IV: s.e.IV, Size: -1})
	}
	slices.SortFunc(p.entries, func(a, b Entry) int { return strings.Compare(a.Name, b.Name) })
	return p, nil
}
