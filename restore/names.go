package restore

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// checkName reports (without a sentinel) why name is not a safe relative path: the executor joins
// entry names to an output directory, so a name must not climb out of it,
// be absolute, or hide characters a terminal would not show (controls,
// and the bidirectional overrides that make a name read backwards).
func checkName(name string) error {
	switch {
	case name == "":
		return errors.New("empty name")
	case !utf8.ValidString(name):
		return fmt.Errorf("%q is not valid UTF-8", name)
	case strings.HasPrefix(name, "/"):
		return fmt.Errorf("%q starts with '/'", name)
	}
	for i, r := range name {
		switch {
		case r == '\\':
			return fmt.Errorf("%q has a backslash at offset %d", name, i)
		case unicode.IsControl(r), unicode.Is(unicode.Bidi_Control, r):
			return fmt.Errorf("%q has control character %U at offset %d", name, r, i)
		}
	}
	for c := range strings.SplitSeq(name, "/") {
		switch c {
		case "":
			return fmt.Errorf("%q has an empty path component", name)
		case ".", "..":
			return fmt.Errorf("%q has a %q path component", name, c)
		}
	}
	return nil
}

// safeName reports whether checkName accepts name.
func safeName(name string) bool { return checkName(name) == nil }

var errNotDecimal = errors.New("is not a non-negative decimal integer")

// parseSize reads a plaintext size: ASCII digits only, below 2^63.
func parseSize(s string) (int64, error) {
	if s == "" {
		return 0, errNotDecimal
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, errNotDecimal
		}
		d := int64(c - '0')
		if n > (1<<63-1-d)/10 {
			return 0, errors.New("is larger than 2^63-1")
		}
		n = n*10 + d
	}
	return n, nil
}

// compareNames orders entry names as Plan.Entries are sorted: by bytes.
func compareNames(a, b string) int { return strings.Compare(a, b) }
