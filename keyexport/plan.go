package keyexport

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/internal/reason"
	"github.com/amscrypt/amscrypt/internal/smallfile"
)

// Errors of NewPlan. Errors about one document also name it, and wrap
// ErrInvalidDocument unless they match one of the more specific sentinels.
var (
	// ErrInvalidDocument is matched by every error about a document that
	// cannot be used as it is: not a key export this package recognises
	// (or one named for what it is instead), a recognised one whose
	// contents are wrong (a bad IV, key, name or field), an unsafe file
	// name, a decryption manifest of another version.
	ErrInvalidDocument = errors.New("keyexport: invalid document")
	// ErrNeedPrivateKey is returned for a ContentKey entity when Options has
	// no private key to unwrap it with.
	ErrNeedPrivateKey = errors.New("keyexport: a ContentKey entity needs the protection certificate's private key")
	// ErrNotEncrypted is returned for an AssetFile whose IsEncrypted is not
	// true: its blob is not storage-encrypted and must not be decrypted.
	ErrNotEncrypted = errors.New("keyexport: file is not storage-encrypted")
	// ErrConflict is matched by every *ConflictError.
	ErrConflict = errors.New("keyexport: documents disagree")
	// ErrIncomplete is matched when the documents together lack what a
	// plan needs: no document holds the content key, or none names a file
	// (and by Manifest for a plan without a key).
	ErrIncomplete = errors.New("keyexport: the documents do not make a whole plan")
)

// The errors a caller acts on as one, each with its own text.
var (
	errUnknownDocument = reason.New("keyexport: not a key export this program recognises", ErrInvalidDocument)
	errUnsafeName      = reason.New("keyexport: unsafe file name", ErrInvalidDocument)
	errManifestVersion = reason.New("keyexport: unsupported decryption manifest version", ErrInvalidDocument)
	errNoKey           = reason.New("keyexport: no document holds the content key", ErrIncomplete)
	errNoEntries       = reason.New("keyexport: no document names any file", ErrIncomplete)
	errNoKeyToWrite    = reason.New("keyexport: a manifest needs the plan's StorageEncryption key", ErrIncomplete)
)

// Entry is one file of the asset, or one live-archive track.
type Entry struct {
	// Name is the relative, '/'-separated name; for a live-archive track,
	// the track prefix ("video") that its fragblobs share.
	Name string
	// IV is the file's (or the whole track's) initialization vector.
	IV contentkey.IV
	// Size is the plaintext length in bytes; -1 when no document gave it.
	Size int64
	// MimeType is "" when unknown.
	MimeType string
	// Sources names the documents that described this entry, for messages.
	Sources []string
}

// Plan is everything needed to decrypt one asset. It holds the clear key;
// it never prints it (see Format).
type Plan struct {
	// Key is the asset's StorageEncryption content key.
	Key contentkey.Key
	// KeyID is the content key's id, meaningful when HasKeyID.
	KeyID contentkey.ID
	// HasKeyID reports whether some document gave the key id.
	HasKeyID bool
	// Entries are sorted by Name; names are unique.
	Entries []Entry
	// AssetID is the asset the exports say they belong to, as a v2 asset
	// id "nb:cid:UUID:<lowercase guid>" (its blobs are in the container
	// "asset-<guid>"), or "" when none says. It comes from a v2 AssetFile's
	// ParentAssetId or a manifest's assetId, which must agree, or else
	// from the name of a Key Vault secret with file tags that is a GUID
	// (MediaMigrate names secrets ${AssetId} by default): a hint, which
	// loses to the others and never conflicts.
	AssetID string
	// AssetIDSource says where AssetID was read, for messages:
	// `ParentAssetId in "files.json"`.
	AssetIDSource string
}

// Document is one key export as read from a file. Name (usually its path)
// is used in errors and Entry.Sources.
type Document struct {
	Name string
	Data []byte
}

// Options configures NewPlan.
type Options struct {
	// PrivateKey opens ContentKey entities: the private key of the
	// protection certificate their EncryptedContentKey is wrapped to.
	PrivateKey *rsa.PrivateKey
}

// ConflictError reports two documents that give different values for the
// same thing. For the key it holds no values: key bytes never appear in an
// error.
type ConflictError struct {
	// Field is what differs: "key", "key id", "IV", "size", "MIME type"
	// or "asset id".
	Field string
	// Entry is the file name the field belongs to, or where the key id
	// was read; "" for the key.
	Entry string
	// First and Second are the names of the two documents.
	First, Second string
	// FirstValue and SecondValue are the two values, "" for the key.
	FirstValue, SecondValue string
}

// Error describes the conflict, naming both documents.
func (e *ConflictError) Error() string {
	if e.Field == "key" {
		return fmt.Sprintf("keyexport: %q and %q hold different keys", e.First, e.Second)
	}
	where := ""
	switch {
	case e.Field == "key id" && e.Entry != "":
		where = fmt.Sprintf(" (at file %q)", e.Entry)
	case e.Entry != "":
		where = fmt.Sprintf(" of %q", e.Entry)
	}
	return fmt.Sprintf("keyexport: %q and %q disagree on the %s%s: %q vs %q",
		e.First, e.Second, e.Field, where, e.FirstValue, e.SecondValue)
}

// Is makes every ConflictError match ErrConflict.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// ReadPlan reads the key exports at paths (files of at most
// MaxDocumentSize) and merges them with NewPlan. The bytes read are
// cleared before it returns: a key export may hold the clear key.
func ReadPlan(paths []string, opts *Options) (*Plan, error) {
	docs := make([]Document, 0, len(paths))
	defer func() {
		for _, d := range docs {
			clear(d.Data)
		}
	}()
	for _, p := range paths {
		data, err := smallfile.ReadAtMost(p, MaxDocumentSize, "a key export is never that large (256 MiB)")
		if err != nil {
			return nil, err
		}
		docs = append(docs, Document{Name: p, Data: data})
	}
	return NewPlan(docs, opts)
}

// NewPlan reads every document, recognising each by its content, and merges
// them into one plan. All key-bearing documents must hold the same key, all
// key ids must agree, and a field of an entry that two documents give must
// be the same in both; otherwise the error is a *ConflictError.
func NewPlan(docs []Document, opts *Options) (*Plan, error) {
	if opts == nil {
		opts = &Options{}
	}
	m := merger{entries: map[string]*entryState{}}
	for _, d := range docs {
		p, err := parseDocument(d, opts)
		if err != nil {
			return nil, err
		}
		if err := m.add(d.Name, p); err != nil {
			return nil, err
		}
	}
	if !m.hasKey {
		return nil, errNoKey
	}
	if len(m.entries) == 0 {
		return nil, errNoEntries
	}
	plan := &Plan{Key: m.key, KeyID: m.keyID, HasKeyID: m.hasKeyID, AssetID: m.assetID}
	if m.assetID != "" {
		plan.AssetIDSource = fmt.Sprintf("%s in %q", m.assetIDFrom, m.assetIDDoc)
	}
	plan.Entries = make([]Entry, 0, len(m.entries))
	for _, s := range m.entries {
		plan.Entries = append(plan.Entries, s.e)
	}
	slices.SortFunc(plan.Entries, func(a, b Entry) int { return strings.Compare(a.Name, b.Name) })
	return plan, nil
}

// part is what one document contributes.
type part struct {
	key     contentkey.Key
	hasKey  bool
	keyIDs  []sightedID
	entries []Entry // Sources unset; Size -1 when not given
	// assetID is the asset id the document names, "" for none; weak for a
	// Key Vault secret's name, which is only a hint.
	assetID, assetIDFrom string
	assetIDWeak          bool
}

// sightedID is a key id and the file it was read from ("" for a document-wide id).
type sightedID struct {
	id   contentkey.ID
	file string
}

type entryState struct {
	e              Entry
	ivSrc, sizeSrc string
	mimeSrc        string
}

type merger struct {
	key      contentkey.Key
	keySrc   string
	hasKey   bool
	keyID    contentkey.ID
	keyIDSrc string
	hasKeyID bool
	entries  map[string]*entryState

	assetID, assetIDDoc, assetIDFrom string
	assetIDWeak                      bool
}

func (m *merger) add(doc string, p part) error {
	if p.hasKey {
		if !m.hasKey {
			m.key, m.keySrc, m.hasKey = p.key, doc, true
		} else if !m.key.Equal(p.key) {
			return &ConflictError{Field: "key", First: m.keySrc, Second: doc}
		}
	}
	for _, s := range p.keyIDs {
		if !m.hasKeyID {
			m.keyID, m.keyIDSrc, m.hasKeyID = s.id, doc, true
		} else if m.keyID != s.id {
			return &ConflictError{Field: "key id", Entry: s.file, First: m.keyIDSrc, Second: doc,
				FirstValue: m.keyID.String(), SecondValue: s.id.String()}
		}
	}
	if err := m.addAssetID(doc, p); err != nil {
		return err
	}
	for _, e := range p.entries {
		s, ok := m.entries[e.Name]
		if !ok {
			s = &entryState{e: Entry{Name: e.Name, IV: e.IV, Size: -1}, ivSrc: doc}
			m.entries[e.Name] = s
		} else if s.e.IV != e.IV {
			return &ConflictError{Field: "IV", Entry: e.Name, First: s.ivSrc, Second: doc,
				FirstValue: s.e.IV.String(), SecondValue: e.IV.String()}
		}
		if e.Size >= 0 {
			if s.e.Size < 0 {
				s.e.Size, s.sizeSrc = e.Size, doc
			} else if s.e.Size != e.Size {
				return &ConflictError{Field: "size", Entry: e.Name, First: s.sizeSrc, Second: doc,
					FirstValue: fmt.Sprint(s.e.Size), SecondValue: fmt.Sprint(e.Size)}
			}
		}
		if e.MimeType != "" {
			if s.e.MimeType == "" {
				s.e.MimeType, s.mimeSrc = e.MimeType, doc
			} else if s.e.MimeType != e.MimeType {
				return &ConflictError{Field: "MIME type", Entry: e.Name, First: s.mimeSrc, Second: doc,
					FirstValue: s.e.MimeType, SecondValue: e.MimeType}
			}
		}
		if !slices.Contains(s.e.Sources, doc) {
			s.e.Sources = append(s.e.Sources, doc)
		}
	}
	return nil
}

// addAssetID merges the asset id of a document: ids from ParentAssetId or a
// manifest must agree; a weak one (a Key Vault secret's name) is kept only
// while no other is known.
func (m *merger) addAssetID(doc string, p part) error {
	switch {
	case p.assetID == "" || (p.assetIDWeak && m.assetID != ""):
		return nil
	case m.assetID == "" || m.assetIDWeak:
		m.assetID, m.assetIDDoc, m.assetIDFrom, m.assetIDWeak = p.assetID, doc, p.assetIDFrom, p.assetIDWeak
	case m.assetID != p.assetID:
		return &ConflictError{Field: "asset id", First: m.assetIDDoc, Second: doc, FirstValue: m.assetID, SecondValue: p.assetID}
	}
	return nil
}

// String describes the plan without its key bytes.
func (p Plan) String() string {
	id := "no key id"
	if p.HasKeyID {
		id = "key id " + p.KeyID.String()
	}
	return fmt.Sprintf("keyexport.Plan{%s, %s, %d entries}", p.Key.String(), id, len(p.Entries))
}

// GoString is String, so that %#v shows no key bytes either.
func (p Plan) GoString() string { return p.String() }

// Format makes every fmt verb print String: a Plan holds the clear key.
func (p Plan) Format(f fmt.State, _ rune) { io.WriteString(f, p.String()) }
