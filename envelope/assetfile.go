package envelope

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/internal/quote"
)

// The encryption fields of a storage-encrypted file.
const (
	// EncryptionScheme is the AssetFile EncryptionScheme of storage encryption.
	EncryptionScheme = "StorageEncryption"
	// EncryptionVersion is the only storage encryption version.
	EncryptionVersion = "1.0"
)

// AssetFile is an AssetFile entity as the MERGE /Files('<id>') that follows
// an upload sends it, and as the service returns it. Its JSON, as the CLIs
// print it, is (fields in alphabetical order, as the .NET SDK and the
// upload document write them):
//
//	{"ContentFileSize":"1186540","EncryptionKeyId":"nb:kid:UUID:…",
//	 "EncryptionScheme":"StorageEncryption","EncryptionVersion":"1.0",
//	 "InitializationVector":"397304628502661816","IsEncrypted":true,
//	 "Name":"BigBuckBunny.mp4"}
//
// IsEncrypted is a JSON boolean, as OData JSON writes Edm.Boolean and the
// .NET SDK sent it; the document's "true" string is read but not written.
// ContentFileSize is a decimal string because OData JSON writes Edm.Int64
// that way; InitializationVector is a decimal string because the entity
// declares it Edm.String. Id, ParentAssetId, MimeType and IsPrimary are left
// out when unset (zero, empty, false).
//
// The encryption fields are set only by NewAssetFile or ParseAssetFile, so
// that an encrypted AssetFile always carries a key id and an IV.
type AssetFile struct {
	// ID is the file's own id (nb:cid:), optional in a MERGE body.
	ID EntityID
	// ParentAssetID is the id (nb:cid:) of the asset holding the file, optional.
	ParentAssetID EntityID
	// MimeType is the optional MIME type, e.g. "video/mp4".
	MimeType string
	// IsPrimary marks the primary file of a multi-file asset.
	IsPrimary bool

	name      string
	size      int64
	encrypted bool
	keyID     contentkey.ID
	iv        contentkey.IV
}

// NewAssetFile returns the AssetFile of a storage-encrypted file: name is
// the blob's name (checked with ValidateFileName), size its plaintext length
// (equal to the ciphertext length under CTR), keyID the content key's id and
// iv the file's IV.
func NewAssetFile(name string, size int64, keyID contentkey.ID, iv contentkey.IV) (*AssetFile, error) {
	if err := ValidateFileName(name); err != nil {
		return nil, err
	}
	if size < 0 {
		return nil, fmt.Errorf("%w: negative ContentFileSize %d", errAssetFile, size)
	}
	return &AssetFile{name: name, size: size, encrypted: true, keyID: keyID, iv: iv}, nil
}

// Name returns the file (blob) name.
func (f *AssetFile) Name() string { return f.name }

// Size returns ContentFileSize: the plaintext length in bytes.
func (f *AssetFile) Size() int64 { return f.size }

// Encrypted reports IsEncrypted. When it is true the scheme is storage
// encryption version 1.0 and KeyID and IV are meaningful.
func (f *AssetFile) Encrypted() bool { return f.encrypted }

// KeyID returns EncryptionKeyId, the id of the content key the file is
// encrypted under; the zero ID when the file is not encrypted.
func (f *AssetFile) KeyID() contentkey.ID { return f.keyID }

// IV returns InitializationVector; 0 when the file is not encrypted.
func (f *AssetFile) IV() contentkey.IV { return f.iv }

type assetFileJSON struct {
	ContentFileSize      string
	EncryptionKeyID      string   `json:"EncryptionKeyId,omitempty"`
	EncryptionScheme     string   `json:",omitempty"`
	EncryptionVersion    string   `json:",omitempty"`
	ID                   EntityID `json:"Id,omitzero"`
	InitializationVector string   `json:",omitempty"`
	IsEncrypted          bool
	IsPrimary            bool   `json:",omitempty"`
	MimeType             string `json:",omitempty"`
	Name                 string
	ParentAssetID        EntityID `json:"ParentAssetId,omitzero"`
}

// MarshalJSON writes the MERGE body described on AssetFile. It fails for an
// AssetFile with no name (the zero value) or ids of the wrong kind.
func (f AssetFile) MarshalJSON() ([]byte, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	w := assetFileJSON{
		ContentFileSize: strconv.FormatInt(f.size, 10),
		ID:              f.ID,
		IsEncrypted:     f.encrypted,
		IsPrimary:       f.IsPrimary,
		MimeType:        f.MimeType,
		Name:            f.name,
		ParentAssetID:   f.ParentAssetID,
	}
	if f.encrypted {
		w.EncryptionKeyID = f.keyID.String()
		w.EncryptionScheme = EncryptionScheme
		w.EncryptionVersion = EncryptionVersion
		w.InitializationVector = f.iv.String()
	}
	return json.Marshal(w)
}

// check is the validation every AssetFile passes before it is written.
func (f *AssetFile) check() error {
	if f.name == "" {
		return fmt.Errorf("%w: field Name is empty", errAssetFile)
	}
	if f.size < 0 {
		return fmt.Errorf("%w: negative ContentFileSize %d", errAssetFile, f.size)
	}
	if hasControl(f.MimeType) {
		return fmt.Errorf("%w: field MimeType %s holds a control character", errAssetFile, quote.Input(f.MimeType))
	}
	if !f.ID.IsZero() {
		if err := f.ID.check(KindContent); err != nil {
			return fmt.Errorf("%w: field Id: %w", errAssetFile, err)
		}
	}
	if !f.ParentAssetID.IsZero() {
		if err := f.ParentAssetID.check(KindContent); err != nil {
			return fmt.Errorf("%w: field ParentAssetId: %w", errAssetFile, err)
		}
	}
	return nil
}

// MergeRequest returns MERGE /Files('<fileID>') with f as its body: the
// update that records a file's size and encryption fields after its upload.
// The name must pass ValidateFileName; if f.ID is set it must be fileID.
func (f *AssetFile) MergeRequest(fileID EntityID) (Request, error) {
	if err := fileID.check(KindContent); err != nil {
		return Request{}, fmt.Errorf("%w: file id: %w", errAssetFile, err)
	}
	if !f.ID.IsZero() && f.ID != fileID {
		return Request{}, fmt.Errorf("%w: field Id %s is not the file %s being updated", errAssetFile, f.ID, fileID)
	}
	if err := ValidateFileName(f.name); err != nil {
		return Request{}, err
	}
	if err := f.check(); err != nil {
		return Request{}, err
	}
	return Request{Method: MethodMerge, Path: "/Files" + fileID.PathKey(), Body: f}, nil
}

// ParseAssetFile reads an AssetFile entity as the service returns it or as
// MarshalJSON writes it: OData JSON light or verbose ({"d": {…}}), booleans
// and integers as JSON values or strings, null for absent fields, unknown
// fields ignored. Name and ContentFileSize are required. When IsEncrypted is
// true the file must say EncryptionScheme "StorageEncryption" and
// EncryptionVersion "1.0" and carry a valid EncryptionKeyId and a strictly
// decimal InitializationVector; when it is false or absent none of those may
// be set. The name is not held to ValidateFileName: files the service already
// stores are read as they are. Errors match ErrInvalid and name the
// field.
func ParseAssetFile(data []byte) (*AssetFile, error) {
	o, err := decodeObject(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errAssetFile, err)
	}
	f, err := assetFileFields(o)
	if err == nil {
		err = f.readEncryption(o)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errAssetFile, err)
	}
	return f, nil
}

// assetFileFields reads the fields of every AssetFile, encrypted or not.
func assetFileFields(o object) (*AssetFile, error) {
	var f AssetFile
	var err error
	if f.name, err = o.requiredStr("Name"); err != nil {
		return nil, err
	}
	if f.name == "" {
		return nil, errors.New("field Name is empty")
	}
	size, ok, err := o.uint("ContentFileSize", math.MaxInt64)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errors.New("field ContentFileSize is missing")
	}
	f.size = int64(size)
	if f.ID, err = entityField(o, "Id", KindContent); err != nil {
		return nil, err
	}
	if f.ParentAssetID, err = entityField(o, "ParentAssetId", KindContent); err != nil {
		return nil, err
	}
	if f.MimeType, _, err = o.str("MimeType"); err != nil {
		return nil, err
	}
	if f.IsPrimary, _, err = o.boolean("IsPrimary"); err != nil {
		return nil, err
	}
	return &f, nil
}

// readEncryption reads IsEncrypted and the four encryption fields: all of
// them must be set, to storage encryption 1.0, when it is true, and none
// when it is false or absent.
func (f *AssetFile) readEncryption(o object) error {
	var err error
	if f.encrypted, _, err = o.boolean("IsEncrypted"); err != nil {
		return err
	}
	fields := [4]struct {
		name  string
		value string
		set   bool
	}{{name: "EncryptionScheme"}, {name: "EncryptionVersion"}, {name: "EncryptionKeyId"}, {name: "InitializationVector"}}
	for i := range fields {
		if fields[i].value, fields[i].set, err = o.str(fields[i].name); err != nil {
			return err
		}
	}
	if !f.encrypted {
		// A migration tool would copy such a blob as if it were plaintext.
		for _, p := range fields {
			if p.set {
				return fmt.Errorf("IsEncrypted is false but field %s is set", p.name)
			}
		}
		return nil
	}
	for _, p := range fields {
		if !p.set {
			return fmt.Errorf("IsEncrypted is true but field %s is missing", p.name)
		}
	}
	scheme, version, keyID, iv := fields[0].value, fields[1].value, fields[2].value, fields[3].value
	if scheme != EncryptionScheme {
		return fmt.Errorf("field EncryptionScheme is %s; only %q is supported", quote.Input(scheme), EncryptionScheme)
	}
	if version != EncryptionVersion {
		return fmt.Errorf("field EncryptionVersion is %s; only %q is supported", quote.Input(version), EncryptionVersion)
	}
	if f.keyID, err = contentkey.ParseID(keyID); err != nil {
		return fmt.Errorf("field EncryptionKeyId: %w", err)
	}
	if f.iv, err = contentkey.ParseIV(iv); err != nil {
		return fmt.Errorf("field InitializationVector: %w", err)
	}
	return nil
}

// entityField reads an optional id field that must be of kind want.
func entityField(o object, name string, want Kind) (EntityID, error) {
	s, ok, err := o.str(name)
	if err != nil || !ok {
		return EntityID{}, err
	}
	id, err := parseEntityIDOf(want, s)
	if err != nil {
		return EntityID{}, fmt.Errorf("field %s: %w", name, err)
	}
	return id, nil
}

// IngestManifestFile is the body of POST /IngestManifestFiles: a file of a
// bulk ingest, with the encryption fields of File. The entity has no
// ContentFileSize, so File's size is not sent. Its JSON is
//
//	{"Name":"…","ParentIngestManifestId":"nb:mid:UUID:…",
//	 "ParentIngestManifestAssetId":"nb:maid:UUID:…","IsEncrypted":true,
//	 "EncryptionScheme":"StorageEncryption","EncryptionVersion":"1.0",
//	 "EncryptionKeyId":"nb:kid:UUID:…","InitializationVector":"…"}
//
// followed by MimeType and IsPrimary when set. The upload document's example
// leaves out InitializationVector; without it the service could not decrypt
// the file, and the entity declares the property, so it is sent.
type IngestManifestFile struct {
	// ParentIngestManifestID is the manifest (nb:mid:).
	ParentIngestManifestID EntityID
	// ParentIngestManifestAssetID is the manifest asset (nb:maid:).
	ParentIngestManifestAssetID EntityID
	// File supplies Name, MimeType, IsPrimary and the encryption fields.
	File *AssetFile
}

// NewIngestManifestFile returns the IngestManifestFile for f in the manifest
// asset manifestAsset of manifest, after checking the ids' kinds and f's name.
func NewIngestManifestFile(manifest, manifestAsset EntityID, f *AssetFile) (*IngestManifestFile, error) {
	m := &IngestManifestFile{ParentIngestManifestID: manifest, ParentIngestManifestAssetID: manifestAsset, File: f}
	if err := m.validate(); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *IngestManifestFile) validate() error {
	if err := m.ParentIngestManifestID.check(KindManifest); err != nil {
		return fmt.Errorf("%w: field ParentIngestManifestId: %w", errAssetFile, err)
	}
	if err := m.ParentIngestManifestAssetID.check(KindManifestAsset); err != nil {
		return fmt.Errorf("%w: field ParentIngestManifestAssetId: %w", errAssetFile, err)
	}
	if m.File == nil {
		return fmt.Errorf("%w: no file", errAssetFile)
	}
	return ValidateFileName(m.File.name)
}

type ingestManifestFileJSON struct {
	Name                        string
	ParentIngestManifestID      EntityID `json:"ParentIngestManifestId"`
	ParentIngestManifestAssetID EntityID `json:"ParentIngestManifestAssetId"`
	IsEncrypted                 bool
	EncryptionScheme            string `json:",omitempty"`
	EncryptionVersion           string `json:",omitempty"`
	EncryptionKeyID             string `json:"EncryptionKeyId,omitempty"`
	InitializationVector        string `json:",omitempty"`
	MimeType                    string `json:",omitempty"`
	IsPrimary                   bool   `json:",omitempty"`
}

// MarshalJSON writes the body described on IngestManifestFile.
func (m IngestManifestFile) MarshalJSON() ([]byte, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	f := m.File
	w := ingestManifestFileJSON{
		Name:                        f.name,
		ParentIngestManifestID:      m.ParentIngestManifestID,
		ParentIngestManifestAssetID: m.ParentIngestManifestAssetID,
		IsEncrypted:                 f.encrypted,
		MimeType:                    f.MimeType,
		IsPrimary:                   f.IsPrimary,
	}
	if f.encrypted {
		w.EncryptionScheme = EncryptionScheme
		w.EncryptionVersion = EncryptionVersion
		w.EncryptionKeyID = f.keyID.String()
		w.InitializationVector = f.iv.String()
	}
	return json.Marshal(w)
}

// Request returns POST /IngestManifestFiles with m as its body.
func (m *IngestManifestFile) Request() (Request, error) {
	if err := m.validate(); err != nil {
		return Request{}, err
	}
	return Request{Method: MethodPost, Path: "/IngestManifestFiles", Body: m}, nil
}
