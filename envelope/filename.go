package envelope

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/amscrypt/amscrypt/internal/quote"
)

// MaxFileNameLength is the longest file name, in characters, that
// ValidateFileName accepts.
const MaxFileNameLength = 260

// forbiddenFileNameChars are the percent-encoding reserved characters the
// service refuses in a file name: the name becomes part of streaming URLs
// and may not be percent-encoded there.
const forbiddenFileNameChars = `!*'();:@&=+$,/?%#[]"`

// ValidateFileName checks the rules the service sets for an AssetFile or
// IngestManifestFile Name: not empty, valid UTF-8, at most MaxFileNameLength
// characters, none of ! * ' ( ) ; : @ & = + $ , / ? % # [ ] ", no control
// characters, and at most one '.', before an extension (so not last). The
// error matches ErrInvalid and names the rule, and for a character rule the
// character and its byte offset.
func ValidateFileName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: the name is empty", errFileName)
	}
	if !utf8.ValidString(name) {
		off := 0
		for off < len(name) {
			r, n := utf8.DecodeRuneInString(name[off:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			off += n
		}
		return fmt.Errorf("%w %s: byte 0x%02x at offset %d is not valid UTF-8", errFileName, quote.Input(name), name[off], off)
	}
	if n := utf8.RuneCountInString(name); n > MaxFileNameLength {
		return fmt.Errorf("%w %s: %d characters, more than the limit of %d", errFileName, quote.Input(name), n, MaxFileNameLength)
	}
	if i := strings.IndexAny(name, forbiddenFileNameChars); i >= 0 {
		return fmt.Errorf("%w %s: character %q at offset %d is not allowed (a file name may not contain any of %s)",
			errFileName, quote.Input(name), name[i], i, forbiddenFileNameChars)
	}
	// Control characters (NUL, newline, tab, DEL, C1) cannot travel in a
	// URL or an HTTP header unescaped, and the name may not be escaped.
	if i := strings.IndexFunc(name, unicode.IsControl); i >= 0 {
		r, _ := utf8.DecodeRuneInString(name[i:])
		return fmt.Errorf("%w %s: control character U+%04X at offset %d is not allowed", errFileName, quote.Input(name), r, i)
	}
	if first := strings.IndexByte(name, '.'); first >= 0 {
		if second := strings.IndexByte(name[first+1:], '.'); second >= 0 {
			return fmt.Errorf("%w %s: second '.' at offset %d (only one '.', before the extension, is allowed)",
				errFileName, quote.Input(name), first+1+second)
		}
	}
	// Blob storage advises against names ending in '.', and a name that is
	// only "." is dropped from a URL path by normalization.
	if strings.HasSuffix(name, ".") {
		return fmt.Errorf("%w %s: the name ends in '.' (the '.' must come before an extension)", errFileName, quote.Input(name))
	}
	return nil
}
