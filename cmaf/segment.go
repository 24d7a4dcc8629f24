package cmaf

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"

	"github.com/Eyevinn/mp4ff/mp4"
)

// segment is one CMAF media segment of a track: samples [first, end).
type segment struct {
	first, end int
	dts        uint64 // rebased decode time of the first sample
	dur        uint64 // in the track's timescale
}

// maxGap is the most bytes of other tracks' data a segment's one ranged
// read may carry between two of its samples before it is split in two
// reads (an interleaved progressive file puts audio between video chunks).
const maxGap = 256 << 10

// initSegment encodes t's CMAF header: ftyp and a moov with one track,
// its sample entry copied unchanged from the source, and the source's edit
// list when it has one.
func (t *Track) initSegment() ([]byte, error) {
	init := mp4.CreateEmptyInit()
	lang := t.Lang
	if lang == "" {
		lang = "und"
	}
	trak := init.AddEmptyTrack(t.Timescale, string(t.Kind), lang)
	trak.Tkhd.Width, trak.Tkhd.Height = mp4.Fixed32(t.tkhd[0]*65536), mp4.Fixed32(t.tkhd[1]*65536)
	trak.Mdia.Minf.Stbl.Stsd.AddChild(t.entry)
	if len(t.edits) > 0 && t.movieScale > 0 {
		// The edit list as the source has it (an offset for B-frames'
		// composition delay, audio priming and its trimmed end), in the
		// source's movie timescale.
		init.Moov.Mvhd.Timescale = t.movieScale
		elst := &mp4.ElstBox{Entries: slices.Clone(t.edits)}
		for _, e := range elst.Entries {
			if e.SegmentDuration > math.MaxUint32 || e.MediaTime > math.MaxInt32 || e.MediaTime < -1 {
				elst.Version = 1
			}
		}
		edts := &mp4.EdtsBox{Elst: []*mp4.ElstBox{elst}, Children: []mp4.Box{elst}}
		trak.Edts = edts
		// edts belongs between tkhd and mdia.
		trak.Children = append([]mp4.Box{trak.Children[0], edts}, trak.Children[1:]...)
	}
	var b bytes.Buffer
	if err := init.Encode(&b); err != nil {
		return nil, fmt.Errorf("%w: encoding the init segment of %s: %v", ErrMedia, t.File, err)
	}
	return b.Bytes(), nil
}

// fragment builds the styp and moof of segment s, and an mdat that is
// its header alone, sized for the samples: writeSegment writes their data
// after it, straight from the buffers it read them into.
func (t *Track) fragment(s segment, seq uint32) (*mp4.MediaSegment, error) {
	frag, err := mp4.CreateFragment(seq, 1)
	if err != nil {
		return nil, err
	}
	for i := s.first; i < s.end; i++ {
		sm := t.samples[i]
		flags := mp4.NonSyncSampleFlags
		if sm.sync {
			flags = mp4.SyncSampleFlags
		}
		// AddSample counts the size into the mdat without taking data.
		frag.AddSample(mp4.Sample{Flags: flags, Dur: sm.dur, Size: sm.size, CompositionTimeOffset: sm.cto}, s.dts)
	}
	ms := mp4.NewMediaSegmentWithStyp(mp4.NewStyp("cmfs", 0, []string{"cmfs", "msdh", "msix"}))
	ms.AddFragment(frag)
	return ms, nil
}

// segmentHead encodes segment s up to its sample data: styp, moof and the
// mdat's header.
func (t *Track) segmentHead(s segment, seq uint32) (head []byte, mdatHeader int, size int64, err error) {
	ms, err := t.fragment(s, seq)
	if err != nil {
		return nil, 0, 0, err
	}
	var b bytes.Buffer
	if err := ms.Encode(&b); err != nil {
		return nil, 0, 0, err
	}
	return b.Bytes(), int(ms.Fragments[0].Mdat.HeaderSize()), int64(ms.Size()), nil
}

// segmentSize returns the encoded size of segment s, computed from the
// sample table alone.
func (t *Track) segmentSize(s segment, seq uint32) (int64, error) {
	ms, err := t.fragment(s, seq)
	if err != nil {
		return 0, err
	}
	return int64(ms.Size()), nil
}

// maxRead is the most bytes one read of a segment's samples asks for. A
// segment goes out a read at a time, so memory does not grow with it: a
// video with one sync sample is one segment as long as the file.
const maxRead = 4 << 20

// readBufs holds maxRead buffers for the next segments: a package reads
// its whole asset a few megabytes at a time, and a fresh buffer for each
// read cost as much CPU in page faults, zeroing and garbage collection as
// decrypting it.
var readBufs = sync.Pool{New: func() any { b := make([]byte, maxRead); return &b }}

// writeSegment writes segment s to w: its head (styp, moof and the mdat's
// header, all from the sample table), then its samples' data, read from r
// (the track's plaintext file) in as few ranged reads as the layout and
// maxRead allow and written as it lies in the buffer it was read into.
// Memory is one maxRead buffer, whatever the segment's size.
func (t *Track) writeSegment(ctx context.Context, w io.Writer, r io.ReaderAt, s segment, seq uint32) error {
	head, _, _, err := t.segmentHead(s, seq)
	if err != nil {
		return err
	}
	b := readBufs.Get().(*[]byte)
	defer readBufs.Put(b)
	// The head goes out with the first samples, after the first read: a
	// source that fails at once has nothing of the segment written.
	pw := &prefixWriter{w: w, prefix: head}
	if err := t.writeSamples(ctx, pw, r, s, *b); err != nil {
		return err
	}
	return pw.flush()
}

// prefixWriter writes prefix to w before the first bytes written to it,
// or at flush.
type prefixWriter struct {
	w      io.Writer
	prefix []byte
}

func (p *prefixWriter) flush() error {
	if p.prefix == nil {
		return nil
	}
	_, err := p.w.Write(p.prefix)
	p.prefix = nil
	return err
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	if err := p.flush(); err != nil {
		return 0, err
	}
	return p.w.Write(b)
}

// writeSamples writes the data of segment s's samples, read from r into
// window, len(window) bytes at most at a time.
func (t *Track) writeSamples(ctx context.Context, w io.Writer, r io.ReaderAt, s segment, window []byte) error {
	for i := s.first; i < s.end; {
		// One run: samples i..j-1, read as one range but for gaps of
		// other tracks' data no longer than maxGap.
		start, j := t.samples[i].off, i+1
		end := start + int64(t.samples[i].size)
		for j < s.end {
			sm := t.samples[j]
			if sm.off < end || sm.off-end > maxGap {
				break
			}
			end = sm.off + int64(sm.size)
			j++
		}
		// Read the run a window at a time; write the samples' parts in each
		// read, contiguous ones as one part. Samples of a run are in order
		// and do not overlap; k is the first not yet written out whole.
		k := i
		for at := start; at < end; {
			if err := ctx.Err(); err != nil {
				return err
			}
			buf := window[:min(end-at, int64(len(window)))]
			if n, err := r.ReadAt(buf, at); n < len(buf) {
				if err == nil || err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return fmt.Errorf("reading %s at %d: %w", t.File, at+int64(n), err)
			}
			next := at + int64(len(buf))
			from, to := -1, -1 // the part of buf not yet written
			for ; k < j; k++ {
				so := t.samples[k].off
				se := so + int64(t.samples[k].size)
				if so >= next {
					break
				}
				lo, hi := int(max(so, at)-at), int(min(se, next)-at)
				if lo != to {
					if to > from {
						if _, err := w.Write(buf[from:to]); err != nil {
							return err
						}
					}
					from = lo
				}
				to = hi
				if se > next {
					break // continues in the next read
				}
			}
			if to > from {
				if _, err := w.Write(buf[from:to]); err != nil {
					return err
				}
			}
			at = next
		}
		i = j
	}
	return nil
}
