package contentkey

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/amscrypt/amscrypt/internal/parse"
	"github.com/amscrypt/amscrypt/internal/quote"
)

// IDPrefix is the prefix of a content key id on the wire.
const IDPrefix = "nb:kid:UUID:"

// ErrInvalidID is returned for a key id that is neither "nb:kid:UUID:<guid>"
// nor a bare GUID in the canonical 8-4-4-4-12 form.
var ErrInvalidID = errors.New("contentkey: invalid key id")

// ID is a content key id: a GUID held in RFC 4122 (big-endian) byte order.
// Its text form is "nb:kid:UUID:" followed by the lowercase GUID.
type ID [16]byte

// NewID returns a random (version 4) id from crypto/rand.
func NewID() (ID, error) {
	// Straight from crypto/rand, not uuid.NewRandom: uuid.SetRand lets any
	// package in the program replace that source.
	var id ID
	if _, err := rand.Read(id[:]); err != nil {
		return ID{}, fmt.Errorf("contentkey: generating key id: %w", err)
	}
	id[6] = id[6]&0x0f | 0x40 // version 4
	id[8] = id[8]&0x3f | 0x80 // RFC 4122 variant
	return id, nil
}

// ParseID parses "nb:kid:UUID:<guid>" (prefix in any case) or a bare GUID.
// The GUID must be the canonical 36-character form, hex digits in either case.
// The error names the offset and character that failed.
func ParseID(s string) (ID, error) {
	off := 0
	if len(s) >= len(IDPrefix) && strings.EqualFold(s[:len(IDPrefix)], IDPrefix) {
		off = len(IDPrefix)
	}
	g, err := parse.GUID(s, off)
	if err != nil {
		return ID{}, fmt.Errorf("%w %s: %v", ErrInvalidID, quote.Input(s), err)
	}
	return ID(g), nil
}

// GUID returns the lowercase canonical GUID without the prefix.
func (id ID) GUID() string { return uuid.UUID(id).String() }

// String returns the canonical wire form "nb:kid:UUID:<lowercase guid>".
func (id ID) String() string { return IDPrefix + id.GUID() }

// DotNetBytes returns the id in the byte order of .NET's Guid.ToByteArray:
// the first three fields little-endian, the last eight bytes as written.
// This is the block the service's checksum encrypts.
func (id ID) DotNetBytes() [16]byte {
	b := id
	b[0], b[1], b[2], b[3] = id[3], id[2], id[1], id[0]
	b[4], b[5] = id[5], id[4]
	b[6], b[7] = id[7], id[6]
	return b
}

// MarshalText returns the canonical wire form, so an ID is a JSON string.
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText parses any form ParseID accepts.
func (id *ID) UnmarshalText(b []byte) error {
	v, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}
