package serve

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/keyexport"
	"github.com/amscrypt/amscrypt/livearchive"
	"github.com/amscrypt/amscrypt/media"
	"github.com/amscrypt/amscrypt/restore"
)

// MaxLayouts is how many stitched tracks' layouts a Server keeps between
// requests (livearchive.Layouts), the least recently used dropped first: a
// few MiB each for an hour-long rendition.
const MaxLayouts = 16

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
		a.Files = append(a.Files, livearchive.File{Path: m.Path, Size: src.Size, Tag: src.Tag, Track: m.Track()})
	}
	var entries []IndexEntry
	for _, lt := range a.Tracks(ctx) {
		if _, taken := s.files[lt.Name]; taken {
			continue
		}
		f := &file{src: restore.SourceFile{Path: lt.Name, Tag: lt.Tag(), Regular: true}, ctype: lt.MimeType(), track: lt}
		f.etag = etag(f.src, 0, nonce)
		e := IndexEntry{Type: f.ctype, FileReport: restore.FileReport{Name: lt.Name, Status: restore.StatusChecked, Format: media.FormatISOBMFF,
			Note: fmt.Sprintf("live-archive track %s, stitched on request from its %d fragblobs", lt.Prefix, len(lt.Fragblobs))}}
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
func (s *Server) openTrack(ctx context.Context, t *livearchive.StitchedTrack) (*blobcrypt.File, io.Closer, error) {
	l, err := s.layouts.Layout(ctx, t)
	if err != nil {
		return nil, nil, err
	}
	p, err := blobcrypt.OpenStored(ctx, l, l.Size())
	if err != nil {
		return nil, nil, err
	}
	return p, io.NopCloser(nil), nil
}
