package serve

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/amscrypt/amscrypt/cmaf"
)

// Names returns the files the server answers for, so that a Server is the
// cmaf.Files of its asset: `amscrypt package` reads the asset through it.
func (s *Server) Names() []string {
	var out []string
	for n, f := range s.files {
		if f.failure == "" {
			out = append(out, n)
		}
	}
	return out
}

// Open returns the plaintext of a file the server answers for.
func (s *Server) Open(ctx context.Context, name string) (cmaf.File, error) {
	f := s.files[name]
	if f == nil || f.failure != "" {
		return nil, errors.New("serve: not a file of the asset that passed its checks: " + name)
	}
	p, c, err := s.plaintext(ctx, f)
	if err != nil {
		return nil, err
	}
	return cmaf.FileOf(p, c), nil
}

// streaming answers a request under an .ism of the asset
// ("/name.ism/manifest(format=m3u8-cmaf)", "/name.ism/video-1-00003.m4s")
// through the cmaf.Origin, each output made in a streaming slot; it
// reports false for any other path.
func (s *Server) streaming(w *response, r *http.Request) bool {
	rel, _ := strings.CutPrefix(r.URL.Path, "/")
	if strings.Contains(strings.ToLower(r.URL.RawPath), "%2f") || !s.origin.Handles(rel) {
		return false
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.slotted = true // the origin makes and sends each output in one slot
	s.origin.Handler(func(ism string) string { return s.files[ism].etag }).ServeHTTP(w, r)
	return true
}
