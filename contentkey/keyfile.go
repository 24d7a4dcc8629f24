package contentkey

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/amscrypt/amscrypt/internal/atomicfile"
	"github.com/amscrypt/amscrypt/internal/smallfile"
)

// ErrKeyFile is wrapped by every error about a key file's contents.
var ErrKeyFile = errors.New("contentkey: invalid key file")

// keyFile is the key file's JSON form:
//
//	{"Id":"nb:kid:UUID:…","ContentKeyType":1,"Key":"<base64>"}
type keyFile struct {
	ID             *string `json:"Id"`
	ContentKeyType *int    `json:"ContentKeyType"`
	Key            *string `json:"Key"`
}

// EncodeKeyFile returns the key file JSON for id and k, ending in a newline.
// The result holds the clear key: write it only with WriteKeyFile or to a
// destination as private as that.
func EncodeKeyFile(id ID, k Key) ([]byte, error) {
	if k.IsZero() {
		return nil, fmt.Errorf("%w: the key is the zero Key", ErrKeyFile)
	}
	s, t, b := id.String(), int(k.typ), base64.StdEncoding.EncodeToString(k.raw())
	out, err := json.Marshal(keyFile{ID: &s, ContentKeyType: &t, Key: &b})
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// DecodeKeyFile parses a key file. Every field is required; the key must have
// the length its ContentKeyType requires. Errors name the field, never the key.
func DecodeKeyFile(data []byte) (ID, Key, error) {
	var f keyFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		// json's messages quote offsets and types, not the key's value.
		return ID{}, Key{}, fmt.Errorf("%w: %v", ErrKeyFile, err)
	}
	if dec.More() {
		return ID{}, Key{}, fmt.Errorf("%w: data after the JSON object", ErrKeyFile)
	}
	switch {
	case f.ID == nil:
		return ID{}, Key{}, fmt.Errorf("%w: field Id is missing", ErrKeyFile)
	case f.ContentKeyType == nil:
		return ID{}, Key{}, fmt.Errorf("%w: field ContentKeyType is missing", ErrKeyFile)
	case f.Key == nil:
		return ID{}, Key{}, fmt.Errorf("%w: field Key is missing", ErrKeyFile)
	}
	id, err := ParseID(*f.ID)
	if err != nil {
		return ID{}, Key{}, fmt.Errorf("%w: field Id: %w", ErrKeyFile, err)
	}
	raw, err := base64.StdEncoding.DecodeString(*f.Key)
	if err != nil {
		return ID{}, Key{}, fmt.Errorf("%w: field Key is not valid base64", ErrKeyFile)
	}
	k, err := FromBytes(Type(*f.ContentKeyType), raw)
	clear(raw)
	if err != nil {
		return ID{}, Key{}, fmt.Errorf("%w: field Key: %w", ErrKeyFile, err)
	}
	return id, k, nil
}

// ReadKeyFile reads and decodes the key file at path.
func ReadKeyFile(path string) (ID, Key, error) {
	data, err := smallfile.Read(path)
	if err != nil {
		return ID{}, Key{}, err
	}
	defer clear(data)
	id, k, err := DecodeKeyFile(data)
	if err != nil {
		return ID{}, Key{}, fmt.Errorf("%s: %w", path, err)
	}
	return id, k, nil
}

// WriteKeyFile writes the key file for id and k to path with mode 0600. It
// never replaces an existing file: if path exists it fails with an error that
// matches fs.ErrExist and leaves the file as it was. The file appears whole
// or not at all (it is written to a temporary name and linked into place).
func WriteKeyFile(path string, id ID, k Key) error {
	data, err := EncodeKeyFile(id, k)
	if err != nil {
		return err
	}
	defer clear(data)
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("%s: refusing to overwrite an existing key file: %w", path, fs.ErrExist)
	}
	if err := atomicfile.WritePrivate(path, data, false); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s: refusing to overwrite an existing key file: %w", path, fs.ErrExist)
		}
		return err
	}
	return nil
}
