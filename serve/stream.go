package serve

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/amscrypt/amscrypt/cmaf"
)

// The AMS streaming URL shapes: <name>.ism/manifest(format=…), with or
// without the extension AMS also accepted.
var streamingManifests = map[string]string{
	"manifest(format=m3u8-cmaf)":         cmaf.MasterPlaylist,
	"manifest(format=m3u8-cmaf).m3u8":    cmaf.MasterPlaylist,
	"manifest(format=mpd-time-cmaf)":     cmaf.MPD,
	"manifest(format=mpd-time-cmaf).mpd": cmaf.MPD,
}

// presentation is an .ism's packaging, computed on its first request (its
// files' moov and moof boxes read) and kept once it succeeds: a failure
// (a storage error, say) is tried again by the next request.
type presentation struct {
	mu sync.Mutex
	p  *cmaf.Presentation
}

func (st *presentation) get(ctx context.Context, files cmaf.Files, ism string, stall time.Duration) (*cmaf.Presentation, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.p != nil {
		return st.p, nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stall)
	defer cancel()
	p, err := cmaf.ISMPresentation(ctx, files, ism, nil)
	if err == nil {
		st.p = p
	}
	return p, err
}

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
// ("/name.ism/manifest(format=m3u8-cmaf)", "/name.ism/video-1-00003.m4s"),
// packaging on the fly: manifests and playlists from the tracks' sample
// tables, each media segment from one ranged read of its track's
// ciphertext. It reports false for a path that is not under an .ism.
func (s *Server) streaming(w *response, r *http.Request) bool {
	name, _ := strings.CutPrefix(r.URL.Path, "/")
	// ASCII case folding only: strings.ToLower changes the length of
	// some runes ("Ⱥ" is two bytes, its lower case three), so an index into
	// its result is no index into name.
	i := strings.Index(asciiLower(name), ".ism/")
	if i < 0 || strings.Contains(strings.ToLower(r.URL.RawPath), "%2f") {
		return false
	}
	ism, out := name[:i+len(".ism")], name[i+len(".ism/"):]
	f := s.files[ism]
	if f == nil || strings.Contains(out, "/") {
		return false
	}
	if m, ok := streamingManifests[out]; ok {
		out = m
	}
	if f.failure != "" {
		plainError(w, "not served: "+f.failure, http.StatusBadGateway)
		return true
	}
	p, err := s.streams[ism].get(r.Context(), s, ism, s.stall)
	if err != nil {
		plainError(w, "packaging "+ism+": "+oneLine(err), http.StatusBadGateway)
		return true
	}
	size, _, err := p.Size(out)
	if errors.Is(err, cmaf.ErrNotFound) {
		plainError(w, "not found", http.StatusNotFound)
		return true
	}
	// The same range rules as a file's, checked before any segment is
	// made.
	if err == nil {
		var ok bool
		if r, ok = checkRanges(w, r, size); !ok {
			return true
		}
	}
	// The output is made and sent in one streaming slot, which bounds the
	// segments in memory to MaxInFlight of them: were the slot given up
	// between the two, every request waiting for one would make its
	// segment and hold it while waiting again to send it.
	var b bytes.Buffer
	select {
	case s.sem <- struct{}{}:
	case <-r.Context().Done():
		return true
	}
	defer func() { <-s.sem }()
	w.slotted = true
	ctx, cancel := context.WithTimeout(r.Context(), s.stall)
	err = p.Write(ctx, &b, out)
	cancel()
	if err != nil {
		plainError(w, "packaging "+path.Join(ism, out)+": "+oneLine(err), http.StatusBadGateway)
		return true
	}
	h := w.Header()
	h.Set("Content-Type", cmaf.ContentType(out))
	h.Set("ETag", strings.TrimSuffix(f.etag, `"`)+"-"+out+`"`)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b.Bytes()))
	return true
}

// asciiLower lowers the ASCII letters of s, leaving every other byte, so
// that the result has s's length and byte offsets.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
