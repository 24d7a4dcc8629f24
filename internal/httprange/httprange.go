// Package httprange holds the Range rules that amscrypt's HTTP answers
// (serve's files, cmaf's on-the-fly outputs) add to http.ServeContent's.
package httprange

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// Max is the most ranges one request may ask for: each costs a read of
// the source (for a blob, a ranged GET).
const Max = 16

// Vet returns r as http.ServeContent should see it for a body of size
// bytes, or an error for a request to answer 416: one of more than Max
// ranges. A suffix range of length zero ("bytes=-0") is rewritten as the
// equally unsatisfiable "SIZE-": RFC 9110 §14.1.1 has a suffix range
// satisfiable only with a non-zero length, where ServeContent answers 206
// with "Content-Range: bytes SIZE-(SIZE-1)/SIZE", a range that ends before
// it starts (golang/go#81262).
func Vet(r *http.Request, size int64) (*http.Request, error) {
	rng := r.Header.Get("Range")
	if strings.Count(rng, ",") >= Max {
		return r, errors.New("range not satisfiable: more than " + strconv.Itoa(Max) + " ranges")
	}
	set, ok := strings.CutPrefix(rng, "bytes=")
	if !ok {
		return r, nil
	}
	specs := strings.Split(set, ",")
	changed := false
	for i, sp := range specs {
		if t := strings.TrimSpace(sp); len(t) > 1 && t[0] == '-' && strings.Trim(t[1:], "0") == "" {
			specs[i] = strconv.FormatInt(size, 10) + "-"
			changed = true
		}
	}
	if changed {
		r2 := *r
		r2.Header = r.Header.Clone()
		r2.Header.Set("Range", "bytes="+strings.Join(specs, ","))
		r = &r2
	}
	return r, nil
}
