// Package quote renders untrusted input for error messages: Go-quoted, so
// that control characters, invisible runes and invalid UTF-8 show, and cut
// to a bounded length, so that a megabyte of garbage does not become a
// megabyte of error; URLs without the secrets a SAS URL carries; and any
// message as the one line every error, log line and report of the module
// is.
package quote

import (
	"strconv"
	"strings"
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

// URL returns u as a message or report may show it: without its query and
// fragment (where a SAS signature is), without user information, and cut
// before a "sig=" that stands elsewhere (a SAS pasted without its '?').
func URL(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	if scheme, rest, ok := strings.Cut(u, "://"); ok {
		end := strings.IndexByte(rest, '/')
		if end < 0 {
			end = len(rest)
		}
		if at := strings.LastIndex(rest[:end], "@"); at >= 0 {
			u = scheme + "://…@" + rest[at+1:]
		}
	}
	// Byte by byte: strings.ToLower would move offsets (it rewrites
	// invalid UTF-8).
	for i := 0; i+4 <= len(u); i++ {
		if strings.EqualFold(u[i:i+4], "sig=") {
			if j := strings.LastIndexAny(u[:i], "/&;"); j >= 0 {
				i = j + 1
			} else {
				i = 0
			}
			return u[:i] + "…"
		}
	}
	return u
}

// OneLine returns s with every run of white space, line breaks included,
// as one space, and none at its ends.
func OneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
