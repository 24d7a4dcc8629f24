// Package cors answers cross-origin requests for a list of web origins
// named one by one (never "*"): the CORS headers on their requests, and
// their preflights.
package cors

import (
	"fmt"
	"net/http"
	"net/url"
)

// Origins is the set of origins allowed.
type Origins map[string]bool

// New returns the set of origins, refusing any that is not a web origin:
// scheme (http or https), host and optional port, nothing else ("*"
// included). err wraps invalid.
func New(origins []string, invalid error) (Origins, error) {
	set := Origins{}
	for _, o := range origins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Scheme+"://"+u.Host != o {
			return nil, fmt.Errorf("%w: allowed origin %q is not a web origin such as https://player.example.com (no path, no wildcard)", invalid, o)
		}
		set[o] = true
	}
	return set, nil
}

// Apply sets the CORS headers for a request from an allowed origin and
// answers its preflight, reporting true when it did. A preflight carries no
// credentials, so refuse (which may be nil) decides alone whether it is
// answered: it returns a message and status to refuse with, or 0.
func (s Origins) Apply(w http.ResponseWriter, r *http.Request, refuse func(*http.Request) (string, int)) bool {
	o := r.Header.Get("Origin")
	h := w.Header()
	h.Add("Vary", "Origin")
	if o == "" || !s[o] {
		return false
	}
	h.Set("Access-Control-Allow-Origin", o)
	h.Set("Access-Control-Expose-Headers", "Content-Length, Content-Range, ETag")
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	if refuse != nil {
		if msg, status := refuse(r); status != 0 {
			http.Error(w, msg, status)
			return true
		}
	}
	h.Set("Access-Control-Allow-Methods", "GET, HEAD")
	h.Set("Access-Control-Allow-Headers", "Authorization, Range")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
	return true
}
