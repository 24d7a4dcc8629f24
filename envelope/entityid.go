package envelope

import (
	"strings"

	"github.com/google/uuid"

	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/internal/parse"
	"github.com/amscrypt/amscrypt/internal/quote"
)

// Kind is the typed prefix of a Media Services entity id: the "cid" of
// "nb:cid:UUID:<guid>".
type Kind string

// The entity id kinds of the upload and bulk-ingest flows.
const (
	// KindContent ("nb:cid:UUID:") identifies assets and asset files.
	KindContent Kind = "cid"
	// KindKey ("nb:kid:UUID:") identifies content keys; see contentkey.ID.
	KindKey Kind = "kid"
	// KindAccessPolicy ("nb:pid:UUID:") identifies access policies.
	KindAccessPolicy Kind = "pid"
	// KindLocator ("nb:lid:UUID:") identifies locators.
	KindLocator Kind = "lid"
	// KindManifest ("nb:mid:UUID:") identifies ingest manifests.
	KindManifest Kind = "mid"
	// KindManifestAsset ("nb:maid:UUID:") identifies ingest manifest assets.
	KindManifestAsset Kind = "maid"
	// KindManifestFile ("nb:mfid:UUID:") identifies ingest manifest files.
	KindManifestFile Kind = "mfid"
)

var kinds = []Kind{KindContent, KindKey, KindAccessPolicy, KindLocator, KindManifest, KindManifestAsset, KindManifestFile}

// Valid reports whether k is one of the kinds this package knows.
func (k Kind) Valid() bool {
	for _, v := range kinds {
		if k == v {
			return true
		}
	}
	return false
}

// Prefix returns the wire prefix of ids of kind k, e.g. "nb:cid:UUID:".
func (k Kind) Prefix() string { return "nb:" + string(k) + ":UUID:" }

// EntityID is a Media Services entity id such as
// "nb:cid:UUID:9bc8ff20-24fb-4fdb-9d7c-b04c7ee573a1": a kind and a GUID.
// The zero EntityID is "no id"; it cannot be marshaled.
type EntityID struct {
	kind Kind
	guid uuid.UUID
}

// NewEntityID returns the id of kind k for the GUID guid (RFC 4122 byte order).
func NewEntityID(k Kind, guid [16]byte) (EntityID, error) {
	if !k.Valid() {
		return EntityID{}, withPrefix(idErrorf("invalid entity id: unknown kind %q", string(k)))
	}
	return EntityID{kind: k, guid: guid}, nil
}

// KeyEntityID returns the content key id as an EntityID of kind KindKey.
func KeyEntityID(id contentkey.ID) EntityID { return EntityID{kind: KindKey, guid: uuid.UUID(id)} }

// ParseEntityID parses "nb:<kind>:UUID:<guid>" for any known kind. The prefix
// is matched case-insensitively and the GUID may be in either case, but it
// must be the 36-character 8-4-4-4-12 form. A bare GUID is refused: without
// the prefix the kind is unknown. Errors match ErrInvalid.
func ParseEntityID(s string) (EntityID, error) {
	id, err := parseEntityID(s)
	if err != nil {
		return EntityID{}, withPrefix(err)
	}
	return id, nil
}

// ParseEntityIDOf parses s like ParseEntityID and also requires kind want.
func ParseEntityIDOf(want Kind, s string) (EntityID, error) {
	id, err := parseEntityIDOf(want, s)
	if err != nil {
		return EntityID{}, withPrefix(err)
	}
	return id, nil
}

// parseEntityID is ParseEntityID with an error for nesting (an idError).
func parseEntityID(s string) (EntityID, error) {
	rest, ok := cutFold(s, "nb:")
	if !ok {
		return EntityID{}, idErrorf("invalid entity id %s: does not start with \"nb:\"", quote.Input(s))
	}
	k, guid, ok := strings.Cut(rest, ":")
	if !ok {
		return EntityID{}, idErrorf("invalid entity id %s: no kind", quote.Input(s))
	}
	kind := Kind(strings.ToLower(k))
	if !kind.Valid() {
		return EntityID{}, idErrorf("invalid entity id %s: unknown kind %s", quote.Input(s), quote.Input(k))
	}
	guid, ok = cutFold(guid, "UUID:")
	if !ok {
		return EntityID{}, idErrorf("invalid entity id %s: want \"UUID:\" after the kind", quote.Input(s))
	}
	u, err := parse.GUID(s, len(s)-len(guid))
	if err != nil {
		return EntityID{}, idErrorf("invalid entity id %s: %v", quote.Input(s), err)
	}
	return EntityID{kind: kind, guid: uuid.UUID(u)}, nil
}

// parseEntityIDOf is ParseEntityIDOf with an error for nesting (an idError).
func parseEntityIDOf(want Kind, s string) (EntityID, error) {
	id, err := parseEntityID(s)
	if err != nil {
		return EntityID{}, err
	}
	if err := id.check(want); err != nil {
		return EntityID{}, err
	}
	return id, nil
}

func cutFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// check returns an idError unless id is a non-zero id of kind want.
func (id EntityID) check(want Kind) error {
	if id.IsZero() {
		return idErrorf("invalid entity id: missing (want an %s id)", want.Prefix())
	}
	if id.kind != want {
		return idErrorf("invalid entity id %s: want an %s id", id, want.Prefix())
	}
	return nil
}

// Kind returns the id's kind, or "" for the zero EntityID.
func (id EntityID) Kind() Kind { return id.kind }

// GUID returns the id's GUID in RFC 4122 byte order.
func (id EntityID) GUID() [16]byte { return id.guid }

// IsZero reports whether id is the zero EntityID.
func (id EntityID) IsZero() bool { return id.kind == "" }

// KeyID returns the id as a contentkey.ID; it fails unless the kind is KindKey.
func (id EntityID) KeyID() (contentkey.ID, error) {
	if err := id.check(KindKey); err != nil {
		return contentkey.ID{}, withPrefix(err)
	}
	return contentkey.ID(id.guid), nil
}

// String returns the canonical form "nb:<kind>:UUID:<lowercase guid>", or ""
// for the zero EntityID.
func (id EntityID) String() string {
	if id.IsZero() {
		return ""
	}
	return id.kind.Prefix() + id.guid.String()
}

// PathKey returns the id as an OData key segment, quoted and with its colons
// escaped as the service's own Location headers write it:
// ('nb%3Acid%3AUUID%3A9bc8ff20-…').
func (id EntityID) PathKey() string { return pathKey(id.String()) }

func pathKey(s string) string {
	// The canonical id holds only [a-z0-9:-], so ':' is the one character to
	// escape; url.PathEscape would leave it alone.
	return "('" + strings.ReplaceAll(s, ":", "%3A") + "')"
}

// MarshalText returns the canonical form. The zero EntityID is an error, so
// that a required id that was never set cannot be sent as "".
func (id EntityID) MarshalText() ([]byte, error) {
	if id.IsZero() {
		return nil, withPrefix(idErrorf("invalid entity id: the zero EntityID"))
	}
	return []byte(id.String()), nil
}

// UnmarshalText parses any form ParseEntityID accepts.
func (id *EntityID) UnmarshalText(b []byte) error {
	v, err := ParseEntityID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}
