package restore

import (
	"context"
	"fmt"
	"io"

	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/keyexport"
	"github.com/amscrypt/amscrypt/livearchive"
	"github.com/amscrypt/amscrypt/media"
)

// stitchJob is a stitched track in a Run: its line of the report and the
// jobs of its fragblobs, whose heads phase 1 checked.
type stitchJob struct {
	t     *livearchive.StitchedTrack
	job   *job
	frags []*job
}

// takeTracks takes the fragblobs of every live-archive track out of jobs
// (RunOptions.Stitch): each track (livearchive.Asset.Tracks) becomes one
// stitched file, restored after the other files by stitchTracks.
func (r *runner) takeTracks(jobs []*job) ([]*job, []*stitchJob) {
	byPath := make(map[string]*job, len(jobs))
	a := &livearchive.Asset{Open: func(_ context.Context, path string) (livearchive.Blob, io.Closer, error) {
		return r.open(byPath[path]) // under r.ctx, as every read of the run
	}}
	for _, j := range jobs {
		byPath[j.src.Path] = j
		a.Paths = append(a.Paths, j.src.Path)
		if m := j.match; m != nil {
			a.Files = append(a.Files, livearchive.File{Path: m.Path, Size: j.src.Size, Tag: j.src.Tag, Track: m.Track()})
		}
	}
	tracks := a.Tracks(r.ctx)
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
		j.report.Note = g.Note(sj.t.Origin)
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
	r.each(jobs, int(r.o.Pool.size), func(*job) int64 { return int64(2*r.reads + 2) }, func(j *job) {
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
	// track as a file of the plan: its MIME type, its structure verified;
	// no IV, as open reads the layout's bytes as they are.
	j.match = &keyexport.Match{Path: sj.t.Name,
		Entry: &keyexport.Entry{Name: sj.t.Name, Size: size, MimeType: sj.t.MimeType()}}
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
