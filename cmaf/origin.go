package cmaf

import (
	"context"
	"errors"
	"io"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/amscrypt/amscrypt/internal/httprange"
	"github.com/amscrypt/amscrypt/internal/quote"
)

// The AMS streaming URL shapes: NAME.ism/manifest(format=…), with or
// without the extension AMS also accepted, compared without ASCII case.
// The CMAF formats get the CMAF manifests; so do m3u8-aapl and
// mpd-time-csf, the formats most AMS v2 players were given, so that their
// URLs answer with what current players (hls.js, Safari, dash.js,
// shaka-player) play: HLS version 7 with fMP4 segments, DASH with a
// SegmentTimeline.
var streamingManifests = map[string]string{
	"manifest(format=m3u8-cmaf)":         MasterPlaylist,
	"manifest(format=m3u8-cmaf).m3u8":    MasterPlaylist,
	"manifest(format=m3u8-aapl)":         MasterPlaylist,
	"manifest(format=m3u8-aapl).m3u8":    MasterPlaylist,
	"manifest(format=mpd-time-cmaf)":     MPD,
	"manifest(format=mpd-time-cmaf).mpd": MPD,
	"manifest(format=mpd-time-csf)":      MPD,
	"manifest(format=mpd-time-csf).mpd":  MPD,
}

// Origin answers what a Media Services streaming endpoint answered for an
// asset, packaging on the fly: for each NAME.ism of Files,
// NAME.ism/manifest(format=m3u8-cmaf) an HLS multivariant playlist,
// NAME.ism/manifest(format=mpd-time-cmaf) a DASH MPD, and NAME.ism/OUTPUT
// every playlist and segment they name: the bytes Package writes. An
// .ism's presentation is computed on its first request (its files' moov
// and moof boxes read) and kept once that succeeds. Each output is made
// as it is sent, a media segment from ranged reads of at most 4 MiB, so an
// answer holds one read buffer whatever the segment's length. It enforces
// no access policy: serve.Server mounts it behind its own.
type Origin struct {
	Files Files
	// Timeout bounds computing a presentation, and how long making and
	// sending an output may make no progress, at its source or at its
	// client, before it is cut off (0: no bound).
	Timeout time.Duration
	// Slots, if set, bounds the outputs being made at once: an output is
	// made and sent in one slot (a send on it takes a slot, a receive gives
	// it back).
	Slots chan struct{}

	mu    sync.Mutex
	names map[string]bool
	ps    map[string]*originISM
}

// originISM is one .ism's presentation, computed under its own lock, so
// that reading one .ism's files holds up no request under another.
type originISM struct {
	mu sync.Mutex
	p  *Presentation
}

// Handles reports whether the request path (relative to the asset's root,
// "NAME.ism/…") is one the origin answers: under an .ism of Files.
func (o *Origin) Handles(rel string) bool {
	_, _, ok := o.split(rel)
	return ok
}

func (o *Origin) split(rel string) (ism, out string, ok bool) {
	// ASCII case folding only: strings.ToLower changes the length of some
	// runes ("Ⱥ" is two bytes, its lower case three), so an index into its
	// result would be no index into rel.
	i := strings.Index(asciiLower(rel), ".ism/")
	if i < 0 {
		return "", "", false
	}
	ism, out = rel[:i+len(".ism")], rel[i+len(".ism/"):]
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.names == nil {
		o.names = map[string]bool{}
		for _, n := range o.Files.Names() {
			o.names[n] = true
		}
	}
	if m, ok := streamingManifests[asciiLower(out)]; ok {
		out = m
	}
	return ism, out, o.names[ism] && !strings.Contains(out, "/")
}

func (o *Origin) presentation(ctx context.Context, ism string) (*Presentation, error) {
	o.mu.Lock()
	if o.ps == nil {
		o.ps = map[string]*originISM{}
	}
	e := o.ps[ism]
	if e == nil {
		e = &originISM{}
		o.ps[ism] = e
	}
	o.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.p != nil {
		return e.p, nil
	}
	ctx, cancel := o.timeout(context.WithoutCancel(ctx))
	defer cancel()
	p, err := ISMPresentation(ctx, o.Files, ism, nil)
	if err == nil {
		e.p = p
	}
	return p, err
}

func (o *Origin) timeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if o.Timeout > 0 {
		return context.WithTimeout(ctx, o.Timeout)
	}
	return context.WithCancel(ctx)
}

// serve answers GET and HEAD for r.URL.Path (its leading slash
// dropped) with http.ServeContent over the output (ranges, conditional
// requests), 404 for a name that is none, 502 when the source fails. The
// ETag is made from etag, the .ism's own, which the caller gives
// (serve.Server's is the source's identity).
func (o *Origin) serve(w http.ResponseWriter, r *http.Request, etag func(ism string) string) {
	ism, out, ok := o.split(strings.TrimPrefix(r.URL.Path, "/"))
	if !ok {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	p, err := o.presentation(r.Context(), ism)
	if err != nil {
		http.Error(w, "packaging "+ism+": "+quote.OneLine(err.Error()), http.StatusBadGateway)
		return
	}
	size, _, err := p.Size(out)
	if errors.Is(err, errNotFound) {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	if err != nil {
		http.Error(w, "packaging "+path.Join(ism, out)+": "+quote.OneLine(err.Error()), http.StatusBadGateway)
		return
	}
	// The Range rules of serve's files, before the output is made.
	if r, err = httprange.Vet(r, size); err != nil {
		http.Error(w, err.Error(), http.StatusRequestedRangeNotSatisfiable)
		return
	}
	if o.Slots != nil {
		select {
		case o.Slots <- struct{}{}:
		case <-r.Context().Done():
			return
		}
		defer func() { <-o.Slots }()
	}
	body := &outputReader{ctx: r.Context(), p: p, name: out, size: size, stall: o.Timeout}
	defer body.Close()
	if r.Method != http.MethodHead && r.Header.Get("Range") == "" && r.Header.Get("If-None-Match") == "" {
		// The whole output will be read: a source that fails before its
		// first byte is answered 502, as a source that fails later cannot
		// be (the body is cut short, which no client takes for whole).
		if err := body.prime(); err != nil {
			http.Error(w, "packaging "+path.Join(ism, out)+": "+quote.OneLine(err.Error()), http.StatusBadGateway)
			return
		}
	}
	h := w.Header()
	h.Set("Content-Type", ContentType(out))
	if etag != nil {
		h.Set("ETag", strings.TrimSuffix(etag(ism), `"`)+"-"+out+`"`)
	}
	http.ServeContent(w, r, "", time.Time{}, io.NewSectionReader(body, 0, size))
}

// Handler returns the origin as an http.Handler; etag gives an .ism's
// ETag (nil: none).
func (o *Origin) Handler(etag func(ism string) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { o.serve(w, r, etag) })
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
