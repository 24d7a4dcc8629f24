package contentkey

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/amscrypt/amscrypt/internal/reason"
)

// ErrInvalidKey is matched by the errors about key material that cannot be a
// Key: bytes whose length is not the one their ContentKeyType requires (keys
// are never padded or truncated; the message gives both lengths), and, in
// the packages that take a Key, the zero Key, which holds no key material (a
// key that was never set).
var ErrInvalidKey = errors.New("contentkey: invalid key")

// errKeySize is the ErrInvalidKey of FromBytes.
var errKeySize = reason.New("contentkey: wrong key size", ErrInvalidKey)

// errMarshalKey is returned by Key.MarshalJSON and MarshalText: a key is
// written only deliberately, through keyfile.Encode, never as a side effect
// of marshaling a struct that happens to hold one. It is not exported: no
// caller handles it, it is a mistake to fix.
var errMarshalKey = errors.New("contentkey: a Key is not marshaled implicitly; use keyfile.Encode")

// Key is a content key of a fixed type and length. The zero Key is invalid
// and reports Type -1 and Len 0. A Key is immutable and safe to copy; it
// never shows its bytes through fmt, String or JSON.
//
// The bytes are reached through a closure, not held in a field: fmt cannot
// call Format on an unexported field (a caller's struct{ k Key }) and prints
// it by reflection instead, dereferencing arrays and even pointers to them,
// but it prints a func as an address, and what a closure captures is out of
// reach of reflection altogether, go-spew's included.
type Key struct {
	typ      Type
	n        int
	material func() *[StorageKeySize]byte
}

// newKey returns a key of type t and length n whose bytes fill reads.
func newKey(t Type, n int, fill func([]byte) error) (Key, error) {
	b := new([StorageKeySize]byte)
	if err := fill(b[:n]); err != nil {
		return Key{}, err
	}
	return Key{typ: t, n: n, material: func() *[StorageKeySize]byte { return b }}, nil
}

// raw returns the key's own bytes, nil for the zero Key. It is never
// exposed: Bytes copies.
func (k Key) raw() []byte {
	if k.n == 0 {
		return nil
	}
	return k.material()[:k.n]
}

// New returns a fresh random key for t, read from crypto/rand.
func New(t Type) (Key, error) {
	size, err := t.KeySize()
	if err != nil {
		return Key{}, err
	}
	return newKey(t, size, func(b []byte) error {
		if _, err := rand.Read(b); err != nil {
			return fmt.Errorf("contentkey: reading random key: %w", err)
		}
		return nil
	})
}

// FromBytes returns a key of type t holding a copy of b. It fails with an
// error matching ErrInvalidKey unless len(b) is exactly t's key size, and
// ErrInvalidType if t has none.
func FromBytes(t Type, b []byte) (Key, error) {
	size, err := t.KeySize()
	if err != nil {
		return Key{}, err
	}
	if len(b) != size {
		return Key{}, fmt.Errorf("%w: %s keys are %d bytes, got %d", errKeySize, t, size, len(b))
	}
	return newKey(t, size, func(dst []byte) error {
		copy(dst, b)
		return nil
	})
}

// Type returns the key's ContentKeyType, or -1 for the zero Key.
func (k Key) Type() Type {
	if k.n == 0 {
		return -1
	}
	return k.typ
}

// Len returns the key length in bytes: 16, 32, or 0 for the zero Key.
func (k Key) Len() int { return k.n }

// IsZero reports whether k is the zero (invalid) Key.
func (k Key) IsZero() bool { return k.n == 0 }

// Bytes returns a copy of the key material. This is the one way to read it;
// keep the result out of logs and errors.
func (k Key) Bytes() []byte {
	return append([]byte(nil), k.raw()...)
}

// Equal reports whether two keys have the same type and bytes, in time
// independent of the bytes.
func (k Key) Equal(o Key) bool {
	return k.typ == o.typ && k.n == o.n && subtle.ConstantTimeCompare(k.raw(), o.raw()) == 1
}

// String describes the key without its bytes.
func (k Key) String() string {
	if k.n == 0 {
		return "contentkey.Key(invalid)"
	}
	return fmt.Sprintf("contentkey.Key(%s, %d bytes, redacted)", k.typ, k.n)
}

// GoString is String, so that %#v shows no key bytes either.
func (k Key) GoString() string { return k.String() }

// Format makes every fmt verb (%v, %+v, %#v, %x, %s, %q, ...) print String.
func (k Key) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(k.String())) }

// MarshalJSON always fails: a key is written only through keyfile.Encode.
func (k Key) MarshalJSON() ([]byte, error) { return nil, errMarshalKey }

// MarshalText always fails too, so that encoders that prefer text
// (encoding/xml, map keys, flag values) cannot write the key either.
func (k Key) MarshalText() ([]byte, error) { return nil, errMarshalKey }
