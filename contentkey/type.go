package contentkey

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/amscrypt/amscrypt/internal/parse"
	"github.com/amscrypt/amscrypt/internal/quote"
	"github.com/amscrypt/amscrypt/internal/reason"
)

// Type is the ContentKeyType of a content key, as the REST API numbers it.
type Type int

// The ContentKeyType values of Media Services v2. The numbers are the wire
// values; 5 was never assigned.
const (
	CommonEncryption        Type = 0
	StorageEncryption       Type = 1
	ConfigurationEncryption Type = 2
	UrlEncryption           Type = 3
	EnvelopeEncryption      Type = 4
	CommonEncryptionCbcs    Type = 6
	FairPlayASk             Type = 7
	FairPlayPfxPassword     Type = 8
)

// Key sizes in bytes.
const (
	// StorageKeySize is the size of a StorageEncryption key (AES-256).
	StorageKeySize = 32
	// AES128KeySize is the size of CommonEncryption, CommonEncryptionCbcs,
	// EnvelopeEncryption and FairPlayASk keys.
	AES128KeySize = 16
)

// ErrInvalidType is matched by the errors about a ContentKeyType: a name or
// number that does not exist ("unknown ContentKeyType"), and, from KeySize,
// New and FromBytes, a type whose key length the service does not fix
// (ConfigurationEncryption, UrlEncryption, FairPlayPfxPassword: "no fixed key
// size"), since this library holds only keys of a known size.
var ErrInvalidType = errors.New("contentkey: invalid ContentKeyType")

var (
	errUnknownType     = reason.New("contentkey: unknown ContentKeyType", ErrInvalidType)
	errUnsupportedType = reason.New("contentkey: ContentKeyType has no fixed key size", ErrInvalidType)
)

var typeNames = map[Type]string{
	CommonEncryption:        "CommonEncryption",
	StorageEncryption:       "StorageEncryption",
	ConfigurationEncryption: "ConfigurationEncryption",
	UrlEncryption:           "UrlEncryption",
	EnvelopeEncryption:      "EnvelopeEncryption",
	CommonEncryptionCbcs:    "CommonEncryptionCbcs",
	FairPlayASk:             "FairPlayASk",
	FairPlayPfxPassword:     "FairPlayPfxPassword",
}

// Types lists every ContentKeyType in wire order.
func Types() []Type {
	return []Type{CommonEncryption, StorageEncryption, ConfigurationEncryption,
		UrlEncryption, EnvelopeEncryption, CommonEncryptionCbcs, FairPlayASk, FairPlayPfxPassword}
}

// String returns the REST name of t, or "ContentKeyType(n)" for an unknown value.
func (t Type) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return "ContentKeyType(" + strconv.Itoa(int(t)) + ")"
}

// Valid reports whether t is one of the eight ContentKeyType values.
func (t Type) Valid() bool {
	_, ok := typeNames[t]
	return ok
}

// KeySize returns the key length in bytes that t requires, or an error
// matching ErrInvalidType when there is none.
func (t Type) KeySize() (int, error) {
	switch t {
	case StorageEncryption:
		return StorageKeySize, nil
	case CommonEncryption, CommonEncryptionCbcs, EnvelopeEncryption, FairPlayASk:
		return AES128KeySize, nil
	}
	if !t.Valid() {
		return 0, fmt.Errorf("%w: %d", errUnknownType, int(t))
	}
	return 0, fmt.Errorf("%w: %s", errUnsupportedType, t)
}

// ParseType parses a ContentKeyType from its REST name (case-insensitive,
// e.g. "StorageEncryption") or its decimal number (e.g. "1"), digits only as
// every number on the wire: "+1" and " 1" are refused, with an error
// matching ErrInvalidType.
func ParseType(s string) (Type, error) {
	if s != "" && '0' <= s[0] && s[0] <= '9' {
		n, err := parse.Decimal(s, math.MaxInt32)
		if err != nil {
			return 0, fmt.Errorf("%w %s: %v", errUnknownType, quote.Input(s), err)
		}
		if t := Type(n); t.Valid() {
			return t, nil
		}
		return 0, fmt.Errorf("%w: %d", errUnknownType, n)
	}
	for t, name := range typeNames {
		if strings.EqualFold(s, name) {
			return t, nil
		}
	}
	return 0, fmt.Errorf("%w: %s", errUnknownType, quote.Input(s))
}
