package serve

import (
	"errors"
	"testing"
)

// FuzzParseRange: any Range header either fails with one of parseRange's
// errors or gives at most MaxRanges non-empty ranges inside the file.
func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-0", "bytes=-5", "bytes=5-", "bytes=1-2, 4-8,-3", "bytes=9-2",
		"bytes=", "bytes=0-9223372036854775807", "bytes=-9223372036854775808", "BYTES= 1-1 ,", "bytes=1-1,,"} {
		f.Add(s, int64(100))
		f.Add(s, int64(0))
	}
	f.Fuzz(func(t *testing.T, header string, size int64) {
		if size < 0 {
			size = -(size + 1)
		}
		ranges, err := parseRange(header, size)
		if err != nil {
			if !errors.Is(err, errRangeSyntax) && !errors.Is(err, errNoOverlap) && !errors.Is(err, errTooManyRanges) && !errors.Is(err, errRangeUnit) {
				t.Fatalf("unexpected error %v", err)
			}
			if ranges != nil {
				t.Fatalf("ranges with an error")
			}
			return
		}
		if len(ranges) == 0 || len(ranges) > MaxRanges {
			t.Fatalf("%d ranges", len(ranges))
		}
		for _, r := range ranges {
			if r.start < 0 || r.length < 1 || r.start+r.length > size || r.start+r.length < r.start {
				t.Fatalf("range %+v outside a file of %d", r, size)
			}
		}
	})
}

// FuzzEtagMatches: a header that is exactly the tag always matches, and
// matching never panics.
func FuzzEtagMatches(f *testing.F) {
	f.Add(`"a", W/"b"`, `"b"`)
	f.Add(`*`, `"x"`)
	f.Fuzz(func(t *testing.T, header, etag string) {
		etagMatches(header, etag, true)
		etagMatches(header, etag, false)
		if etag != "" && etag == trimOWS(etag) && !containsComma(etag) && !etagMatches(etag, etag, false) {
			t.Fatalf("%q does not match itself", etag)
		}
	})
}

func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

func containsComma(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == ',' {
			return true
		}
	}
	return false
}
