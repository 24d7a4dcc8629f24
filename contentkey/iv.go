package contentkey

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/amscrypt/amscrypt/internal/parse"
	"github.com/amscrypt/amscrypt/internal/quote"
)

// IVSize is the size in bytes of a storage encryption IV.
const IVSize = 8

// ErrInvalidIV is wrapped by the errors of ParseIV and IV.UnmarshalText.
var ErrInvalidIV = errors.New("contentkey: invalid IV")

// IV is the per-file initialization vector of storage encryption: 8 random
// bytes read as a big-endian unsigned integer. Its wire form (the AssetFile
// InitializationVector field) is that integer in decimal.
type IV uint64

// NewIV returns a fresh IV from crypto/rand. Every file needs its own, also
// when it is re-encrypted: reusing a (key, IV) pair leaks the XOR of the
// two plaintexts.
func NewIV() (IV, error) {
	var b [IVSize]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 0, fmt.Errorf("contentkey: reading random IV: %w", err)
	}
	return IV(binary.BigEndian.Uint64(b[:])), nil
}

// ParseIV parses the decimal wire form of an IV. It is strict: only ASCII
// digits (leading zeros allowed), no sign, space or other characters, and a
// value below 2^64. The error names the first offending character and its
// byte offset, so that input such as "397304628502661816</d:Initializ..."
// is reported rather than read as a number.
func ParseIV(s string) (IV, error) {
	v, err := parse.Decimal(s, math.MaxUint64)
	if err != nil {
		return 0, fmt.Errorf("%w %s: %v", ErrInvalidIV, quote.Input(s), err)
	}
	return IV(v), nil
}

// String returns the decimal wire form.
func (iv IV) String() string { return strconv.FormatUint(uint64(iv), 10) }

// Bytes returns the IV as the 8 big-endian bytes that start every counter
// block of the file.
func (iv IV) Bytes() [IVSize]byte {
	var b [IVSize]byte
	binary.BigEndian.PutUint64(b[:], uint64(iv))
	return b
}

// MarshalText returns the decimal wire form, so that an IV is a JSON string
// as the REST API sends it.
func (iv IV) MarshalText() ([]byte, error) {
	return strconv.AppendUint(nil, uint64(iv), 10), nil
}

// UnmarshalText parses the decimal wire form as strictly as ParseIV.
func (iv *IV) UnmarshalText(b []byte) error {
	v, err := ParseIV(string(b))
	if err != nil {
		return err
	}
	*iv = v
	return nil
}
