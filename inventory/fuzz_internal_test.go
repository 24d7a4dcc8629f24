package inventory

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/amscrypt/amscrypt/media"
	"github.com/amscrypt/amscrypt/restore"
)

// What a container holds is outside input: its blob names and the first
// bytes of a blob go through these without panicking, and a head that
// passes as text is text.
func FuzzContainerNamesAndHeads(f *testing.F) {
	f.Add("video/header\nvideo/0\nvideo.ism", []byte("<?xml version=\"1.0\"?>"), int64(21))
	f.Add("a/b/c\n/header\n/0\n\x00/1", []byte{0, 0, 0, 8, 'f', 't', 'y', 'p'}, int64(8))
	f.Add("x.vtt", []byte("\xef\xbb\xbfWEBVTT\n"), int64(-1))
	f.Fuzz(func(t *testing.T, list string, head []byte, size int64) {
		paths := strings.Split(list, "\n")
		tracks := liveTracks(paths)
		var files []restore.SourceFile
		for _, p := range paths {
			files = append(files, restore.SourceFile{Path: p, Size: int64(len(p)), Regular: true})
		}
		for _, tf := range rankFiles(files, tracks) {
			if tf.format == media.FormatUnknown || tf.f.Size <= 0 {
				t.Fatalf("ranked %+v", tf)
			}
			if len(head) <= media.HeadSize && (size < 0 || int64(len(head)) == min(media.HeadSize, size)) {
				err := checkPlain(tf.format, head, size)
				if err == nil && textFormats[tf.format] && !validUTF8CutAtEnd(head) {
					t.Fatalf("%s head %q passed as text", tf.format, head)
				}
			}
		}
		_ = plausibleText(head)
		_ = redact(list)
	})
}

// validUTF8CutAtEnd reports whether b is UTF-8 but for a rune that the end
// of b cuts short (a head is the first bytes of a file). Slicing off the
// last utf8.UTFMax bytes instead can cut a whole rune in two ("<" and a
// four-byte rune then "0" was taken for invalid).
func validUTF8CutAtEnd(b []byte) bool {
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 {
			return !utf8.FullRune(b)
		}
		b = b[n:]
	}
	return true
}

// The prefilter never rejects a head the full check accepts.
func FuzzQuickReject(f *testing.F) {
	f.Add([]byte{0, 0, 0, 24, 'f', 't', 'y', 'p', 'i', 's', 'o', 'm', 0, 0, 0, 0}, uint8(0))
	f.Add([]byte("\xef\xbb\xbfWEBVTT\n\n00:00"), uint8(3))
	f.Add([]byte{0x47, 0x40, 0, 0x10}, uint8(6))
	formats := []media.Format{media.FormatISOBMFF, media.FormatPNG, media.FormatXML, media.FormatWebVTT,
		media.FormatJSON, media.FormatJPEG, media.FormatMPEGTS}
	f.Fuzz(func(t *testing.T, head []byte, which uint8) {
		format := formats[int(which)%len(formats)]
		first := head[:min(len(head), 16)]
		if quickReject(format, first) && len(head) <= media.HeadSize && checkPlain(format, head, -1) == nil {
			t.Fatalf("%s: quickReject refuses %q, which checkPlain accepts", format, head)
		}
	})
}
