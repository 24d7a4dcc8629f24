package cmaf

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/amscrypt/amscrypt/restore"
)

// Report says what Package did.
type Report struct {
	Presentations []PresentationReport `json:"presentations"`
	// Written and Skipped count files: skipped ones were there already,
	// complete, from an earlier run.
	Written int   `json:"written"`
	Skipped int   `json:"skipped"`
	Bytes   int64 `json:"bytes"` // written
}

// PresentationReport describes one packaged presentation.
type PresentationReport struct {
	ISM      string        `json:"ism,omitempty"`
	Master   string        `json:"hls"`  // the HLS multivariant playlist's path
	MPD      string        `json:"dash"` // the DASH manifest's path
	Duration float64       `json:"durationSeconds"`
	Tracks   []TrackReport `json:"tracks"`
	Notes    []string      `json:"notes,omitempty"`
}

// TrackReport describes one packaged track.
type TrackReport struct {
	Name     string `json:"name"`
	Source   string `json:"source"`
	Kind     Kind   `json:"kind"`
	Codecs   string `json:"codecs,omitempty"`
	Lang     string `json:"lang,omitempty"`
	Width    int    `json:"width,omitempty"`
	Height   int    `json:"height,omitempty"`
	Segments int    `json:"segments,omitempty"`
}

// Package writes every presentation of the asset into dst: media first,
// each file placed whole or not at all, the manifests last, so that a
// package with its manifests is complete. A file dst already holds with
// the right size and head (for a segment: its styp and moof, which only a
// segment of the same packaging has) is kept, so a run that was stopped is
// finished by running it again; a different file is never replaced
// (an error matching fs.ErrExist). Segments are read from files
// and written Options.Workers at a time; memory is about that many
// segments.
func Package(ctx context.Context, dst restore.Sink, files Files, opts *Options) (*Report, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	ps, err := Presentations(ctx, files, &o)
	if err != nil {
		return nil, err
	}
	rep := &Report{}
	total := 0
	for _, p := range ps {
		total += len(p.Outputs())
	}
	var written, skipped atomic.Int64
	var mu sync.Mutex
	progress := func() {
		mu.Lock()
		defer mu.Unlock()
		if o.Progress != nil {
			o.Progress("files", int(written.Load()+skipped.Load()), total)
		}
	}
	var bytesOut atomic.Int64
	for _, p := range ps {
		pr := PresentationReport{ISM: p.ISM, Master: p.Dir + MasterPlaylist, MPD: p.Dir + MPD, Duration: p.duration, Notes: p.Notes}
		for i, t := range p.Tracks {
			pr.Tracks = append(pr.Tracks, TrackReport{Name: p.Names[i], Source: t.File, Kind: t.Kind, Codecs: t.Codecs,
				Lang: t.Lang, Width: t.Width, Height: t.Height, Segments: len(p.segs[i])})
		}
		names := p.Outputs()
		media, manifests := names[:len(names)-2], names[len(names)-2:]
		put := func(ctx context.Context, n string) error {
			w, nb, err := place(ctx, dst, p, n)
			if err != nil {
				return err
			}
			if w {
				written.Add(1)
				bytesOut.Add(nb)
			} else {
				skipped.Add(1)
			}
			progress()
			return nil
		}
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(o.Workers)
		for _, n := range media {
			g.Go(func() error { return put(gctx, n) })
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
		for _, n := range manifests {
			if err := put(ctx, n); err != nil {
				return nil, err
			}
		}
		rep.Presentations = append(rep.Presentations, pr)
	}
	rep.Written, rep.Skipped, rep.Bytes = int(written.Load()), int(skipped.Load()), bytesOut.Load()
	return rep, nil
}

// place writes output name of p into dst unless dst holds it complete.
func place(ctx context.Context, dst restore.Sink, p *Presentation, name string) (written bool, n int64, err error) {
	size, head, err := p.Size(name)
	if err != nil {
		return false, 0, err
	}
	path := p.Dir + name
	if there, same, err := holds(ctx, dst, path, size, head); err != nil || same {
		return false, 0, err
	} else if there {
		// As restore: nothing this run did not write is replaced. A stopped
		// run leaves only whole files, so this is another packaging's (or
		// somebody's) file.
		return false, 0, fmt.Errorf("cmaf: %s already holds a different file; not replaced (move it away, or package into an empty destination): %w", path, fs.ErrExist)
	}
	// Another run packaging the same asset into dst at the same time may
	// place the file between the look above and Create or Commit: if it
	// is this one, it is done.
	placedMeanwhile := func(err error) bool {
		if !errors.Is(err, fs.ErrExist) {
			return false
		}
		_, same, herr := holds(ctx, dst, path, size, head)
		return herr == nil && same
	}
	out, err := dst.Create(ctx, path, restore.OutputInfo{Size: size, MimeType: ContentType(name)})
	if placedMeanwhile(err) {
		return false, 0, nil
	}
	if err != nil {
		return false, 0, err
	}
	defer out.Abort()
	// A sink that hashes what it is given anyway (a block blob names its
	// blocks by the running SHA-256) records the digest; nothing else here
	// needs one, so nothing else is hashed (it was a fifth of the CPU).
	sum := ""
	cw := &countWriter{w: out}
	if err := p.Write(ctx, cw, name); err != nil {
		return false, 0, fmt.Errorf("%s: %w", path, err)
	}
	if cw.n != size {
		return false, 0, fmt.Errorf("%w: %s came out %d bytes long, not %d", ErrMedia, path, cw.n, size)
	}
	if d, ok := out.(restore.DigestOutput); ok {
		sum = hex.EncodeToString(d.SHA256())
	}
	if err := out.Commit(sum); err != nil {
		if placedMeanwhile(err) {
			return false, 0, nil
		}
		return false, 0, fmt.Errorf("%s: %w", path, err)
	}
	return true, size, nil
}

// holds reports whether dst has a file at path, and whether it is the one
// of the given size that starts with head.
func holds(ctx context.Context, dst restore.Sink, path string, size int64, head []byte) (there, same bool, err error) {
	ra, n, c, err := dst.Existing(ctx, path)
	if err != nil || ra == nil {
		return false, false, err
	}
	defer c.Close()
	if n != size {
		return true, false, nil
	}
	got := make([]byte, len(head))
	if _, err := ra.ReadAt(got, 0); err != nil && err != io.EOF {
		return true, false, err
	}
	return true, bytes.Equal(got, head), nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
