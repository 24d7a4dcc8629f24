// Package parse holds the strict parsers of the wire's textual numbers and
// GUIDs, shared by contentkey, envelope and protection so that an IV, a
// ContentFileSize and a ContentKeyType are held to one rule, and a key id
// and an entity id to another. Errors say what is wrong and where, without
// the input itself: callers quote it once, with their own sentinel.
package parse

import (
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
)

// GUIDLen is the length of the canonical 8-4-4-4-12 GUID form.
const GUIDLen = 36

// GUID parses s[start:] as a GUID in the canonical 36-character
// 8-4-4-4-12 form, hex digits in either case, and returns its 16 bytes in
// RFC 4122 (text) order. Offsets in the error count from the start of s,
// so that they point into the string the user gave, prefix and all.
func GUID(s string, start int) ([16]byte, error) {
	var id [16]byte
	g := s[start:]
	if len(g) != GUIDLen {
		return id, fmt.Errorf("want a %d-character GUID, got %d characters", GUIDLen, len(g))
	}
	j := 0
	for i := 0; i < GUIDLen; {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if g[i] != '-' {
				r, _ := utf8.DecodeRuneInString(g[i:])
				return [16]byte{}, fmt.Errorf("want '-' at offset %d, got %q", start+i, r)
			}
			i++
			continue
		}
		hi, ok := fromHex(g[i])
		bad := i
		if ok {
			var lo byte
			if lo, ok = fromHex(g[i+1]); ok {
				id[j] = hi<<4 | lo
			}
			bad = i + 1
		}
		if !ok {
			r, _ := utf8.DecodeRuneInString(g[bad:])
			return [16]byte{}, fmt.Errorf("%q at offset %d is not a hex digit", r, start+bad)
		}
		i += 2
		j++
	}
	return id, nil
}

func fromHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// Decimal parses s as a non-negative decimal integer no larger than max:
// ASCII digits only (leading zeros allowed), no sign, space, fraction or
// exponent. The error names the first character that is not a digit and its
// byte offset, so that "397304628502661816</d:Initializ..." is reported
// rather than read as a number.
func Decimal(s string, max uint64) (uint64, error) {
	if s == "" {
		return 0, errors.New("empty, want a decimal integer")
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			r, _ := utf8.DecodeRuneInString(s[i:])
			return 0, fmt.Errorf("%q at offset %d is not a decimal digit", r, i)
		}
		d := uint64(c - '0')
		if d > max || n > (max-d)/10 {
			if max == math.MaxUint64 {
				return 0, errors.New("value overflows 64 bits")
			}
			return 0, fmt.Errorf("larger than %d", max)
		}
		n = n*10 + d
	}
	return n, nil
}
