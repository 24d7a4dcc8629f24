package contentkey

import (
	"encoding/base64"
	"fmt"
)

// FromRaw makes a key of raw bytes whose type only their length tells, as
// where a checksum is asked of a bare key: 32 bytes are a StorageEncryption
// key, 16 a CommonEncryption one (every 16-byte type is an AES-128 key of
// the same bytes). Any other length is refused with ErrInvalidKey.
func FromRaw(raw []byte) (Key, error) {
	switch len(raw) {
	case StorageKeySize:
		return FromBytes(StorageEncryption, raw)
	case AES128KeySize:
		return FromBytes(CommonEncryption, raw)
	}
	return Key{}, fmt.Errorf("%w: a content key is 16 or 32 bytes, got %d", ErrInvalidKey, len(raw))
}

// FromBase64 is FromRaw of the key's base64. An error for text that looks
// like the key in hex (32 or 64 hex digits, which base64 decodes to 24 or
// 48 bytes) says how to convert it.
func FromBase64(text string) (Key, error) {
	raw, err := base64.StdEncoding.DecodeString(text)
	defer clear(raw)
	if err == nil {
		var k Key
		if k, err = FromRaw(raw); err == nil {
			return k, nil
		}
	} else {
		err = fmt.Errorf("%w: not valid base64", ErrInvalidKey)
	}
	if n := len(text); (n == 2*AES128KeySize || n == 2*StorageKeySize) && isHex(text) {
		err = fmt.Errorf("%w; the key is taken as base64, and this looks like %d bytes in hex: convert it with: echo <hex> | xxd -r -p | base64", err, n/2)
	}
	return Key{}, err
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
