package serve

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// byteRange is the bytes [start, start+length) of a file.
type byteRange struct {
	start, length int64
}

// contentRange is the Content-Range value of r in a file of size bytes.
func (r byteRange) contentRange(size int64) string {
	return "bytes " + strconv.FormatInt(r.start, 10) + "-" + strconv.FormatInt(r.start+r.length-1, 10) +
		"/" + strconv.FormatInt(size, 10)
}

// MaxRanges is the most ranges one request may ask for. RFC 9110 §14.2
// allows refusing many small ranges as a sign of a broken or hostile
// client; each range costs an upstream request.
const MaxRanges = 16

var (
	// errRangeUnit is a Range header in a unit other than bytes, which
	// RFC 9110 §14.2 says to ignore.
	errRangeUnit = errors.New("not a byte range: the unit is not bytes")
	// errRangeSyntax is a Range header this server cannot parse.
	errRangeSyntax = errors.New("invalid Range header")
	// errNoOverlap is a Range header none of whose ranges lies in the file.
	errNoOverlap = errors.New("no requested range lies within the file")
	// errTooManyRanges is a Range header of more than MaxRanges ranges.
	errTooManyRanges = errors.New("too many ranges")
)

// parseRange parses a Range header value (RFC 9110 §14.1.2) for a file of
// size bytes. It returns the satisfiable ranges in the order asked, each
// clipped to the file; ranges that start past the end are dropped, and if
// none is left the error is errNoOverlap.
func parseRange(header string, size int64) ([]byteRange, error) {
	unit, set, ok := strings.Cut(header, "=")
	if !ok {
		return nil, errRangeSyntax
	}
	if !strings.EqualFold(strings.TrimSpace(unit), "bytes") {
		return nil, errRangeUnit
	}
	var ranges []byteRange
	specs := 0
	for spec := range strings.SplitSeq(set, ",") {
		spec = strings.Trim(spec, " \t")
		if spec == "" {
			continue // RFC 9110 §5.6.1: empty list elements are allowed
		}
		if specs++; specs > MaxRanges {
			return nil, errTooManyRanges
		}
		first, last, ok := strings.Cut(spec, "-")
		if !ok {
			return nil, errRangeSyntax
		}
		first, last = strings.Trim(first, " \t"), strings.Trim(last, " \t")
		var r byteRange
		switch {
		case first == "":
			// suffix-range: the last n bytes.
			n, err := parseDigits(last)
			if err != nil {
				return nil, err
			}
			if n == 0 || size == 0 {
				continue // unsatisfiable
			}
			n = min(n, size)
			r = byteRange{size - n, n}
		default:
			start, err := parseDigits(first)
			if err != nil {
				return nil, err
			}
			end := size - 1
			if last != "" {
				if end, err = parseDigits(last); err != nil {
					return nil, err
				}
				if end < start {
					return nil, errRangeSyntax
				}
			}
			if start >= size {
				continue // unsatisfiable
			}
			end = min(end, size-1)
			r = byteRange{start, end - start + 1}
		}
		ranges = append(ranges, r)
	}
	if specs == 0 {
		return nil, errRangeSyntax
	}
	if len(ranges) == 0 {
		return nil, errNoOverlap
	}
	return ranges, nil
}

// parseDigits parses a non-empty run of ASCII digits. A number too large
// for an int64 is math.MaxInt64: past the end of any file, which is what
// such a position or suffix length means.
func parseDigits(s string) (int64, error) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, errRangeSyntax
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return math.MaxInt64, nil // only ErrRange is left
	}
	return n, nil
}

// sumRanges is the total length of ranges.
func sumRanges(ranges []byteRange) int64 {
	var n int64
	for _, r := range ranges {
		n += r.length
	}
	return n
}

// etagMatches reports whether the If-None-Match or If-Match list header
// holds etag, or "*". Weak comparison (RFC 9110 §8.8.3.2) when weak is
// true, as If-None-Match uses; strong otherwise. The server's own ETags are
// strong.
func etagMatches(header, etag string, weak bool) bool {
	for tag := range strings.SplitSeq(header, ",") {
		tag = strings.Trim(tag, " \t")
		if tag == "*" {
			return true
		}
		if weak {
			tag = strings.TrimPrefix(tag, "W/")
		}
		if tag == etag {
			return true
		}
	}
	return false
}
