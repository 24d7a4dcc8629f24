// Package keyfile reads and writes content key files, the JSON document
// {"Id":"nb:kid:UUID:…","ContentKeyType":1,"Key":"<base64>"} that holds a
// clear content key and its id. It is kept apart from contentkey so that the
// key primitive stays free of file-system code: writing a secret to disk
// (mode 0600, never over an existing file, whole or not at all) is a policy
// of its own.
package keyfile

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"

	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/internal/atomicfile"
	"github.com/amscrypt/amscrypt/internal/jsonstrict"
	"github.com/amscrypt/amscrypt/internal/smallfile"
)

// ErrInvalid is wrapped by every error about a key file's contents.
var ErrInvalid = errors.New("keyfile: invalid key file")

// keyFile is the key file's JSON form:
//
//	{"Id":"nb:kid:UUID:…","ContentKeyType":1,"Key":"<base64>"}
type keyFile struct {
	ID             *string `json:"Id"`
	ContentKeyType *int    `json:"ContentKeyType"`
	Key            *string `json:"Key"`
}

// Encode returns the key file JSON for k and id, ending in a newline. The
// zero Key is refused with an error matching both ErrInvalid and
// contentkey.ErrInvalidKey.
// The result holds the clear key: write it only with Write or to a
// destination as private as that.
func Encode(k contentkey.Key, id contentkey.ID) ([]byte, error) {
	if k.IsZero() {
		return nil, fmt.Errorf("%w: the zero Key: %w", ErrInvalid, contentkey.ErrInvalidKey)
	}
	raw := k.Bytes()
	defer clear(raw)
	s, t, b := id.String(), int(k.Type()), base64.StdEncoding.EncodeToString(raw)
	out, err := json.Marshal(keyFile{ID: &s, ContentKeyType: &t, Key: &b})
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// Decode parses a key file. Every field is required, once: a member that
// appears twice (in any case, as encoding/json matches them) is refused with
// an error that also matches jsonstrict.ErrDuplicate, rather than read as
// its last value. The key must have the length its ContentKeyType requires.
// Errors name the field, never the key.
func Decode(data []byte) (contentkey.Key, contentkey.ID, error) {
	var f keyFile
	if err := jsonstrict.Decode(data, &f); err != nil {
		// jsonstrict's messages name offsets, members and kinds, never
		// the document's bytes.
		return contentkey.Key{}, contentkey.ID{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	switch {
	case f.ID == nil:
		return contentkey.Key{}, contentkey.ID{}, fmt.Errorf("%w: field Id is missing", ErrInvalid)
	case f.ContentKeyType == nil:
		return contentkey.Key{}, contentkey.ID{}, fmt.Errorf("%w: field ContentKeyType is missing", ErrInvalid)
	case f.Key == nil:
		return contentkey.Key{}, contentkey.ID{}, fmt.Errorf("%w: field Key is missing", ErrInvalid)
	}
	id, err := contentkey.ParseID(*f.ID)
	if err != nil {
		return contentkey.Key{}, contentkey.ID{}, fmt.Errorf("%w: field Id: %w", ErrInvalid, err)
	}
	raw, err := base64.StdEncoding.DecodeString(*f.Key)
	if err != nil {
		return contentkey.Key{}, contentkey.ID{}, fmt.Errorf("%w: field Key is not valid base64", ErrInvalid)
	}
	k, err := contentkey.FromBytes(contentkey.Type(*f.ContentKeyType), raw)
	clear(raw)
	if err != nil {
		return contentkey.Key{}, contentkey.ID{}, fmt.Errorf("%w: field Key: %w", ErrInvalid, err)
	}
	return k, id, nil
}

// Read reads and decodes the key file at path.
func Read(path string) (contentkey.Key, contentkey.ID, error) {
	data, err := smallfile.Read(path)
	if err != nil {
		return contentkey.Key{}, contentkey.ID{}, err
	}
	defer clear(data)
	k, id, err := Decode(data)
	if err != nil {
		return contentkey.Key{}, contentkey.ID{}, fmt.Errorf("%s: %w", path, err)
	}
	return k, id, nil
}

// ReadAny reads the key at path as it may be given where only the key is
// needed: a key file, which holds its id too (hasID), or the key alone, 16
// or 32 raw bytes or their base64 (contentkey.FromRaw and FromBase64). A
// file that starts like JSON must be a valid key file.
func ReadAny(path string) (k contentkey.Key, id contentkey.ID, hasID bool, err error) {
	data, err := smallfile.Read(path)
	if err != nil {
		return k, id, false, err
	}
	defer clear(data)
	text := bytes.TrimSpace(data)
	n := len(data)
	raw := n == contentkey.AES128KeySize || n == contentkey.StorageKeySize
	switch {
	// A raw key starts with '{' (or with white space and then '{') about
	// once in 250 keys, so at a raw key's size only valid JSON is JSON.
	case len(text) > 0 && text[0] == '{' && (!raw || json.Valid(data)):
		k, id, err = Decode(data)
		hasID = err == nil
	case raw:
		k, err = contentkey.FromRaw(data)
	default:
		raw, berr := base64.StdEncoding.DecodeString(string(text))
		defer clear(raw)
		if berr != nil {
			return k, id, false, fmt.Errorf("%s: holds neither a key file, nor a 16- or 32-byte raw key, nor a key in base64 (%d bytes)", path, n)
		}
		k, err = contentkey.FromRaw(raw)
	}
	if err != nil {
		return contentkey.Key{}, contentkey.ID{}, false, fmt.Errorf("%s: %w", path, err)
	}
	return k, id, hasID, nil
}

// Write writes the key file for k and id to path with mode 0600. It
// never replaces an existing file: if path exists it fails with an error that
// matches fs.ErrExist and leaves the file as it was. The file appears whole
// or not at all (it is written to a temporary name and linked into place).
func Write(path string, k contentkey.Key, id contentkey.ID) error {
	data, err := Encode(k, id)
	if err != nil {
		return err
	}
	defer clear(data)
	if err := atomicfile.WritePrivate(path, data); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s: refusing to overwrite an existing key file: %w", path, fs.ErrExist)
		}
		return err
	}
	return nil
}
