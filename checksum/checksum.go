package checksum

import (
	"crypto/aes"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/amscrypt/amscrypt/contentkey"
)

// Size is the size of a checksum in bytes: the first 8 bytes of the AES
// block.
const Size = 8

// EncodedLen is the length of a checksum's wire form, its standard base64:
// 8 bytes encode to 12 characters ending in '='.
const EncodedLen = 12

var (
	// ErrMismatch is matched by Verify's error for any checksum that is not
	// the one the service computes, including those the Java and PHP SDKs
	// made, whose messages say so.
	ErrMismatch = errors.New("checksum: checksum does not match the content key and key id")
	// ErrFormat is returned for a checksum that is not 12 characters of base64.
	ErrFormat = errors.New("checksum: not a 12-character base64 checksum")
)

// The mismatches Verify can explain: legacy SDKs hashed the id's text. They
// are not exported because a caller can do nothing with the key but refuse
// it, as for any other mismatch; the message tells a person what happened.
var (
	// errJavaForm is a checksum made the Java SDK's way: over the GUID's text.
	errJavaForm = fmt.Errorf("%w: made the Java SDK way, over the key id's GUID text; the service requires the .NET form over the GUID's bytes", ErrMismatch)
	// errPHPForm is a checksum made the PHP SDK's way: over the full id string.
	errPHPForm = fmt.Errorf(`%w: made the PHP SDK way, over the "nb:kid:UUID:" id text; the service rejected these (HTTP 500)`, ErrMismatch)
)

// Compute returns the service's checksum of key k for key id id: base64 of
// the first 8 bytes of AES-ECB(k, id.DotNetBytes()), with AES-128 for a
// 16-byte key and AES-256 for a 32-byte key. It fails only for the zero Key,
// with an error matching contentkey.ErrInvalidKey.
func Compute(k contentkey.Key, id contentkey.ID) (string, error) {
	block := id.DotNetBytes()
	sum, err := encryptPrefix(k, block[:])
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(sum[:]), nil
}

// encryptPrefix returns the first 8 bytes of AES-ECB(k, first 16 bytes of
// msg). Only the first block decides those bytes, so the padding the Java
// and PHP SDKs applied to longer texts does not matter.
func encryptPrefix(k contentkey.Key, msg []byte) ([Size]byte, error) {
	if k.IsZero() {
		return [Size]byte{}, fmt.Errorf("checksum: no checksum of the zero Key: %w", contentkey.ErrInvalidKey)
	}
	kb := k.Bytes()
	c, err := aes.NewCipher(kb)
	clear(kb)
	if err != nil {
		return [Size]byte{}, fmt.Errorf("checksum: %w", err) // unreachable: a Key is 16 or 32 bytes
	}
	var in, out [aes.BlockSize]byte
	copy(in[:], msg)
	c.Encrypt(out[:], in[:])
	return [Size]byte(out[:Size]), nil
}

// Verify checks sum against the checksum of k and id in constant time. A
// mismatch returns an error matching ErrMismatch; when sum is what the Java
// or PHP SDK would have computed, the message says which SDK made it. A sum
// that is not 12 base64 characters matches ErrFormat, and the zero Key
// contentkey.ErrInvalidKey.
func Verify(k contentkey.Key, id contentkey.ID, sum string) error {
	got, err := decode(sum)
	if err != nil {
		return err
	}
	block := id.DotNetBytes()
	want, err := encryptPrefix(k, block[:])
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(got[:], want[:]) == 1 {
		return nil
	}
	if java, err := encryptPrefix(k, []byte(id.GUID())); err == nil && subtle.ConstantTimeCompare(got[:], java[:]) == 1 {
		return errJavaForm
	}
	if php, err := encryptPrefix(k, []byte(id.String())); err == nil && subtle.ConstantTimeCompare(got[:], php[:]) == 1 {
		return errPHPForm
	}
	return ErrMismatch
}

func decode(sum string) ([Size]byte, error) {
	if len(sum) != EncodedLen {
		return [Size]byte{}, fmt.Errorf("%w: got %d characters", ErrFormat, len(sum))
	}
	b, err := base64.StdEncoding.Strict().DecodeString(sum)
	if err != nil || len(b) != Size {
		return [Size]byte{}, fmt.Errorf("%w: %q", ErrFormat, sum)
	}
	return [Size]byte(b), nil
}
