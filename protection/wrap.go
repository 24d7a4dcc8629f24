package protection

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/internal/reason"
)

// MinRSABits is the smallest RSA modulus Wrap accepts.
const MinRSABits = 2048

// ErrUnwrap is returned when an EncryptedContentKey cannot be decrypted.
// It deliberately says no more: the cause (wrong private key, corrupted
// ciphertext) must not be observable, as in crypto/rsa. The other failures
// of Unwrap before decryption (no private key, an EncryptedContentKey that
// is not base64) match it too, with messages of their own.
var ErrUnwrap = errors.New("protection: cannot unwrap the content key (wrong private key or corrupted EncryptedContentKey)")

var (
	// errNotRSA is the ErrInvalid of a certificate or private key that is
	// not RSA.
	errNotRSA = reason.New("protection: key is not RSA", ErrInvalid)
	// errWeakKey is the ErrInvalid of an RSA key shorter than MinRSABits.
	errWeakKey = reason.New("protection: RSA key is shorter than 2048 bits", ErrInvalid)
	// errEncryptedContentKey is the ErrUnwrap of an EncryptedContentKey
	// that is not base64.
	errEncryptedContentKey = reason.New("protection: EncryptedContentKey is not valid base64", ErrUnwrap)
	// errNoPrivateKey is the ErrUnwrap of a nil private key.
	errNoPrivateKey = reason.New("protection: no private key", ErrUnwrap)
)

// RSAPublicKey returns the certificate's RSA public key, or an error matching
// ErrInvalid if it cannot be used to wrap content keys: it is not RSA, or
// shorter than MinRSABits (the message says which).
func (c *Certificate) RSAPublicKey() (*rsa.PublicKey, error) {
	pub, ok := c.publicKey.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: certificate %s has a %s key", errNotRSA, c.Thumbprint(), keyDescription(c.publicKey))
	}
	if bits := pub.N.BitLen(); bits < MinRSABits {
		return nil, fmt.Errorf("%w: certificate %s has an RSA-%d key", errWeakKey, c.Thumbprint(), bits)
	}
	return pub, nil
}

// Wrap encrypts content key k to the certificate's RSA key with RSA-OAEP
// (SHA-1, MGF1-SHA-1, empty label) and returns the EncryptedContentKey in
// standard padded base64. Each call gives a different ciphertext. The zero
// Key is refused with an error matching contentkey.ErrInvalidKey.
func Wrap(c *Certificate, k contentkey.Key) (string, error) {
	if k.IsZero() {
		return "", fmt.Errorf("protection: nothing to wrap, the zero Key: %w", contentkey.ErrInvalidKey)
	}
	pub, err := c.RSAPublicKey()
	if err != nil {
		return "", err
	}
	kb := k.Bytes()
	defer clear(kb)
	ct, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, pub, kb, nil)
	if err != nil {
		return "", fmt.Errorf("protection: wrapping content key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(ct), nil
}

// Unwrap decrypts an EncryptedContentKey (base64 RSA-OAEP-SHA-1) with priv
// and returns it as a key of type t. A wrong private key or a corrupted
// ciphertext gives ErrUnwrap and nothing more; a nil priv or a wrapped
// that is not base64 an error matching ErrUnwrap that says so; a key of the
// wrong length for t an error matching contentkey.ErrInvalidKey.
func Unwrap(priv *rsa.PrivateKey, t contentkey.Type, wrapped string) (contentkey.Key, error) {
	if priv == nil {
		return contentkey.Key{}, errNoPrivateKey
	}
	ct, err := base64.StdEncoding.DecodeString(wrapped)
	if err != nil {
		return contentkey.Key{}, errEncryptedContentKey
	}
	pt, err := rsa.DecryptOAEP(sha1.New(), nil, priv, ct, nil)
	if err != nil {
		return contentkey.Key{}, ErrUnwrap
	}
	defer clear(pt)
	return contentkey.FromBytes(t, pt)
}
