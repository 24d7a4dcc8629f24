package keyexport

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// checkName reports (without a sentinel) why name is not a safe relative
// path: a restore joins entry names to an output directory, so a name must
// not climb out of it, be absolute, or hide characters a terminal would not
// show (controls, and the bidirectional overrides that make a name read
// backwards).
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
