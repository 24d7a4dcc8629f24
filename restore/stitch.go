package restore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/keyexport"
	"github.com/amscrypt/amscrypt/livearchive"
	"github.com/amscrypt/amscrypt/media"
)

// StitchedExt is the extension of a stitched live-archive track: the
// track "video=1500000" becomes "video=1500000.mp4". The prefix is kept
// as it is: plan entry names are already safe relative names.
const StitchedExt = ".mp4"

// LiveTrack is one live-archive track of an asset, as Run with
// RunOptions.Stitch and package serve see it: the name of the one
// fragmented MP4 it becomes, and the stitcher over its decrypting
// fragblobs, or why there is none.
type LiveTrack struct {
	// Name is Prefix + StitchedExt.
	Name string
	// Prefix is the track prefix, the plan entry whose IV decrypts every
	// fragblob of the track.
	Prefix string
	// Type is the stream's kind, "video", "audio" or "text"; "" when the
	// client manifest does not describe the track.
	Type string
	// Origin is what the stitched file's times count from, in the track's
	// timescale: the archive's earliest fragment (livearchive's
	// Manifest.Origin), so that every track starts near 0 and stays in
	// step with the others.
	Origin uint64
	// Fragblobs are the source files under Prefix, sorted by path.
	Fragblobs []SourceFile
	// Stitcher orders the fragblobs by the client manifest's timeline; nil
	// when Err is set.
	Stitcher *livearchive.Stitcher
	// Err says why the track cannot be stitched: no client manifest
	// describes it, the manifest cannot be read, it has no header, or the
	// asset holds a file named Name already.
	Err error

	iv contentkey.IV // the track's, of every fragblob
}

// MimeType is the stitched file's media type.
func (t *LiveTrack) MimeType() string {
	switch t.Type {
	case "audio":
		return "audio/mp4"
	case "text":
		return "application/mp4"
	}
	return "video/mp4"
}

// Tag names this version of the stitched file: its name and every
// fragblob's path, size and tag, so that a block blob staged from other
// fragblobs is never committed.
func (t *LiveTrack) Tag() string {
	h := sha256.New()
	fmt.Fprintf(h, "amscrypt stitch\x00%s\x00", t.Name)
	for _, f := range t.Fragblobs {
		fmt.Fprintf(h, "%s\x00%d\x00%s\x00", f.Path, f.Size, f.Tag)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// LiveTracks finds the live-archive tracks among files (src's listing):
// every plan entry that matches fragblobs, paired with its StreamIndex in
// the asset's client manifest (.ismc, decrypted here; through the .ism's
// src attributes when there is one, else by AMS's "<Name>=<Bitrate>"
// prefixes). It lists no fragblob and reads none but the manifests; a
// track that cannot be stitched has Err set. Tracks are sorted by Name.
func LiveTracks(ctx context.Context, src Source, plan *keyexport.Plan, files []SourceFile) []*LiveTrack {
	byPath := make(map[string]SourceFile, len(files))
	paths := make([]string, 0, len(files))
	for _, f := range files {
		byPath[f.Path] = f
		paths = append(paths, f.Path)
	}
	return liveTracks(ctx, src, plan.Key, plan.Match(paths).Matches, byPath)
}

func liveTracks(ctx context.Context, src Source, key contentkey.Key, matches []keyexport.Match, byPath map[string]SourceFile) []*LiveTrack {
	byEntry := map[*keyexport.Entry]*LiveTrack{}
	frags := map[*LiveTrack]map[string]SourceFile{}
	var clients, servers []keyexport.Match
	var tracks []*LiveTrack
	for _, mt := range matches {
		if mt.Fragment {
			t := byEntry[mt.Entry]
			if t == nil {
				t = &LiveTrack{Name: mt.Entry.Name + StitchedExt, Prefix: mt.Entry.Name, iv: mt.Entry.IV}
				byEntry[mt.Entry] = t
				frags[t] = map[string]SourceFile{}
				tracks = append(tracks, t)
			}
			f := byPath[mt.Path]
			t.Fragblobs = append(t.Fragblobs, f)
			frags[t][strings.TrimPrefix(mt.Path, t.Prefix+"/")] = f
			continue
		}
		switch strings.ToLower(path.Ext(mt.Path)) {
		case ".ismc":
			clients = append(clients, mt)
		case ".ism":
			servers = append(servers, mt)
		}
	}
	if len(tracks) == 0 {
		return nil
	}
	sort.Slice(tracks, func(a, b int) bool { return tracks[a].Name < tracks[b].Name })

	read := func(mt keyexport.Match) (io.Reader, func(), error) {
		f := byPath[mt.Path]
		o, c, err := src.Open(ctx, f)
		if err != nil {
			return nil, nil, err
		}
		p, err := blobcrypt.Open(ctx, o, f.Size, key, mt.Entry.IV)
		if err != nil {
			c.Close()
			return nil, nil, err
		}
		return io.NewSectionReader(p, 0, f.Size), func() { p.Close(); c.Close() }, nil
	}
	cms := map[string]*livearchive.Manifest{}
	var problems []string
	for _, mt := range clients {
		r, done, err := read(mt)
		if err == nil {
			var m *livearchive.Manifest
			m, err = livearchive.ParseManifest(r)
			done()
			if err == nil {
				cms[mt.Path] = m
				continue
			}
		}
		problems = append(problems, fmt.Sprintf("client manifest %s: %v", mt.Path, err))
	}
	type pairing struct {
		m      *livearchive.Manifest
		tracks []livearchive.Track
		dir    string // where the .ism's src prefixes are relative to
	}
	var pairings []pairing
	for _, mt := range servers {
		r, done, err := read(mt)
		if err == nil {
			var sm *livearchive.ServerManifest
			sm, err = livearchive.ParseServerManifest(r)
			done()
			if err == nil && sm.ClientManifest != "" {
				dir := path.Dir(mt.Path)
				m := cms[path.Join(dir, sm.ClientManifest)]
				if m == nil {
					continue // a VOD .ism, or its .ismc is reported above
				}
				var trs []livearchive.Track
				if trs, err = m.Tracks(sm); err == nil {
					pairings = append(pairings, pairing{m, trs, dir})
					continue
				}
			} else if err == nil {
				continue
			}
		}
		problems = append(problems, fmt.Sprintf("server manifest %s: %v", mt.Path, err))
	}
	clientPaths := make([]string, 0, len(cms))
	for p := range cms {
		clientPaths = append(clientPaths, p)
	}
	sort.Strings(clientPaths)
	for _, p := range clientPaths {
		m := cms[p]
		trs, _ := m.Tracks(nil) // never fails without an .ism
		pairings = append(pairings, pairing{m, trs, path.Dir(p)})
	}

	for _, t := range tracks {
		if _, ok := byPath[t.Name]; ok {
			t.Err = fmt.Errorf("the asset holds a file named %s already; the stitched track is not put in its place (restore without --stitch to get the fragblobs)", t.Name)
			continue
		}
		var found *livearchive.Track
		var m *livearchive.Manifest
	search:
		for _, p := range pairings {
			for i := range p.tracks {
				if path.Join(p.dir, p.tracks[i].Prefix) == t.Prefix {
					found, m = &p.tracks[i], p.m
					break search
				}
			}
		}
		if found == nil {
			why := "the asset has no client manifest (.ismc) whose timeline names it"
			if len(clients) == 0 {
				why = "the asset has no client manifest (.ismc), whose timeline stitching needs"
			}
			if len(problems) > 0 {
				why += "; " + strings.Join(problems, "; ")
			}
			t.Err = fmt.Errorf("track %s cannot be stitched: %s", t.Prefix, why)
			continue
		}
		t.Type = found.Stream.Type
		tr := *found
		tr.Prefix = t.Prefix
		fr := &trackFragments{src: src, key: key, iv: t.iv, prefix: t.Prefix, files: frags[t]}
		t.Origin = m.Origin(tr.Stream.TimeScale)
		s, err := livearchive.New(ctx, fr, tr, &livearchive.Options{Origin: t.Origin})
		if err != nil {
			t.Err = err
			continue
		}
		t.Stitcher = s
	}
	return tracks
}

// trackFragments are one track's fragblobs in a Source: each opened as a
// blobcrypt.File decrypting from counter 0 with the track's IV.
type trackFragments struct {
	src    Source
	key    contentkey.Key
	iv     contentkey.IV
	prefix string
	files  map[string]SourceFile // by name under prefix
}

func (f *trackFragments) Names(context.Context) ([]string, error) {
	names := make([]string, 0, len(f.files))
	for n := range f.files {
		names = append(names, n)
	}
	return names, nil
}

func (f *trackFragments) Open(ctx context.Context, name string) (livearchive.Blob, error) {
	sf, ok := f.files[name]
	if !ok {
		return nil, fmt.Errorf("restore: fragblob %s/%s: %w", f.prefix, name, fs.ErrNotExist)
	}
	o, c, err := f.src.Open(ctx, sf)
	if err != nil {
		return nil, fmt.Errorf("restore: fragblob %s: %w", sf.Path, err)
	}
	p, err := blobcrypt.Open(ctx, o, sf.Size, f.key, f.iv)
	if err != nil {
		c.Close()
		return nil, err
	}
	return fragBlob{p, c}, nil
}

// fragBlob is a decrypting fragblob and the source file under it.
type fragBlob struct {
	*blobcrypt.File
	c io.Closer
}

func (b fragBlob) Close() error {
	b.File.Close()
	return b.c.Close()
}

// stitchJob is a stitched track in a Run: its line of the report and the
// jobs of its fragblobs, whose heads phase 1 checked.
type stitchJob struct {
	t     *LiveTrack
	job   *job
	frags []*job
}

// takeTracks takes the fragblobs of every live-archive track out of jobs
// (RunOptions.Stitch): each track becomes one stitched file, restored
// after the other files by stitchTracks.
func (r *runner) takeTracks(jobs []*job) ([]*job, []*stitchJob) {
	var matches []keyexport.Match
	byPath := make(map[string]SourceFile, len(jobs))
	for _, j := range jobs {
		byPath[j.src.Path] = j.src
		if j.match != nil {
			matches = append(matches, *j.match)
		}
	}
	tracks := liveTracks(r.ctx, r.src, r.key, matches, byPath)
	if len(tracks) == 0 {
		return jobs, nil
	}
	byPrefix := make(map[string]*stitchJob, len(tracks))
	out := make([]*stitchJob, 0, len(tracks))
	for _, t := range tracks {
		sj := &stitchJob{t: t, job: &job{src: SourceFile{Path: t.Name, Regular: true},
			report: &FileReport{Name: t.Name, Format: media.FormatISOBMFF}}}
		byPrefix[t.Prefix] = sj
		out = append(out, sj)
	}
	rest := jobs[:0:0]
	for _, j := range jobs {
		if j.match != nil && j.match.Fragment {
			if sj := byPrefix[j.match.Entry.Name]; sj != nil {
				sj.frags = append(sj.frags, j)
				continue
			}
		}
		rest = append(rest, j)
	}
	for _, sj := range out {
		r.prepare(sj)
	}
	return rest, out
}

// prepare fails a track that cannot be stitched, or whose fragblobs failed
// their head checks, and counts the others in the progress totals.
func (r *runner) prepare(sj *stitchJob) {
	j := sj.job
	if sj.t.Err != nil {
		j.fail("%v", sj.t.Err)
		return
	}
	var failed []*job
	var size int64
	for _, f := range sj.frags {
		if f.report.Status == StatusFailed {
			failed = append(failed, f)
		}
		size += f.src.Size
	}
	if len(failed) > 0 {
		j.fail("fragblob %s: %s (%d of the track's %d fragblobs failed their head check)",
			failed[0].src.Path, failed[0].report.Error, len(failed), len(sj.frags))
		return
	}
	if g := sj.t.Stitcher.Gaps(); !g.Empty() {
		j.report.Gaps = &g
		j.report.Note = GapsNote(g, sj.t.Origin)
	}
	if !r.o.Check {
		j.size = size
		r.total += size
		r.files++
	}
}

// stitchTracks stitches every track, Workers at a time, and returns their
// report lines.
func (r *runner) stitchTracks(sjs []*stitchJob) []*job {
	jobs := make([]*job, len(sjs))
	byJob := make(map[*job]*stitchJob, len(sjs))
	for i, sj := range sjs {
		jobs[i] = sj.job
		byJob[sj.job] = sj
	}
	r.each(jobs, func(j *job) {
		if j.report.Status == "" {
			r.stitch(byJob[j])
		}
	})
	return jobs
}

// stitch computes the track's layout and then restores the stitched file
// as any other: the layout, read through a blobcrypt.File that stores its
// bytes as they are (openStitched), is the plaintext that transfer skips
// when the sink holds it (size, head and tail, structure), or writes
// through the ordered pipeline with its SHA-256 and structure check. The
// layout gives the size before the first byte (a block blob announces it)
// and the bytes at any offset; it holds the track's rewritten moofs, about
// 16 bytes a sample. With Check, the stitched structure is verified by
// random access and nothing is written.
func (r *runner) stitch(sj *stitchJob) {
	j := sj.job
	counted := j.size // the fragblob bytes the progress totals counted
	l, err := sj.t.Stitcher.Layout(r.ctx)
	if err != nil {
		j.fail("stitching %s: %v", sj.t.Prefix, err)
		r.advance(counted)
		return
	}
	size := l.Size()
	j.report.Size = &size
	j.size, j.layout = size, l
	j.src = SourceFile{Path: sj.t.Name, Size: size, Tag: sj.t.Tag(), Regular: true}
	// A match of the stitched name, so that transfer and write treat the
	// track as a file of the plan: its MIME type, its structure verified.
	j.match = &keyexport.Match{Path: sj.t.Name,
		Entry: &keyexport.Entry{Name: sj.t.Name, IV: sj.t.iv, Size: size, MimeType: sj.t.MimeType()}}
	if r.o.Check {
		f, c, err := r.open(j)
		if err != nil {
			j.fail("%v", err)
			return
		}
		defer c.Close()
		j.verified(media.VerifyAt(f, j.mediaFile()))
		if j.report.Status == "" {
			j.report.Status = StatusChecked
		}
		return
	}
	r.advance(counted - size) // the progress counts the stitched bytes from here
	r.transfer(j)
	if j.report.Status == StatusFailed {
		j.report.Error = fmt.Sprintf("stitching %s: %s", sj.t.Prefix, j.report.Error)
	}
}

// openStitched returns a stitched track as the seekable plaintext file
// restore reads: its layout's bytes as they are, the fragblobs decrypting
// as the layout reads them.
func openStitched(ctx context.Context, l *livearchive.Layout) (*blobcrypt.File, io.Closer, error) {
	f, err := blobcrypt.OpenStored(ctx, l, l.Size())
	if err != nil {
		return nil, nil, err
	}
	return f, f, nil
}

// GapsNote says in one line how a track's fragblobs differ from its
// timeline: the missing time ranges, and the fragblobs stitched in or
// left out that the timeline does not name, in seconds of the stitched
// file (the archive's times less origin, in the track's timescale).
func GapsNote(g livearchive.Gaps, origin uint64) string {
	at := func(t uint64) float64 {
		if t < origin {
			return -float64(origin-t) / float64(g.TimeScale)
		}
		return float64(t-origin) / float64(g.TimeScale)
	}
	var parts []string
	if n := len(g.Missing); n > 0 {
		frags := 0
		var ranges []string
		for i, m := range g.Missing {
			frags += m.Fragments
			if i < 5 {
				ranges = append(ranges, fmt.Sprintf("%.3f-%.3f s", at(m.Start), at(m.End)))
			}
		}
		if n > 5 {
			ranges = append(ranges, fmt.Sprintf("and %d more", n-5))
		}
		parts = append(parts, fmt.Sprintf("missing %d fragments the timeline names: %s", frags, strings.Join(ranges, ", ")))
	}
	list := func(what string, es []livearchive.Extra) {
		if len(es) == 0 {
			return
		}
		var s []string
		for i, e := range es {
			if i == 5 {
				s = append(s, fmt.Sprintf("and %d more", len(es)-5))
				break
			}
			s = append(s, fmt.Sprintf("%s at %.3f s", e.Name, at(e.Start)))
		}
		parts = append(parts, fmt.Sprintf("%d %s: %s", len(es), what, strings.Join(s, ", ")))
	}
	list("fragblobs the timeline does not name, stitched in", g.Extra)
	list("fragblobs overlapping the timeline's, left out", g.Overlapping)
	if len(g.Foreign) > 0 {
		parts = append(parts, fmt.Sprintf("%d fragblob names that are not times, left out", len(g.Foreign)))
	}
	return "gaps (times in the stitched file): " + strings.Join(parts, "; ")
}

// WithGaps returns the report's stitched tracks whose fragblobs differ
// from their timeline (FileReport.Gaps set). Gaps do not make a report
// fail: the stitched file holds every fragment the source has in time
// order, and running again cannot fill a hole the source has; but a
// migration should look at each of them.
func (r *Report) WithGaps() []FileReport {
	var out []FileReport
	for _, f := range r.Files {
		if f.Gaps != nil {
			out = append(out, f)
		}
	}
	return out
}
