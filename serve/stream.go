package serve

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/amscrypt/amscrypt/cmaf"
	"github.com/amscrypt/amscrypt/internal/quote"
)

// Names returns the files the key exports match, so that a Server is the
// cmaf.Files of its asset: `amscrypt package` reads the asset through it.
// Those that failed their check are named too, so that a package cannot
// leave one out unnoticed (an .ism left out would change what is
// packaged): Open refuses them.
func (s *Server) Names() []string {
	out := make([]string, 0, len(s.files))
	for n := range s.files {
		out = append(out, n)
	}
	return out
}

// Open returns the plaintext of a file the server answers for. A file
// that failed its check is an error matching cmaf.ErrMedia that says why:
// its plaintext cannot be had (cmaf leaves such a subtitle out, with a
// note, and refuses such a video or audio file).
func (s *Server) Open(ctx context.Context, name string) (cmaf.File, error) {
	f := s.files[name]
	if f == nil {
		return nil, errors.New("serve: not a file of the asset that the key exports match: " + quote.Input(name))
	}
	if f.failure != "" {
		return nil, fmt.Errorf("%w: %s failed its check: %s", cmaf.ErrMedia, quote.Input(name), f.failure)
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
