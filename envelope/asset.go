package envelope

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/internal/quote"
)

// AssetOptions is the Options of an Asset: how its files are encrypted. It
// is one value, not a combination.
type AssetOptions int

// The AssetCreationOptions values.
const (
	// AssetNone: files are stored in the clear.
	AssetNone AssetOptions = 0
	// AssetStorageEncrypted: files are stored under storage encryption.
	AssetStorageEncrypted AssetOptions = 1
	// AssetCommonEncryptionProtected: files come protected with common
	// encryption (e.g. PlayReady).
	AssetCommonEncryptionProtected AssetOptions = 2
	// AssetEnvelopeEncryptionProtected: files are HLS encrypted with AES.
	AssetEnvelopeEncryptionProtected AssetOptions = 4
)

// String returns the option's REST name.
func (o AssetOptions) String() string {
	switch o {
	case AssetNone:
		return "None"
	case AssetStorageEncrypted:
		return "StorageEncrypted"
	case AssetCommonEncryptionProtected:
		return "CommonEncryptionProtected"
	case AssetEnvelopeEncryptionProtected:
		return "EnvelopeEncryptionProtected"
	}
	return "AssetOptions(" + strconv.Itoa(int(o)) + ")"
}

// Valid reports whether o is one of the four options (not a combination).
func (o AssetOptions) Valid() bool {
	return o == AssetNone || o == AssetStorageEncrypted || o == AssetCommonEncryptionProtected || o == AssetEnvelopeEncryptionProtected
}

// Asset is the body of POST /Assets: {"Name":"…","Options":1}, with Options
// left out when it is AssetNone (the service's default), as the document's
// first example does.
type Asset struct {
	// Name is the asset's display name.
	Name string
	// Options is AssetStorageEncrypted for storage encryption.
	Options AssetOptions `json:",omitempty"`
}

// Request returns POST /Assets with a as its body.
func (a *Asset) Request() (Request, error) {
	if !a.Options.Valid() {
		return Request{}, fmt.Errorf("%w: Asset field Options: %s is not one of 0, 1, 2, 4", errRequest, a.Options)
	}
	return Request{Method: MethodPost, Path: "/Assets", Body: a}, nil
}

// FileCreate is the body of POST /Files, which creates the AssetFile entity
// before its blob is uploaded:
//
//	{"IsEncrypted":false,"IsPrimary":false,"MimeType":"video/mp4","Name":"…","ParentAssetId":"nb:cid:UUID:…"}
//
// The booleans are JSON booleans (the document sends "false" strings). The
// encryption fields follow in the MERGE after the upload (AssetFile).
type FileCreate struct {
	// IsEncrypted is set by the MERGE after the upload; false here, as in
	// the document.
	IsEncrypted bool
	// IsPrimary marks the primary file of a multi-file asset.
	IsPrimary bool
	// MimeType is optional.
	MimeType string `json:",omitempty"`
	// Name is the blob's name; it must pass ValidateFileName.
	Name string
	// ParentAssetID is the asset (nb:cid:) the file belongs to.
	ParentAssetID EntityID `json:"ParentAssetId"`
}

// Request returns POST /Files with c as its body, after checking the name
// and that ParentAssetID is an asset (nb:cid:) id.
func (c *FileCreate) Request() (Request, error) {
	if err := ValidateFileName(c.Name); err != nil {
		return Request{}, err
	}
	if err := c.ParentAssetID.check(KindContent); err != nil {
		return Request{}, fmt.Errorf("%w: FileCreate field ParentAssetId: %w", errRequest, err)
	}
	return Request{Method: MethodPost, Path: "/Files", Body: c}, nil
}

// ContentKeyLink is the body of POST /Assets('<id>')/$links/ContentKeys:
// {"uri":"<API base>/ContentKeys('nb%3Akid%3AUUID%3A…')"}.
type ContentKeyLink struct {
	// URI is the content key's absolute OData URI.
	URI string `json:"uri"`
}

// LinkContentKey returns the request that links content key key to asset:
// POST /Assets('<asset>')/$links/ContentKeys with the key's absolute URI,
// which is why the API base URI (after any 301 redirect, e.g.
// "https://wamsbayclus001rest-hs.cloudapp.net/api/") is needed. The key id is
// escaped with %3A for its colons exactly as the document writes it.
func LinkContentKey(apiBase string, asset EntityID, key contentkey.ID) (Request, error) {
	u, err := url.Parse(apiBase)
	if err != nil || u.Scheme == "" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return Request{}, fmt.Errorf("%w: API base URI %s is not an absolute URI without query", errRequest, quote.Input(apiBase))
	}
	if err := asset.check(KindContent); err != nil {
		return Request{}, fmt.Errorf("%w: asset: %w", errRequest, err)
	}
	uri := strings.TrimRight(apiBase, "/") + "/ContentKeys" + pathKey(key.String())
	return Request{
		Method: MethodPost,
		Path:   "/Assets" + asset.PathKey() + "/$links/ContentKeys",
		Body:   &ContentKeyLink{URI: uri},
	}, nil
}
