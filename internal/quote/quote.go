// Package quote renders untrusted input for error messages: Go-quoted, so
// that control characters, invisible runes and invalid UTF-8 show, and cut
// to a bounded length, so that a megabyte of garbage does not become a
// megabyte of error.
package quote

import (
	"strconv"
	"unicode/utf8"
)

// MaxLen is how many bytes of the input Input shows before cutting it.
const MaxLen = 80

// Input returns s Go-quoted, cut after MaxLen bytes (at a character boundary,
// so the cut itself adds no invalid UTF-8) and marked "..." when cut.
func Input(s string) string {
	if len(s) <= MaxLen {
		return strconv.Quote(s)
	}
	cut := MaxLen
	for cut > MaxLen-utf8.UTFMax+1 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "..."
}
