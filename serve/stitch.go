package serve

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/keyexport"
	"github.com/amscrypt/amscrypt/livearchive"
	"github.com/amscrypt/amscrypt/media"
	"github.com/amscrypt/amscrypt/restore"
)

// MaxLayouts is how many stitched tracks' layouts a Server keeps between
// requests, the least recently used dropped first. A layout holds the
// track's rewritten moofs, about 16 bytes a sample (some 1.5 KiB for 2 s of
// 30 fps video): a few MiB for an hour-long rendition.
const MaxLayouts = 16

// track is a live-archive track served stitched, as "<prefix>.mp4": its
// layout is computed on the first request (reading every fragment's
// boxes up to its moof) and kept in the server's layout cache.
type track struct {
	lt    *livearchive.StitchedTrack
	build sync.Mutex // one computation of the layout at a time

	layout *livearchive.Layout // guarded by layoutCache.mu; nil until built or once dropped
}

// layoutCache bounds the layouts a Server holds to MaxLayouts.
type layoutCache struct {
	mu   sync.Mutex
	used []*track // tracks with a layout, most recently used last
}

// get returns t's layout, computing it if the cache does not hold it.
// The computation is not cancelled with the request that started it:
// the next request would only start it again.
func (c *layoutCache) get(ctx context.Context, t *track) (*livearchive.Layout, error) {
	if l := c.lookup(t); l != nil {
		return l, nil
	}
	t.build.Lock()
	defer t.build.Unlock()
	if l := c.lookup(t); l != nil {
		return l, nil
	}
	l, err := t.lt.Stitcher.Layout(context.WithoutCancel(ctx))
	if err != nil {
		return nil, fmt.Errorf("stitching %s: %w", t.lt.Prefix, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t.layout = l
	c.used = append(c.used, t)
	if len(c.used) > MaxLayouts {
		c.used[0].layout = nil // requests reading it keep it until they end
		c.used = c.used[1:]
	}
	return l, nil
}

func (c *layoutCache) lookup(t *track) *livearchive.Layout {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.layout == nil {
		return nil
	}
	for i, u := range c.used {
		if u == t {
			c.used = append(append(c.used[:i:i], c.used[i+1:]...), t)
			break
		}
	}
	return t.layout
}

// addTracks makes every live-archive track of the asset
// (livearchive.Asset.Tracks, over the plan's files as the server reads
// them) reachable as "<prefix>.mp4" and lists it in the index. A name the
// asset's own files hold stays theirs. A track fails (502, with the
// reason in the index) when no client manifest describes it or a
// fragblob of it failed its head check.
func (s *Server) addTracks(ctx context.Context, files []restore.SourceFile, matches []keyexport.Match,
	report *restore.Report, nonce []byte) []IndexEntry {
	a := &livearchive.Asset{Open: func(ctx context.Context, path string) (livearchive.Blob, io.Closer, error) {
		return s.plaintext(ctx, s.files[path])
	}}
	for _, f := range files {
		a.Paths = append(a.Paths, f.Path)
	}
	for _, m := range matches {
		src := s.files[m.Path].src
		f := livearchive.File{Path: m.Path, Size: src.Size, Tag: src.Tag}
		if m.Fragment {
			f.Track = m.Entry.Name
		}
		a.Files = append(a.Files, f)
	}
	var entries []IndexEntry
	for _, lt := range a.Tracks(ctx) {
		if _, taken := s.files[lt.Name]; taken {
			continue
		}
		t := &track{lt: lt}
		f := &file{src: restore.SourceFile{Path: lt.Name, Tag: lt.Tag(), Regular: true}, ctype: lt.MimeType(), track: t}
		f.etag = etag(f.src, 0, nonce)
		e := IndexEntry{Name: lt.Name, Type: f.ctype, Status: restore.StatusChecked, Format: media.FormatISOBMFF,
			Note: fmt.Sprintf("live-archive track %s, stitched on request from its %d fragblobs", lt.Prefix, len(lt.Fragblobs))}
		if lt.Err != nil {
			f.failure = lt.Err.Error()
		}
		for _, fr := range report.Files {
			if f.failure == "" && fr.Status == restore.StatusFailed && strings.HasPrefix(fr.Name, lt.Prefix+"/") {
				f.failure = fmt.Sprintf("fragblob %s: %s", fr.Name, fr.Error)
			}
		}
		if f.failure != "" {
			e.Status, e.Error = restore.StatusFailed, f.failure
		} else {
			e.Verified = media.LevelHead // every fragblob's head; the structure is the stitcher's
			if g := lt.Stitcher.Gaps(); !g.Empty() {
				e.Gaps = &g
				e.Note += "; " + g.Note(lt.Origin)
			}
		}
		s.files[lt.Name] = f
		entries = append(entries, e)
	}
	return entries
}

// openTrack returns a stitched track's plaintext as a File over its
// layout: the fragblobs' bytes are decrypted as the layout reads them, so
// the File itself stores them as they are.
func (s *Server) openTrack(ctx context.Context, t *track) (*blobcrypt.File, io.Closer, error) {
	l, err := s.layouts.get(ctx, t)
	if err != nil {
		return nil, nil, err
	}
	p, err := blobcrypt.OpenStored(ctx, l, l.Size())
	if err != nil {
		return nil, nil, err
	}
	return p, io.NopCloser(nil), nil
}
